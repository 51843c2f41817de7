/**
 * Drives a robot through the bridge with a trained state policy: lease the robot, read its
 * `policy.state` observation, predict, send the action as a normalized end-effector delta, and
 * count the robot's episodes (its `episode` feature) until enough have finished. Every command's
 * round trip (controller → hub → robot → hub → controller) is timed.
 *
 * The robot must observe exactly the features the model was trained on (names and order); a
 * mismatch is refused before the lease, naming both sides.
 */
import { ControllerClient } from '../bridge/controller-client.ts';
import type { ActionVector, Observation } from '../bridge/protocol.ts';
import type { BackendName } from '../policy/backend.ts';
import { PolicyInputError, listNames } from '../policy/errors.ts';
import { loadStatePolicy } from '../policy/state-policy.ts';
import type { StatePolicy } from '../policy/state-policy.ts';
import { wilson } from '../policy/eval/stats.ts';
import type { Rate } from '../policy/eval/stats.ts';

export interface BridgeRunOptions {
  modelDir: string;
  url: string;
  token: string;
  robot: string;
  /** Finished episodes to wait for. */
  episodes: number;
  backend?: BackendName;
  log?: (line: string) => void;
  /** Give up after this long without an observation (ms). Default 5000. */
  stallMs?: number;
  onEpisode?: (e: BridgeEpisode, done: number) => void;
}

export interface BridgeEpisode {
  index: number;
  success: boolean;
  fail: boolean;
  steps: number;
}

export interface BridgeRunResult {
  robot: string;
  episodes: BridgeEpisode[];
  success: Rate;
  /** Command round trips (ms). */
  roundTripMs: number[];
  commands: number;
  /** Commands whose action the hub clamped. */
  clamped: number;
  /** How often each clamp applied (a command can hit several). */
  clampReasons: Record<string, number>;
  backend: string;
}

export async function runPolicyOnBridge(o: BridgeRunOptions): Promise<BridgeRunResult> {
  const log = o.log ?? (() => {});
  const policy = await loadStatePolicy(o.modelDir, { backend: o.backend, log, purpose: 'driving a robot through the bridge needs a state policy (simreal train bc)' });
  try {
    const client = await ControllerClient.connect({ url: o.url, token: o.token, name: 'policy' });
    try {
      return await drive(policy, client, o, log);
    } finally {
      await client.close();
    }
  } finally {
    policy.dispose();
  }
}

/** Checks that the robot fits the policy, leases it and acts on its observations until enough episodes have finished. */
async function drive(policy: StatePolicy, client: ControllerClient, o: BridgeRunOptions, log: (line: string) => void): Promise<BridgeRunResult> {
  const info = await client.waitForRobot(o.robot);
  const spec = info.features.observation['policy.state'];
  if (!spec || spec.kind !== 'state') {
    throw new PolicyInputError(`robot ${o.robot} has no policy.state observation (it offers ${listNames(Object.keys(info.features.observation))}); model ${o.modelDir} needs its ${policy.names.length} task features`);
  }
  policy.checkInputs(spec.names ?? [], `robot ${o.robot} observes`);
  if (info.features.action.form !== 'ee_delta_normalized') {
    throw new PolicyInputError(`robot ${o.robot} takes ${info.features.action.form} commands; the policy emits ee_delta_normalized`);
  }
  await client.lease(o.robot);
  log(`leased ${o.robot}; running ${o.modelDir} for ${o.episodes} episodes`);

  const episodes: BridgeEpisode[] = [];
  const roundTrips: number[] = [];
  let commands = 0, clamped = 0;
  const clampReasons: Record<string, number> = {};
  let lastStep = -1, lastIndex = -1;
  let lastFlags = { success: false, fail: false, steps: 0 };
  let busy = false;
  const S = policy.inputs;

  await new Promise<void>((resolve, reject) => {
    let stall = setTimeout(() => reject(new Error(`no observation from ${o.robot} for ${o.stallMs ?? 5000} ms`)), o.stallMs ?? 5000);
    const onObs = (obs: Observation): void => {
      if (obs.robot !== o.robot) return;
      clearTimeout(stall);
      stall = setTimeout(() => reject(new Error(`no observation from ${o.robot} for ${o.stallMs ?? 5000} ms`)), o.stallMs ?? 5000);
      const ep = obs.state.episode;
      const state = obs.state['policy.state'];
      if (!ep || !state || state.length !== S) return;
      const [index, step, success, fail, prevSuccess, prevFail] = ep;
      if (lastIndex >= 0 && index !== lastIndex) {
        // A robot that reports the previous episode's outcome (index i+1 carries i's) is believed
        // over the last frame this controller happened to see of episode i.
        const flags = index === lastIndex + 1 && prevSuccess !== undefined
          ? { success: prevSuccess === 1, fail: prevFail === 1, steps: lastFlags.steps }
          : lastFlags;
        const e: BridgeEpisode = { index: lastIndex, ...flags };
        episodes.push(e);
        o.onEpisode?.(e, episodes.length);
        if (episodes.length >= o.episodes) {
          client.off('observation', onObs);
          clearTimeout(stall);
          resolve();
          return;
        }
      }
      lastIndex = index;
      lastFlags = { success: success === 1, fail: fail === 1, steps: step };
      if (step === lastStep || busy) return;
      lastStep = step;
      busy = true;
      const action = Array.from(policy.act(state));
      const t0 = performance.now();
      commands++;
      client.command(o.robot, action.slice(0, 5) as ActionVector, { form: 'ee_delta_normalized' })
        .then((ack) => {
          roundTrips.push(performance.now() - t0);
          if (ack.clamped.length > 0) clamped++;
          for (const why of ack.clamped) clampReasons[why] = (clampReasons[why] ?? 0) + 1;
        })
        .catch((err: Error) => log(`command refused: ${err.message}`))
        .finally(() => {
          busy = false;
        });
    };
    client.on('observation', onObs);
  });
  await client.release(o.robot);
  const k = episodes.filter((e) => e.success).length;
  return {
    robot: o.robot,
    episodes,
    success: wilson(k, episodes.length),
    roundTripMs: roundTrips,
    commands,
    clamped,
    clampReasons,
    backend: `${policy.backend} (${policy.device})`,
  };
}
