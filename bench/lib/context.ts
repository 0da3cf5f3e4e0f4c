// The sizes of a run and what every scenario is given.
import type { Bench, ServerChild } from './harness.ts';
import type { EngineProxy } from '../../test/support/engine-proxy.ts';
import type { Row } from './table.ts';

export interface Sizes {
  sequential: number;
  sequentialReps: number;
  concurrent: number;
  concurrentReps: number;
  listLevels: number[];
  listCalls: number;
  burst: number;
  burstReps: number;
  coldStarts: number;
  hungTimeoutSeconds: number;
  hungProbes: number;
  kubeLevels: number[];
  /** The README's commands: repetitions of each side, processes to list, runs of `npx hpctl list`. */
  commandReps: number;
  commandProcesses: number;
  npxRuns: number;
  /** The scale scenario (--scale): numbers of processes, calls per figure, starts and stops per figure. */
  scaleLevels: number[];
  scaleCalls: number;
  scaleStartStops: number;
}

export const FULL: Sizes = {
  sequential: 20,
  sequentialReps: 3,
  concurrent: 50,
  concurrentReps: 6,
  listLevels: [0, 50, 100],
  listCalls: 20,
  burst: 20,
  burstReps: 10,
  coldStarts: 7,
  hungTimeoutSeconds: 2,
  hungProbes: 5,
  kubeLevels: [10, 50, 100],
  commandReps: 9,
  commandProcesses: 5,
  npxRuns: 3,
  scaleLevels: [100, 500, 1000],
  scaleCalls: 20,
  scaleStartStops: 10,
};

/** The smallest sizes and one repetition: proves the benchmark works, measures nothing. */
export const SMOKE: Sizes = {
  sequential: 2,
  sequentialReps: 1,
  concurrent: 3,
  concurrentReps: 1,
  listLevels: [0, 3],
  listCalls: 3,
  burst: 3,
  burstReps: 1,
  coldStarts: 1,
  hungTimeoutSeconds: 1,
  hungProbes: 1,
  kubeLevels: [1, 3],
  commandReps: 1,
  commandProcesses: 2,
  npxRuns: 1,
  scaleLevels: [4],
  scaleCalls: 2,
  scaleStartStops: 2,
};

export interface Context {
  bench: Bench;
  sizes: Sizes;
  /** The timed server: the Engine's own socket, nothing in between. */
  server: ServerChild;
  /** A second server whose Engine calls go through the counting proxy. */
  counting: { server: ServerChild; proxy: EngineProxy };
  rows: Row[];
  notes: string[];
  progress(message: string): void;
}
