/**
 * Headless Chromium for the viewer's browser tests and benchmark: Debian's `chromium` package
 * driven by playwright-core (no browser download). WebGL 2 runs on SwiftShader (on the CPU);
 * headless Chromium here has no WebGPU, so the page draws through three's WebGL 2 backend.
 */
import * as fs from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

export class ChromiumMissingError extends Error {
  constructor(path: string) {
    super(`no Chromium at ${path}: install Debian's package (apt-get install -y chromium) or set SIMREAL_CHROMIUM to a Chromium binary`);
    this.name = 'ChromiumMissingError';
  }
}

/** The Chromium binary to use: $SIMREAL_CHROMIUM, else /usr/bin/chromium. */
export function chromiumPath(): string {
  return process.env.SIMREAL_CHROMIUM || '/usr/bin/chromium';
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!fs.existsSync(executablePath)) throw new ChromiumMissingError(executablePath);
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, ...extraArgs] });
}
