import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demultiplexedText } from '../../../src/runtimes/docker/log-stream.ts';

function frame(type: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

async function* chunks(...parts: Buffer[]): AsyncGenerator<Buffer> {
  yield* parts;
}

async function all(source: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const s of source) out.push(s);
  return out;
}

describe('demultiplexedText', () => {
  it('drops the frame headers and interleaves stdout and stderr in arrival order', async () => {
    const got = await all(demultiplexedText(chunks(Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n')]), frame(1, 'out 2\n'))));
    assert.deepEqual(got, ['out 1\nerr 1\n', 'out 2\n']);
  });

  it('joins a frame split across chunks, header included', async () => {
    const whole = Buffer.concat([frame(1, 'hello\n'), frame(2, 'world\n')]);
    const pieces = [whole.subarray(0, 3), whole.subarray(3, 10), whole.subarray(10, 17), whole.subarray(17)];
    assert.equal((await all(demultiplexedText(chunks(...pieces)))).join(''), 'hello\nworld\n');
  });

  it('keeps a character whose bytes are split across two frames of one stream', async () => {
    const e = Buffer.from('é'); // 2 bytes
    const got = await all(
      demultiplexedText(
        chunks(
          frame(1, Buffer.concat([Buffer.from('h'), e.subarray(0, 1)])),
          frame(2, 'x'),
          frame(1, Buffer.concat([e.subarray(1), Buffer.from('llo\n')])),
        ),
      ),
    );
    assert.equal(got.join(''), 'hxéllo\n');
  });

  it('yields nothing for an empty stream', async () => {
    assert.deepEqual(await all(demultiplexedText(chunks())), []);
  });
});
