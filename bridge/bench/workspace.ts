/**
 * The workspace sweep: a controller drives a robot into the wall of its workspace box at full
 * speed and the robot's *true* position is watched for any excursion beyond the box, over a sweep
 * of control rates, transport latencies (with jitter) and observation rates down to the pose
 * timeout. Target: 0 mm beyond the box in every condition.
 *
 * Robots: `mock` (a point end-effector that moves exactly as commanded, with a network delay on
 * commands and observations, and no guard of its own: it measures the hub's layer alone) and
 * `emulated` (the simulator arm of the reach task with the lab reality's physics, its own control
 * loop, network and workspace guard; action and perception noise off, except in the one condition
 * marked `noise`; a few conditions turn its guard off to show the hub's layer alone on it).
 *
 * Each condition runs its own hub (in this thread) over loopback; the box's +x wall sits 5 cm in
 * front of the robot's start, every other wall far away. The controller sends full-speed steps:
 * toward the wall for 250 ms, away from it for 100 ms, again and again, so the wall is hit many
 * times, at every phase of the observation cycle.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startBridge } from '../hub/server.ts';
import { RobotClient } from '../robot-client.ts';
import { ControllerClient } from '../controller-client.ts';
import { MockRobot } from '../robots/mock.ts';
import { EmulatedRobot } from '../robots/emulated/emulated.ts';
import { loadReality } from '../robots/emulated/reality.ts';
import type { Reality } from '../robots/emulated/reality.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { poseTimeoutFor } from '../config.ts';
import type { Robot } from '../robot.ts';

export interface WorkspaceCondition {
  robot: 'mock' | 'emulated';
  /** Command rate, and the robot's control rate (Hz). */
  hz: number;
  latencyMs: number;
  jitterMs: number;
  /** `control`: an observation per control period; `slow`: one per 0.9 × the pose timeout. */
  observation: 'control' | 'slow';
  /** Emulated robot only: keep the lab's action and perception noise. */
  noise?: boolean;
  /** Emulated robot only: false turns its own workspace guard off, to measure the hub's clamp alone. */
  robotGuard?: boolean;
}

export interface WorkspaceResult extends WorkspaceCondition {
  observationHz: number;
  poseTimeoutMs: number;
  commandsSent: number;
  acked: number;
  refused: Record<string, number>;
  estops: number;
  /** Largest distance of the robot's true position beyond the box, millimetres. */
  excursion_mm: number;
}

export interface WorkspaceSweepOptions {
  conditions: WorkspaceCondition[];
  /** How long each condition drives into the wall (default 2 s). */
  seconds?: number;
  log?: (line: string) => void;
}

/** Seconds of each drive toward the wall, then away from it. */
const TOWARD_S = 0.25;
const AWAY_S = 0.1;

const LAB = fileURLToPath(new URL('../../scenarios/reality/lab.json', import.meta.url));
const REACH = fileURLToPath(new URL('../../scenarios/reach.json', import.meta.url));

/**
 * The full sweep of `bench bridge`: both robots, 20–1,000 Hz (and the mock at 2,000 Hz, near a
 * controller's rate limit), 0–100 ms, both observation rates.
 */
export function fullWorkspaceSweep(): WorkspaceCondition[] {
  const out: WorkspaceCondition[] = [];
  const latencies: Array<[number, number]> = [[0, 0], [15, 5], [100, 20]];
  for (const robot of ['mock', 'emulated'] as const) {
    for (const hz of robot === 'mock' ? [20, 100, 1000, 2000] : [20, 100]) {
      for (const [latencyMs, jitterMs] of latencies) {
        for (const observation of ['control', 'slow'] as const) out.push({ robot, hz, latencyMs, jitterMs, observation });
      }
    }
  }
  out.push({ robot: 'emulated', hz: 20, latencyMs: 15, jitterMs: 5, observation: 'control', noise: true });
  // The hub's layer alone on the emulated arm (its own guard off).
  for (const [latencyMs, jitterMs] of latencies) out.push({ robot: 'emulated', hz: 20, latencyMs, jitterMs, observation: 'control', robotGuard: false });
  return out;
}

function sweepReality(c: WorkspaceCondition): Reality {
  const lab = loadReality(LAB);
  const physics = c.noise ? lab.config.physics : { ...lab.config.physics, actionNoise: [0, 0] as [number, number], observationNoise: [0, 0] as [number, number] };
  const config = { ...lab.config, transport: { latencyMs: c.latencyMs, jitterMs: c.jitterMs }, resetPauseMs: 0 };
  // The reach task's scene with this reality's physics; episodes never end within a condition.
  return { ...lab, config, scenario: { ...loadScenario(REACH), randomization: physics, maxSteps: 1_000_000 } };
}

async function firstPose(robot: Robot): Promise<number[]> {
  const o = await robot.getObservation();
  return o.state['ee.pose'];
}

/** Runs one condition: its own hub, robot and controller. */
export async function runWorkspaceCondition(c: WorkspaceCondition, seconds: number): Promise<WorkspaceResult> {
  const token = randomBytes(24).toString('base64url');
  let robot: MockRobot | EmulatedRobot;
  if (c.robot === 'mock') {
    robot = new MockRobot({ form: 'ee_delta_normalized', maxDelta: [0.02, 0.02, 0.02, 0.2], initialPose: [0, 0, 0.2, 0, -1], controlHz: c.hz, latencyMs: c.latencyMs, jitterMs: c.jitterMs, log: false });
  } else {
    robot = new EmulatedRobot(sweepReality(c), { speed: c.hz / 20, guard: c.robotGuard !== false });
  }
  await robot.connect();
  const start = await firstPose(robot);
  const box = { min: [-0.4, -0.4, 0] as [number, number, number], max: [start[0] + 0.05, 0.4, 0.5] as [number, number, number] };
  robot.watchBox = box;
  const bridge = await startBridge({ port: 0, host: '127.0.0.1', token, config: { heartbeatMs: 0, limits: { workspace: box } } });
  const cfg = bridge.hub.config;
  const poseTimeoutMs = poseTimeoutFor(cfg.limits.poseTimeoutMs, robot.features.controlHz, cfg.poseTimeoutPeriods);
  const observationHz = c.observation === 'control' ? c.hz : 1000 / (0.9 * poseTimeoutMs);
  const client = new RobotClient({ url: bridge.url, token: bridge.robotToken('arm'), id: 'arm', robot, observationHz, backoff: { initialMs: 20, maxMs: 200 } });
  let estops = 0;
  client.on('estop', () => { estops++; });
  const refused: Record<string, number> = {};
  let commandsSent = 0;
  let acked = 0;
  let ctl: ControllerClient | null = null;
  try {
    await client.start();
    await client.waitRegistered(10_000);
    ctl = await ControllerClient.connect({ url: bridge.url, token, name: 'sweep', timeoutMs: 10_000 });
    await ctl.waitForRobot('arm');
    await ctl.lease('arm');
    await new Promise<void>((r) => ctl!.once('observation', () => r()));
    ctl.on('ack', () => { acked++; });
    ctl.on('hubError', (e) => { refused[e.code] = (refused[e.code] ?? 0) + 1; });
    const c2 = ctl;
    const period = 1000 / c.hz;
    const t0 = performance.now();
    await new Promise<void>((done) => {
      const timer = setInterval(() => {
        const due = Math.min(Math.floor((performance.now() - t0) / period) + 1, Math.round(seconds * c.hz));
        while (commandsSent < due) {
          const phase = ((commandsSent / c.hz) % (TOWARD_S + AWAY_S));
          c2.sendCommand('arm', [phase < TOWARD_S ? 1 : -1, 0, 0, 0, 0]);
          commandsSent++;
        }
        if (commandsSent >= Math.round(seconds * c.hz)) {
          clearInterval(timer);
          done();
        }
      }, Math.max(1, Math.min(period, 10)));
    });
    // Let whatever is still on the way arrive.
    await new Promise((r) => setTimeout(r, c.latencyMs + c.jitterMs + 300));
  } finally {
    await ctl?.close();
    await client.stop();
    await bridge.close();
  }
  return { ...c, observationHz: Math.round(observationHz * 100) / 100, poseTimeoutMs, commandsSent, acked, refused, estops, excursion_mm: Math.round(Math.max(0, robot.maxExcursion) * 1e4) / 10 };
}

export async function runWorkspaceSweep(o: WorkspaceSweepOptions): Promise<{ conditions: WorkspaceResult[]; max_excursion_mm: number }> {
  const results: WorkspaceResult[] = [];
  for (const c of o.conditions) {
    const r = await runWorkspaceCondition(c, o.seconds ?? 2);
    o.log?.(`workspace ${c.robot} ${c.hz} Hz, ${c.latencyMs}±${c.jitterMs} ms, observations ${c.observation} (${r.observationHz} Hz)${c.noise ? ', lab noise' : ''}${c.robotGuard === false ? ', robot guard off' : ''}: ${r.excursion_mm} mm beyond the box`);
    results.push(r);
  }
  return { conditions: results, max_excursion_mm: Math.max(0, ...results.map((r) => r.excursion_mm)) };
}
