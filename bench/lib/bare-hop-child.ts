// A bare hop (bench/lib/bare-hop.ts in front of the Engine, bench/lib/kube-hop.ts in front of the
// Kubernetes API) started as a child process, as the server is, for the sides that time a call
// through it (the scale scenario's get, start and stop; bench/list-probe.ts's list).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** A running hop: its base URL, and how to end it. */
export interface HopChild {
  url: string;
  stop(): void;
}

/** `script` (a file of bench/lib) with `args`, once it says it listens. */
async function startHop(script: string, args: string[]): Promise<HopChild> {
  const child = spawn(process.execPath, [join(import.meta.dirname, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench/lib/${script} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => void child.kill() };
}

/** The bare hop in front of the Engine at `socket`, once it listens. */
export const startBareHopChild = (socket: string): Promise<HopChild> => startHop('bare-hop.ts', [socket]);

/** The Kubernetes hop on the cluster of `kubeconfig`, in `namespace`, once it listens. */
export const startKubeHopChild = (kubeconfig: string, namespace: string): Promise<HopChild> =>
  startHop('kube-hop.ts', [kubeconfig, namespace]);
