/**
 * The emulated SO-101 against the driver of the real one: the same features and action forms
 * (field by field), and the same joint trajectories for the same actions, step by step, against
 * `robot so101 --dry-run`'s simulated servo bus. Also: both on a real bridge, leased by a
 * controller that cannot tell them apart.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTION_FORMS } from '../../bridge/protocol.ts';
import type { ActionForm, ActionVector } from '../../bridge/protocol.ts';
import { RobotClient } from '../../bridge/robot-client.ts';
import { EmulatedRobot } from '../../bridge/robots/emulated/emulated.ts';
import { loadReality } from '../../bridge/robots/emulated/reality.ts';
import { openDryRunArm } from '../../bridge/robots/so101/dry-run.ts';
import { So101Robot } from '../../bridge/robots/so101/so101.ts';
import type { So101Arm } from '../../sim/robot/so101/arm.ts';
import { jawAngleForGrip } from '../../sim/robot/so101/jaw.ts';
import { MAX_DELTA, MAX_DYAW } from '../../sim/env.ts';
import { STS3215_SPEED } from '../../sim/robot/so101/servo.ts';
import { connectController, startTestBridge, TOKEN, until } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'simreal-so101-emu-'));

/**
 * A reality for comparing arms: the SO-101 scenario's stack task, every randomization pinned to
 * the nominal arm (no calibration error, no backlash, STS3215 speed), no action noise or latency,
 * no network delay.
 */
function nominalReality(): string {
  const scenario = JSON.parse(JSON.stringify(loadReality('scenarios/reality/so101-lab.json').scenario));
  const file = join(dir, 'so101-nominal-scenario.json');
  scenario.maxSteps = 1000;
  writeFileSync(file, JSON.stringify(scenario));
  const fixed = (v: number): [number, number] => [v, v];
  const reality = {
    schemaVersion: 1, id: 'so101-nominal', scenario: resolve(file), seed: 7,
    physics: {
      blockSize: fixed(0.04), blockMass: fixed(0.1), friction: fixed(0.8), restitution: fixed(0), linearDamping: fixed(0.01),
      angularDamping: fixed(0.01), gripperGain: fixed(20), gripForce: fixed(12), actionLatency: fixed(0), actionNoise: fixed(0),
      observationNoise: fixed(0), controlJitter: fixed(0), gravityTilt: fixed(0),
      servoGain: fixed(100), servoSpeed: fixed(STS3215_SPEED), jointOffsetDeg: fixed(0), backlashDeg: fixed(0),
    },
    transport: { latencyMs: 0, jitterMs: 0 },
    resetPauseMs: 0,
  };
  const path = join(dir, 'so101-nominal.json');
  writeFileSync(path, JSON.stringify(reality));
  return path;
}

/**
 * The recorded action sequence: the tool point sweeping ±5 cm, ±4 cm and ±3 cm around where the
 * arm starts (periods of 1.5–2 s), the wrist turning ±0.5 rad, the jaws closing and opening; as
 * normalized steps (sim/env.ts MAX_DELTA, MAX_DYAW): the arm's normal working range, clear of its
 * joint limits and of the table.
 */
function recordedActions(n: number): ActionVector[] {
  const sweep = (k: number, amplitude: number, period: number): number => amplitude * Math.sin((2 * Math.PI * k) / period);
  const step = (k: number, amplitude: number, period: number, scale: number): number => (sweep(k + 1, amplitude, period) - sweep(k, amplitude, period)) / scale;
  const out: ActionVector[] = [];
  for (let k = 0; k < n; k++) {
    out.push([step(k, 0.05, 30, MAX_DELTA), step(k, 0.04, 40, MAX_DELTA), step(k, 0.03, 34, MAX_DELTA), step(k, 0.5, 24, MAX_DYAW), Math.sin((2 * Math.PI * k) / 44) > 0 ? 1 : -0.3]);
  }
  return out;
}

async function pair(form: ActionForm = 'ee_delta_normalized') {
  const reality = loadReality(nominalReality());
  const emulated = new EmulatedRobot(reality, { manual: true, form });
  await emulated.connect();
  const start = (await emulated.getObservation()).state.joints;
  let now = 0;
  const dry = await openDryRunArm({ joints: start.slice(0, 5), grip: start[5], clock: () => now });
  const driver = new So101Robot({ link: dry.link, calibration: dry.calibration, base: dry.base, form, writeCalibration: true });
  await driver.connect();
  return { emulated, driver, advance: (ms: number) => { now += ms; } };
}

describe('the emulated SO-101 and the driver of the real one', () => {
  it('declare the same features and action forms, field by field', async () => {
    for (const form of ACTION_FORMS) {
      const { emulated, driver } = await pair(form);
      const e = emulated.features, d = driver.features;
      for (const [key, spec] of Object.entries(d.observation)) expect(e.observation[key], `${form}: observation ${key}`).toEqual(spec);
      // Beyond the driver's: what a real setup gets from perception and from whoever resets the
      // scene, and the arm's own part of policy.state (what a camera-driven controller joins its
      // estimated blocks to).
      expect(Object.keys(e.observation).filter((k) => !(k in d.observation)).sort()).toEqual(['episode', 'policy.state', 'robot.state']);
      expect(e.action, form).toEqual(d.action);
      expect(e.controlHz).toBe(d.controlHz);
      expect(e.limits).toEqual(d.limits);
      // Their observations carry the same fields, of the declared sizes.
      const eo = await emulated.getObservation(), dob = await driver.getObservation();
      for (const key of Object.keys(d.observation)) {
        expect(eo.state[key]).toHaveLength(d.observation[key].shape[0]);
        expect(dob.state[key]).toHaveLength(d.observation[key].shape[0]);
      }
      await emulated.disconnect();
      await driver.disconnect();
    }
  });

  it('move the same way for the same actions: joints within 0.02 rad at every step', async () => {
    const { emulated, driver, advance } = await pair();
    const actions = recordedActions(200);
    let moved = 0;
    const first = (await driver.getObservation()).state.joints;
    for (let k = 0; k < actions.length; k++) {
      await emulated.sendAction(actions[k]);
      emulated.advance();
      await driver.sendAction(actions[k]);
      advance(50);
      const e = (await emulated.getObservation()).state, d = (await driver.getObservation()).state;
      expect(e.episode[0], 'the episode must not end mid-sequence').toBe(0);
      for (let i = 0; i < 5; i++) {
        const diff = Math.abs(e.joints[i] - d.joints[i]);
        expect(diff, `step ${k}, joint ${i}: emulated ${e.joints[i]}, driver ${d.joints[i]}`).toBeLessThanOrEqual(0.02);
        moved = Math.max(moved, Math.abs(d.joints[i] - first[i]));
      }
      const jaw = Math.abs(jawAngleForGrip(e.joints[5]) - jawAngleForGrip(d.joints[5]));
      expect(jaw, `step ${k}, jaw`).toBeLessThanOrEqual(0.02);
    }
    // The sequence really moved the arm, within its working range.
    expect(moved).toBeGreaterThan(0.2);
    const report = (emulated as unknown as { env: { scene: { gripper: So101Arm } } }).env.scene.gripper.report;
    expect(report.limitHits + report.unreachable + report.protectiveStops).toBe(0);
    await emulated.disconnect();
    await driver.disconnect();
  }, 30_000);

  it('cannot be told apart by a controller on the bridge', async () => {
    const bridge = await startTestBridge();
    try {
      const reality = loadReality(nominalReality());
      const emulated = new EmulatedRobot(reality, { speed: 4 });
      const dry = await openDryRunArm();
      const driver = new So101Robot({ link: dry.link, calibration: dry.calibration, base: dry.base, writeCalibration: true, controlHz: 80 });
      const clients = [
        new RobotClient({ url: bridge.url, token: bridge.robotToken('emu'), id: 'emu', robot: emulated, model: 'so101', backoff: { initialMs: 20, maxMs: 200 } }),
        new RobotClient({ url: bridge.url, token: bridge.robotToken('arm'), id: 'arm', robot: driver, model: 'so101', backoff: { initialMs: 20, maxMs: 200 } }),
      ];
      for (const c of clients) await c.start();
      for (const c of clients) await c.waitRegistered(5000);
      const ctl = await connectController(bridge);
      const emu = await ctl.waitForRobot('emu'), arm = await ctl.waitForRobot('arm');
      for (const key of Object.keys(arm.features.observation)) expect(emu.features.observation[key]).toEqual(arm.features.observation[key]);
      expect(emu.features.action).toEqual(arm.features.action);
      expect(emu.features.controlHz).toBe(arm.features.controlHz);
      // One controller drives both with the same normalized command.
      for (const id of ['emu', 'arm']) {
        await ctl.lease(id);
        let seen = 0;
        const onObs = (o: { robot: string }) => { if (o.robot === id) seen++; };
        ctl.on('observation', onObs);
        await until(() => seen > 0, 3000, `an observation of ${id}`);
        ctl.off('observation', onObs);
        const ack = await ctl.command(id, [0.5, 0, 0, 0, -1], { form: 'ee_delta_normalized' });
        expect(ack.sent[0]).toBeGreaterThan(0);
        await ctl.release(id);
      }
      await ctl.close();
      for (const c of clients) await c.stop();
    } finally {
      await bridge.close();
    }
  }, 30_000);
});
