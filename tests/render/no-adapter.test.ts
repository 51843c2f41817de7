import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('headless renderer without a WebGPU adapter', () => {
  it('fails with the documented message naming what to install, not a WebGL fallback crash', () => {
    const script = fileURLToPath(new URL('./fixtures/no-adapter.ts', import.meta.url));
    // No Vulkan driver: the loader finds no ICD, so Dawn offers no adapter.
    const r = spawnSync(process.execPath, [script], {
      env: { ...process.env, VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    const out = JSON.parse(line) as { ok: boolean; name?: string; message?: string };
    expect(out.ok).toBe(false);
    expect(out.name).toBe('NoGpuAdapterError');
    expect(out.message).toMatch(/no WebGPU adapter/);
    expect(out.message).toMatch(/mesa-vulkan-drivers/);
    expect(out.message).not.toMatch(/WebGL|getContext/);
  });
});
