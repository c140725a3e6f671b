// Debian's headless chromium, driven by playwright-core, for the page's tests. The
// flags keep it from reaching for the network this machine does not have.
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or false. */
export const noBrowser: string | false = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`;

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
