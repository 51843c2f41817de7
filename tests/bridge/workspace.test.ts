import { describe, it, expect } from 'vitest';
import { runWorkspaceCondition } from '../../bridge/bench/workspace.ts';
import type { WorkspaceCondition } from '../../bridge/bench/workspace.ts';

/**
 * A reduced version of the `bench bridge` workspace sweep: the arm driven into its box wall at
 * full speed must never get beyond the box, whatever the rate, the latency or the observation rate.
 */
const conditions: WorkspaceCondition[] = [
  // The hub alone (the mock robot moves exactly as it is told): rates, latency, pose staleness.
  { robot: 'mock', hz: 20, latencyMs: 0, jitterMs: 0, observation: 'control' },
  { robot: 'mock', hz: 20, latencyMs: 50, jitterMs: 10, observation: 'slow' },
  { robot: 'mock', hz: 1000, latencyMs: 0, jitterMs: 0, observation: 'slow' },
  { robot: 'mock', hz: 1000, latencyMs: 50, jitterMs: 10, observation: 'control' },
  // A controller near its rate limit with a pose just inside the pose timeout (the window of deltas).
  { robot: 'mock', hz: 2000, latencyMs: 0, jitterMs: 0, observation: 'slow' },
  // The emulated arm with its own guard: stale cmdSeq, then latency with jitter.
  { robot: 'emulated', hz: 20, latencyMs: 0, jitterMs: 0, observation: 'control' },
  { robot: 'emulated', hz: 20, latencyMs: 15, jitterMs: 5, observation: 'control' },
];

describe('workspace box under any network (reduced sweep)', () => {
  for (const c of conditions) {
    it(`${c.robot} at ${c.hz} Hz, ${c.latencyMs}±${c.jitterMs} ms, ${c.observation} observations: 0 mm beyond the box`, async () => {
      const r = await runWorkspaceCondition(c, 1.2);
      expect(r.acked).toBeGreaterThan(0);
      expect(r.excursion_mm).toBe(0);
    });
  }
});
