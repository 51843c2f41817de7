import { describe, it, expect } from 'vitest';
import { CommandClamp, targetWithinLimits } from '../../bridge/hub/safety.ts';
import type { Pose4 } from '../../bridge/hub/safety.ts';
import { resolveHubConfig, intersectLimits, DEFAULT_SAFETY_LIMITS, BridgeConfigError } from '../../bridge/config.ts';
import type { SafetyLimits } from '../../bridge/protocol.ts';
import { Rng } from '../../sim/rng.ts';

const limits: SafetyLimits = { ...DEFAULT_SAFETY_LIMITS, maxStep: { linear: 0.05, angular: 0.5, grip: 2 }, maxVelocity: { linear: 1, angular: 6 } };

describe('CommandClamp', () => {
  it('passes a command inside every limit unchanged', () => {
    const c = new CommandClamp(limits, { form: 'ee_delta_normalized', maxDelta: [0.02, 0.02, 0.02, 0.2], poseKey: 'ee.pose' });
    const r = c.clamp([0.5, -0.5, 0.25, 0.1, 1], [0, 0, 0.2, 0], -1, 0);
    expect(r.clamped).toEqual([]);
    r.sent.forEach((v, i) => expect(v).toBeCloseTo([0.5, -0.5, 0.25, 0.1, 1][i], 12));
  });

  it('clips normalized actions, the workspace box and the step', () => {
    const c = new CommandClamp(limits, { form: 'ee_delta', poseKey: 'ee.pose' });
    const anchor: Pose4 = [0.39, 0, 0.2, 0];
    const r = c.clamp([0.2, 0, 0, 0, 1], anchor, null, 0);
    expect(r.clamped).toContain('workspace');
    expect(r.target[0]).toBeCloseTo(0.4, 12);
    const c2 = new CommandClamp(limits, { form: 'ee_target', poseKey: 'ee.pose' });
    const r2 = c2.clamp([0.3, 0.3, 0.3, 3, 7], [0, 0, 0.2, 0], -1, 0);
    expect(r2.clamped).toEqual(expect.arrayContaining(['step_linear', 'step_angular', 'grip_range']));
    expect(Math.hypot(r2.sent[0], r2.sent[1], r2.sent[2] - 0.2)).toBeCloseTo(0.05, 12);
    expect(r2.sent[3]).toBeCloseTo(0.5, 12);
    expect(r2.sent[4]).toBe(1);
  });

  it('limits velocity when commands come faster than the robot could move', () => {
    const c = new CommandClamp(limits, { form: 'ee_delta', poseKey: 'ee.pose' });
    const anchor: Pose4 = [0, 0, 0.2, 0];
    let moved = 0;
    // 100 commands of 5 cm within 10 ms: at 1 m/s only 5 cm (one bucket) + 1 cm may pass.
    for (let i = 0; i < 100; i++) {
      const r = c.clamp([0.05, 0, 0, 0, 0], anchor, 0, i * 0.1);
      moved += r.sent[0];
      anchor[0] += r.sent[0];
    }
    expect(moved).toBeLessThanOrEqual(0.05 + 1 * 0.0099 + 1e-9);
    expect(moved).toBeGreaterThan(0.05);
  });

  it('satisfies every limit at once for random requests (seeded)', () => {
    const rng = new Rng(42);
    for (const form of ['ee_target', 'ee_delta', 'ee_delta_normalized'] as const) {
      const c = new CommandClamp(limits, { form, poseKey: 'ee.pose', ...(form === 'ee_delta_normalized' ? { maxDelta: [0.1, 0.1, 0.1, 1] as [number, number, number, number] } : {}) });
      let pose: Pose4 = [0, 0, 0.2, 0];
      let t = 0;
      for (let i = 0; i < 2000; i++) {
        t += rng.uniform(0, 100);
        const req = [0, 0, 0, 0, 0].map(() => rng.uniform(-3, 3));
        const r = c.clamp(req, pose, 0, t);
        expect(targetWithinLimits(r.target, pose, limits)).toBeNull();
        if (form === 'ee_delta_normalized') for (let k = 0; k < 4; k++) expect(Math.abs(r.sent[k])).toBeLessThanOrEqual(1);
        pose = [r.target[0], r.target[1], r.target[2], r.target[3]];
      }
    }
  });

  it('lets a robot outside the box move back toward it, never further out', () => {
    const c = new CommandClamp(limits, { form: 'ee_delta', poseKey: 'ee.pose' });
    const anchor: Pose4 = [0.5, 0, 0.2, 0];
    expect(c.clamp([0.01, 0, 0, 0, 0], anchor, null, 0).target[0]).toBeCloseTo(0.5, 12);
    expect(c.clamp([-0.01, 0, 0, 0, 0], anchor, null, 1000).target[0]).toBeCloseTo(0.49, 12);
  });
});

describe('hub config', () => {
  it('fills defaults', () => {
    const c = resolveHubConfig({});
    expect(c.limits).toEqual(DEFAULT_SAFETY_LIMITS);
    expect(c.connection.robot.maxMessageBytes).toBe(8 << 20);
  });

  it('throws at construction for contradictory options', () => {
    expect(() => resolveHubConfig({ limits: { workspace: { min: [0, 0, 0], max: [0.5, -0.1, 0.5] } } })).toThrow(/workspace.min.y/);
    expect(() => resolveHubConfig({ limits: { yaw: [1, -1] } })).toThrow(/yaw range/);
    expect(() => resolveHubConfig({ limits: { commandTimeoutMs: 2000, poseTimeoutMs: 500 } })).toThrow(/poseTimeoutMs/);
    expect(() => resolveHubConfig({ backpressure: { dropAboveBytes: 10 << 20, disconnectAboveBytes: 1 << 20 } })).toThrow(/dropAboveBytes/);
    expect(() => resolveHubConfig({ connection: { viewer: { maxMessageBytes: 1 << 20, bytesPerSecond: 1000 } } })).toThrow(/never pass/);
    expect(() => resolveHubConfig({ limits: { maxStep: { linear: -1 } } })).toThrow(BridgeConfigError);
    expect(() => resolveHubConfig({ nonsense: 1 } as never)).toThrow(BridgeConfigError);
  });

  it('intersects hub and robot limits, refusing disjoint boxes', () => {
    const r = intersectLimits(DEFAULT_SAFETY_LIMITS, { workspace: { min: [0, -1, 0.1], max: [1, 1, 1] }, maxStep: { linear: 0.01 } });
    expect(r.ok && r.limits.workspace).toEqual({ min: [0, -0.4, 0.1], max: [0.4, 0.4, 0.5] });
    expect(r.ok && r.limits.maxStep.linear).toBe(0.01);
    const bad = intersectLimits(DEFAULT_SAFETY_LIMITS, { workspace: { min: [1, 1, 1], max: [2, 2, 2] } });
    expect(bad.ok).toBe(false);
  });
});
