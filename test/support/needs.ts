// The one rule for tests that need something this machine may lack (a Docker Engine, a registry,
// Chromium, the built dist/): on a developer's machine they skip, saying what is missing and how
// to provide it; in CI (CI set) they fail loudly, because a skip there would hide that they never
// ran. The support files say what each need is (docker.ts, registry.ts, browser.ts, ...); this file
// only decides between skipping and failing.
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import type { TestContext } from 'node:test';

/** Something a test needs that is missing here, and what provides it. */
export interface Lack {
  /** What is missing: "no Docker Engine answers (connect ENOENT ...)". */
  missing: string;
  /** The commands that provide it: "bash scripts/ensure-docker.sh". */
  toEnable: string;
}

/**
 * False when nothing is lacking; else the reason to skip `tests` (for example "Docker tests"),
 * each lack with how to provide it. In CI (CI set) it throws instead: at the top of a test file,
 * that fails the file; inside a test, the test.
 */
export function skipOrFail(tests: string, lacks: ReadonlyArray<Lack | undefined>): string | false {
  const found = lacks.filter((lack): lack is Lack => lack !== undefined);
  if (found.length === 0) return false;
  const reason = found.map((lack) => `${lack.missing}; to run them: ${lack.toEnable}`).join('; ');
  if (process.env.CI) throw new Error(`the ${tests} must run in CI, but ${reason}`);
  return reason;
}

/** In a test: true when it can run; else skips it and answers false (in CI, fails it instead). */
export function runOrSkip(t: TestContext, tests: string, lacks: ReadonlyArray<Lack | undefined>): boolean {
  const reason = skipOrFail(tests, lacks);
  if (reason === false) return true;
  t.skip(reason);
  return false;
}

/** A lack when any of these built files is absent: `npm test` and `npm run test:unit` build them first. */
export function unbuilt(...paths: string[]): Lack | undefined {
  const absent = paths.filter((path) => !existsSync(path));
  if (absent.length === 0) return undefined;
  return {
    missing: `dist/ is not built (no ${absent.map((path) => relative(process.cwd(), path)).join(', ')})`,
    toEnable: 'npm run build',
  };
}
