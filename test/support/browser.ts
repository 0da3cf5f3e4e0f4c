// Debian's Chromium for the browser tests, driven by playwright-core (no browser download): where
// it is, how it is started here, and why a test that needs it cannot run.
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { DEFAULT_DASHBOARD_ROOT } from '../../src/server/dashboard.ts';
import { dockerLack } from './docker.ts';
import { skipOrFail, unbuilt } from './needs.ts';
import { HYDROPLANE_BIN } from './server-process.ts';

export const CHROMIUM = process.env.HYDROPLANE_CHROMIUM ?? '/usr/bin/chromium';
// As root, and without the background-networking flags, Chromium's connections are refused here.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

function isProgram(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * For `describe(name, { skip: await browserSkip(...) })`: false when the tests can run, else why
 * not and how to make them run. In CI (CI set) a missing piece fails the file loudly instead.
 */
export async function browserSkip(what: string, needs: { builtServer?: boolean; docker?: boolean } = {}): Promise<string | false> {
  const chromium = isProgram(CHROMIUM)
    ? undefined
    : { missing: `there is no Chromium at ${CHROMIUM}`, toEnable: 'apt-get install -y chromium (or bash scripts/ensure-test-packages.sh)' };
  return skipOrFail(what, [
    chromium,
    needs.builtServer ? unbuilt(join(DEFAULT_DASHBOARD_ROOT, 'index.html'), HYDROPLANE_BIN) : undefined,
    needs.docker ? await dockerLack() : undefined,
  ]);
}
