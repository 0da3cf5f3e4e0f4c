// What the commands do when their output cannot be written: whoever reads it went away
// (`hpctl list | head -1`), or the file it goes to cannot take it (a full disk, /dev/full).

/**
 * Stops quietly, as Unix tools do, when stdout or stderr is a pipe whose reader has closed it;
 * says in one line why, and exits 1, when stdout cannot be written for another reason (ENOSPC,
 * EIO), as `cat > /dev/full` does. Without this, Node reports either as an unhandled error with a
 * stack trace. `command` names the command in that line.
 */
export function handleOutputErrors(command: string): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (stream === process.stdout) {
        try {
          process.stderr.write(`${command}: cannot write to standard output: ${err.code ?? err.message}\n`);
        } catch {
          // stderr cannot take it either: the exit status is all that is left.
        }
      }
      process.exit(1);
    });
  }
}
