// Where the server's log goes: standard output, a line at a time, with a blocking write. A line
// that cannot be written (a full disk, a reader that went away) is dropped and the server goes on
// serving: the first loss is said on stderr, and how many lines were lost once writing works again.
// (A line that a full disk cuts short after its first bytes stays cut.)
//
// Not pino's own destination (sonic-boom): given a full disk, it keeps every failed line in memory
// and, at exit, retries them forever, so a server whose log file filled the disk neither answered
// nor stopped (SIGTERM included). Not process.stdout either: after one failed write it is destroyed
// and writes nothing again, even once the disk has room.
import { writeSync as fsWriteSync } from 'node:fs';

/** How long a write may wait in all for a pipe that is full (EAGAIN), before its line is dropped. */
const FULL_PIPE_WAIT_MS = 1000;
const RETRY_MS = 5;

export interface LogDestination {
  write(line: string): void;
}

export interface LogDestinationOptions {
  fd?: number;
  /** fs.writeSync by default (bytes written); tests give one that fails. */
  writeSync?: (fd: number, bytes: Uint8Array) => number;
  /** Where the losses are said: stderr by default. */
  say?: (line: string) => void;
}

export function logDestination(options: LogDestinationOptions = {}): LogDestination {
  const fd = options.fd ?? 1;
  const writeSync = options.writeSync ?? ((target: number, bytes: Uint8Array) => fsWriteSync(target, bytes));
  const say =
    options.say ??
    ((line: string) => {
      try {
        fsWriteSync(2, `${line}\n`);
      } catch {
        // stderr cannot take it either: nothing is left to tell.
      }
    });
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let lost = 0;

  /** Writes all of `text`, waiting out a full pipe for a while; throws the error that stopped it. */
  const writeAll = (text: string): void => {
    let rest: Uint8Array = Buffer.from(text);
    let waited = 0;
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(fd, rest));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if ((code !== 'EAGAIN' && code !== 'EBUSY') || waited >= FULL_PIPE_WAIT_MS) throw error;
        Atomics.wait(pause, 0, 0, RETRY_MS);
        waited += RETRY_MS;
      }
    }
  };

  return {
    write(line: string): void {
      try {
        writeAll(line);
      } catch (error) {
        if (lost === 0) {
          const why = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
          say(`hydroplane: cannot write the log to standard output (${why}); its lines are lost until it can be written again`);
        }
        lost++;
        return;
      }
      if (lost > 0) {
        say(`hydroplane: the log is written again; ${lost} line${lost === 1 ? ' was' : 's were'} lost`);
        lost = 0;
      }
    },
  };
}
