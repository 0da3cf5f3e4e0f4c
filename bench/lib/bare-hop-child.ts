// bench/lib/bare-hop.ts started as a child process, as the server is, for the sides that time a
// call through the bare hop (the scale scenario's get, bench/list-probe.ts's list).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The bare hop in front of the Engine at `socket`, once it listens. */
export async function startBareHopChild(socket: string): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'bare-hop.ts'), socket], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench/lib/bare-hop.ts exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => void child.kill() };
}
