/**
 * System packages some tests need (Vulkan/lavapipe for WebGPU rendering, Chromium, openssl,
 * ffmpeg): found once per `vitest run`, before any test file loads, and turned into test tags.
 *
 * - vitest.config.ts calls `probeSystemPackages()`, defines one tag per package with
 *   `systemPackageTags()` (a tag skips its tests when the package is missing, unless `CI` is set:
 *   then they run and fail, since CI must have them), provides what it found to the tests
 *   (`hasSystemPackage()`), and adds `SystemPackagesReporter`.
 * - A suite that needs a package says so: `describe('…', needs('chromium'), () => …)`.
 * - The reporter prints one line per test file whose tests were skipped for a missing package,
 *   naming it, and at the end one summary: what was skipped and the one command that installs it.
 *
 * Reproduce a machine without the packages: `VK_ICD_FILENAMES=/nonexistent VK_DRIVER_FILES=/nonexistent`
 * (the Vulkan loader finds no driver) and `SIMREAL_CHROMIUM=/nonexistent` (the Chromium binary).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { inject } from 'vitest';
import type { TestTagDefinition } from 'vitest';
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import { probeWebGpuAdapter } from '../sim/gpu/probe.ts';
import { chromiumPath } from '../viewer/bench/chromium.ts';

interface PackageSpec {
  /** What the tests use, for people. */
  what: string;
  /** The Debian 12 packages that provide it. */
  debian: string;
  /** null when present, else what is missing (one short clause). */
  probe(env: NodeJS.ProcessEnv): Promise<string | null>;
}

function onPath(cmd: string, args: string[], env: NodeJS.ProcessEnv): string | null {
  const r = spawnSync(cmd, args, { env, stdio: 'ignore', timeout: 30_000 });
  if (r.error) return `no \`${cmd}\` on the PATH (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  return r.status === 0 ? null : `\`${cmd} ${args.join(' ')}\` exited with code ${r.status}`;
}

export const SYSTEM_PACKAGES = {
  webgpu: {
    what: 'WebGPU rendering (Dawn on Vulkan)',
    debian: 'mesa-vulkan-drivers libvulkan1 from bookworm-backports',
    async probe(env) {
      const r = await probeWebGpuAdapter({ env });
      if (r.ok) return null;
      // Dawn's own first line says which part is missing (the loader or a driver).
      const dawn = r.dawnLog.split('\n').find((l) => l.startsWith('Warning: '))?.slice('Warning: '.length);
      return `no WebGPU adapter${dawn ? ` (${dawn})` : ''}`;
    },
  },
  chromium: {
    what: 'Chromium',
    debian: 'chromium fonts-dejavu-core',
    async probe(env) {
      const path = env.SIMREAL_CHROMIUM || chromiumPath();
      return existsSync(path) ? null : `no Chromium at ${path}`;
    },
  },
  openssl: {
    what: 'openssl (a certificate for the wss test)',
    debian: 'openssl',
    async probe(env) {
      return onPath('openssl', ['version'], env);
    },
  },
  ffmpeg: {
    what: 'ffmpeg (video encoding)',
    debian: 'ffmpeg',
    async probe(env) {
      return onPath('ffmpeg', ['-version'], env);
    },
  },
} satisfies Record<string, PackageSpec>;

export type SystemPackage = keyof typeof SYSTEM_PACKAGES;
/** Per package: null when present, else what is missing. */
export type SystemPackagesFound = Record<SystemPackage, string | null>;

/** The one command that installs every package above (Debian 12, as root). */
export const INSTALL_COMMAND = 'npm run setup:system';

const TAG_PREFIX = 'needs-';
const tagOf = (p: SystemPackage): string => `${TAG_PREFIX}${p}`;
const names = Object.keys(SYSTEM_PACKAGES) as SystemPackage[];

declare module 'vitest' {
  interface ProvidedContext {
    systemPackages: SystemPackagesFound;
  }
}

export async function probeSystemPackages(env: NodeJS.ProcessEnv = process.env): Promise<SystemPackagesFound> {
  const found = await Promise.all(names.map((n) => SYSTEM_PACKAGES[n].probe(env)));
  return Object.fromEntries(names.map((n, i) => [n, found[i]])) as SystemPackagesFound;
}

/** One tag per package; a missing package's tag skips its tests unless `ci`. */
export function systemPackageTags(found: SystemPackagesFound, ci: boolean): TestTagDefinition[] {
  return names.map((n) => ({
    name: tagOf(n),
    description: `needs ${SYSTEM_PACKAGES[n].what}: Debian ${SYSTEM_PACKAGES[n].debian}`,
    skip: found[n] !== null && !ci,
  }));
}

/** Suite options for a suite that needs these packages: `describe('…', needs('chromium'), fn)`. */
export function needs(...packages: SystemPackage[]): { tags: string[] } {
  return { tags: packages.map(tagOf) };
}

/** Inside a test file: whether the run found the package (for assertions that depend on it). */
export function hasSystemPackage(p: SystemPackage): boolean {
  return inject('systemPackages')[p] === null;
}

/**
 * One line per test file with tests skipped for a missing package; at the end of the run, what
 * was skipped and how to install it (or, under CI, which packages were missing while their
 * tests ran).
 */
export class SystemPackagesReporter implements Reporter {
  private vitest: Vitest | null = null;
  private readonly skipped = new Map<SystemPackage, { tests: number; files: string[] }>();
  private readonly found: SystemPackagesFound;
  private readonly ci: boolean;

  constructor(found: SystemPackagesFound, ci: boolean) {
    this.found = found;
    this.ci = ci;
  }

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  private missing(): SystemPackage[] {
    return names.filter((n) => this.found[n] !== null);
  }

  onTestModuleEnd(module: TestModule): void {
    if (this.ci) return;
    const counts = new Map<SystemPackage, number>();
    for (const test of module.children.allTests('skipped')) {
      // A test that needs several missing packages counts once, for the first of them.
      const p = this.missing().find((n) => test.tags.includes(tagOf(n)));
      if (p) counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    for (const [p, n] of counts) {
      const s = this.skipped.get(p) ?? { tests: 0, files: [] };
      s.tests += n;
      s.files.push(module.relativeModuleId);
      this.skipped.set(p, s);
      this.log(`${module.relativeModuleId}: ${n} test${n === 1 ? '' : 's'} skipped, ${n === 1 ? 'it needs' : 'they need'} ${SYSTEM_PACKAGES[p].what}: ${this.found[p]} (Debian: ${SYSTEM_PACKAGES[p].debian})`);
    }
  }

  onTestRunEnd(): void {
    const missing = this.missing();
    if (missing.length === 0) return;
    if (this.ci) {
      this.log(`system packages missing while CI is set, so their tests ran without them: ${missing.map((p) => `${SYSTEM_PACKAGES[p].what} (${this.found[p]})`).join('; ')}. Install them with \`${INSTALL_COMMAND}\` (as root).`);
      return;
    }
    if (this.skipped.size === 0) return;
    const total = [...this.skipped.values()].reduce((a, s) => a + s.tests, 0);
    const parts = [...this.skipped].map(([p, s]) => `${s.tests} need ${SYSTEM_PACKAGES[p].what} (${s.files.join(', ')})`);
    const debian = [...this.skipped.keys()].map((p) => SYSTEM_PACKAGES[p].debian).join(', ');
    this.log(`skipped ${total} test${total === 1 ? '' : 's'} for missing system packages: ${parts.join('; ')}. Install ${debian} with \`${INSTALL_COMMAND}\` (as root, Debian 12), then run npm test again.`);
  }

  private log(line: string): void {
    if (this.vitest) this.vitest.logger.log(line);
    else process.stdout.write(`${line}\n`);
  }
}
