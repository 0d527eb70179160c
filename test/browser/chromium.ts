import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`). The tests never download a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium calls home (updates, metrics, sync); this machine refuses outbound traffic.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--metrics-recording-only',
  '--no-default-browser-check',
  // Containers often have a tiny /dev/shm, and Debian's launcher script fails to detect that.
  '--disable-dev-shm-usage',
];

const MISSING = `Debian's Chromium is not installed at ${CHROMIUM_PATH}; install it with \`apt-get install chromium\``;

/**
 * `describe` for suites that drive Chromium. When the browser is missing, the suite is skipped with a
 * warning on a developer machine, but runs (and fails in `launchChromium`) in CI, which installs it.
 */
export function describeWithChromium(inCi: boolean): jest.Describe {
  if (existsSync(CHROMIUM_PATH) || inCi) return describe;
  console.warn(`Skipping the browser tests: ${MISSING} (as root) to run them.`);
  return describe.skip;
}

/** A headless Chromium that stays on this machine. Each test should use a fresh context of it (a fresh profile). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${MISSING}. CI installs it in .ci/run, so a missing browser there is a real failure.`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
