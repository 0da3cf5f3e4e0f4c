// What the commands do when whoever reads their output goes away (`hpctl list | head -1`).

/**
 * Stops quietly, as Unix tools do, when stdout or stderr is a pipe whose reader has closed it:
 * without this, Node reports the EPIPE as an unhandled error with a stack trace.
 */
export function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(process.exitCode ?? 0);
    });
  }
}
