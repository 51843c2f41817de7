import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startVitest } from 'vitest/node';
import { INSTALL_COMMAND, SystemPackagesReporter, probeSystemPackages, systemPackageTags } from './system-packages.ts';
import type { SystemPackagesFound } from './system-packages.ts';

describe('system packages the tests need', () => {
  it('are each reported missing with what is missing, on a machine without them', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'simreal-empty-path-'));
    const found = await probeSystemPackages({
      ...process.env,
      PATH: empty,
      SIMREAL_CHROMIUM: '/nonexistent/chromium',
      VK_ICD_FILENAMES: '/nonexistent/icd.json',
      VK_DRIVER_FILES: '/nonexistent/icd.json',
    });
    expect(found.chromium).toBe('no Chromium at /nonexistent/chromium');
    expect(found.openssl).toBe('no `openssl` on the PATH (ENOENT)');
    expect(found.ffmpeg).toBe('no `ffmpeg` on the PATH (ENOENT)');
    expect(found.webgpu).toMatch(/^no WebGPU adapter/);
  });

  it('skip their tests through tags when missing, unless CI is set', () => {
    const found: SystemPackagesFound = { webgpu: null, chromium: 'no Chromium at /x', openssl: null, ffmpeg: null };
    const skip = (ci: boolean) => Object.fromEntries(systemPackageTags(found, ci).map((t) => [t.name, t.skip]));
    expect(skip(false)).toEqual({ 'needs-webgpu': false, 'needs-chromium': true, 'needs-openssl': false, 'needs-ffmpeg': false });
    expect(skip(true)).toEqual({ 'needs-webgpu': false, 'needs-chromium': false, 'needs-openssl': false, 'needs-ffmpeg': false });
  });

  it('end a run with one line per skipping file and a summary naming the packages and the install command', async () => {
    const found: SystemPackagesFound = { webgpu: null, chromium: 'no Chromium at /nonexistent/chromium', openssl: null, ffmpeg: null };
    let out = '';
    const stdout = new Writable({ write(chunk, _enc, done) { out += String(chunk); done(); } });
    const root = fileURLToPath(new URL('./fixtures/system-packages/', import.meta.url));
    const vitest = await startVitest([], {
      root, include: ['*.check.ts'], watch: false, config: false,
      reporters: [new SystemPackagesReporter(found, false)],
    }, { test: { tags: systemPackageTags(found, false), provide: { systemPackages: found } } }, { stdout, stderr: stdout });
    const tests = vitest.state.getTestModules().flatMap((m) => [...m.children.allTests()]);
    await vitest.close();
    expect(tests.map((t) => [t.name, t.result().state])).toEqual([['first', 'skipped'], ['second', 'skipped'], ['runs, and sees what the run found', 'passed']]);
    const lines = out.trim().split('\n');
    expect(lines).toContain('needs.check.ts: 2 tests skipped, they need Chromium: no Chromium at /nonexistent/chromium (Debian: chromium fonts-dejavu-core)');
    expect(lines.at(-1)).toBe(`skipped 2 tests for missing system packages: 2 need Chromium (needs.check.ts). Install chromium fonts-dejavu-core with \`${INSTALL_COMMAND}\` (as root, Debian 12), then run npm test again.`);
  });
});
