import { describe, it, expect } from 'vitest';
import { runFuzz } from '../../bridge/bench/fuzz.ts';
import { startTestBridge, TOKEN } from './helpers.ts';

describe('fuzz (seeded subset)', () => {
  it('answers or closes on 1,000 hostile messages, stays up, and never lets a command past the limits', async () => {
    const bridge = await startTestBridge();
    try {
      const report = await runFuzz({ url: bridge.url, token: TOKEN, robotToken: bridge.robotToken, messages: 1000, seed: 2026, limits: bridge.hub.config.limits });
      expect(report.messages).toBe(1000);
      expect(report.unanswered).toBe(0);
      expect(report.answered + report.coveredByClose).toBe(1000);
      expect(report.hubUp).toBe(true);
      expect(report.violations).toEqual([]);
      expect(report.commandsToRobot).toBeGreaterThan(50);
      for (const kind of ['bad_json', 'wrong_types', 'unknown_op', 'huge_payload', 'binary_garbage', 'not_yours', 'extreme_command']) expect(report.byKind[kind] ?? 0).toBeGreaterThan(0);
    } finally {
      await bridge.close();
    }
  });
});
