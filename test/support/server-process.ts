// Runs the real `hydroplane` command (the compiled dist/, as users run it) in a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const NODE = process.execPath;
export const HYDROPLANE_BIN = join(ROOT, 'dist/cli/hydroplane.js');

export async function writeConfig(yaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hp-config-'));
  const file = join(dir, 'config.yml');
  await writeFile(file, yaml);
  return file;
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  port: number;
  output: () => string;
  /**
   * Waits until the output satisfies `ready`, and returns it. The server writes its log after it
   * has answered, and the pipe delivers it later still, so a test that reads the log of requests it
   * just made waits for it here. Rejects with the output after `withinMs`.
   */
  waitForOutput: (ready: (output: string) => boolean, withinMs?: number) => Promise<string>;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * Starts the server and waits until it answers /health, or rejects with its output. The port comes
 * from freePort(), so another test process may take it meanwhile: a server that cannot listen
 * (EADDRINUSE) is started again on another port, and /health counts only once the server said it
 * listens there (at LOG_LEVEL info or lower), so that another process's server on that port is
 * never taken for this one.
 */
export async function startServerProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(args, env);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= 3) throw err;
    }
  }
}

class PortTaken extends Error {}

async function startOnce(args: string[], env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const port = await freePort();
  const merged = { ...process.env, LOG_LEVEL: 'info', ...env };
  const child = spawn(NODE, [HYDROPLANE_BIN, '-p', String(port), ...args], {
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  // Its own word that it listens on this port; at a quieter level there is none to wait for.
  const says = ['info', 'debug', 'trace'].includes(merged.LOG_LEVEL);
  const listening = new RegExp(`listening on https?://\\S+:${port}\\b`);
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) {
      await exited;
      if (/EADDRINUSE/.test(output)) throw new PortTaken(`port ${port} was taken meanwhile:\n${output}`);
      throw new Error(`hydroplane exited with ${child.exitCode}:\n${output}`);
    }
    if (!says || listening.test(output)) {
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() - started > 15_000) {
      child.kill('SIGKILL');
      throw new Error(`hydroplane did not answer within 15 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url,
    port,
    output: () => output,
    waitForOutput: async (ready, withinMs = 10_000) => {
      const deadline = Date.now() + withinMs;
      while (!ready(output)) {
        if (Date.now() > deadline)
          throw new Error(`the server's output did not show what was awaited within ${withinMs} ms:\n${output.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return output;
    },
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the server expecting it to fail at start-up; returns its exit code and output. */
export async function runServerToExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const child = spawn(NODE, [HYDROPLANE_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}
