import { defineConfig } from 'vitest/config';
import { SystemPackagesReporter, probeSystemPackages, systemPackageTags } from './tests/system-packages.ts';

export default defineConfig(async () => {
  // Which system packages are here decides, once, which tagged tests skip (tests/system-packages.ts).
  const found = await probeSystemPackages();
  const ci = !!process.env.CI;
  return {
    test: {
      include: ['tests/**/*.test.ts'],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      pool: 'forks',
      tags: systemPackageTags(found, ci),
      provide: { systemPackages: found },
      reporters: ['default', new SystemPackagesReporter(found, ci)],
    },
  };
});
