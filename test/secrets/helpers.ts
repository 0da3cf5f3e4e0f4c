import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after } from 'node:test';

/** A new empty folder, removed when the test file is done. Call it at the top level of the file, not in a hook. */
export async function tempDir(prefix = 'hydro-secrets-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A writable that keeps what it was given; `isTTY` makes it pass for a terminal. */
export class Sink extends Writable {
  text = '';
  isTTY: boolean;

  constructor(isTTY = false) {
    super();
    this.isTTY = isTTY;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    this.emit('text', this.text);
    callback();
  }

  /** Resolves once the text so far contains `needle` `times` times (e.g. a prompt). */
  async waitFor(needle: string, times = 1): Promise<void> {
    const enough = (): boolean => this.text.split(needle).length - 1 >= times;
    while (!enough()) await new Promise((resolve) => this.once('text', resolve));
  }
}

/** A stand-in for a terminal on stdin: raw mode is recorded, keys are written with `type`. */
export class FakeTty extends PassThrough {
  readonly isTTY = true;
  isRaw = false;
  rawModes: boolean[] = [];

  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    this.rawModes.push(mode);
    return this;
  }

  type(keys: string | Buffer): void {
    this.write(keys);
  }
}

/** A stdin that is a pipe holding `text` and then its end. */
export function pipeOf(text: string | Buffer): PassThrough {
  const stream = new PassThrough();
  stream.end(text);
  return stream;
}
