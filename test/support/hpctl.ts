// Running hpctl's main() in a test against a server, with its output collected: the one way the
// hpctl tests call it, so that a change to main()'s IO seam is made here once.
import { main, type Io } from '../../src/cli/hpctl.ts';

export interface HpctlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HpctlOptions {
  /** Standard input; without it, a command that reads it fails the test. */
  stdin?: string;
  /** Whether stderr plays a terminal (errors for people rather than JSON). */
  terminal?: boolean;
  /** Any other part of main()'s IO seam (terminals, the clock), over the defaults above. */
  io?: Partial<Io>;
}

/** `hpctl -s SERVER ARGV...`, with an empty environment. */
export async function runHpctl(server: string, argv: string[], options: HpctlOptions = {}): Promise<HpctlResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(['-s', server, ...argv], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: {},
    stderrIsTerminal: options.terminal ?? false,
    readStdin: async () => {
      if (options.stdin === undefined) throw new Error('this test gives no standard input');
      return options.stdin;
    },
    ...options.io,
  });
  return { code, stdout, stderr };
}
