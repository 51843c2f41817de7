// What a user of `simreal train pose` and `simreal eval --frames` sees when something is wrong.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'simreal-pose-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const NO_VULKAN = { VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' };

describe('simreal train pose and eval --frames, failing', () => {
  it('says which packages to install when no WebGPU adapter can render frames (exit 3, no stack trace)', async () => {
    for (const args of [
      ['train', 'pose', 'scenarios/stack-2.json', '--out', join(dir, 'p'), '--frames', '32', '--no-progress'],
      ['eval', join(dir, 'missing-model'), 'scenarios/stack-2.json', '--frames', '10', '--no-progress'],
    ]) {
      const r = await runCli(args, { env: NO_VULKAN, timeoutMs: 120_000 });
      if (args[0] === 'eval') {
        // A model that does not exist is named before any rendering starts.
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/missing-model does not exist/);
        continue;
      }
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/no WebGPU adapter/);
      expect(r.stderr).toMatch(/mesa-vulkan-drivers/);
      // No JavaScript stack trace (Dawn may print its own C++ warning lines).
      expect(r.stderr).not.toMatch(/\n\s+at .*\.(?:ts|js|mjs):\d+/);
    }
  }, 240_000);

  it('refuses a scenario file that does not exist, naming it (exit 2)', async () => {
    const r = await runCli(['train', 'pose', join(dir, 'nope.json'), '--out', join(dir, 'q')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.json/);
  });
});
