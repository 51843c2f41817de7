/**
 * Drives a robot through the bridge with a trained state policy: lease the robot, read its
 * observation, predict, send the action as a normalized end-effector delta, and count the robot's
 * episodes (its `episode` feature) until enough have finished. Every command's round trip
 * (controller → hub → robot → hub → controller) is timed.
 *
 * Two ways to see the blocks:
 * - the robot's `policy.state` (true block poses, which only a simulator reports), the robot
 *   observing exactly the features the model was trained on (names and order; a mismatch is
 *   refused before the lease, naming both sides);
 * - with `perceptionDir`, its camera and a pose estimator (perception-on-bridge.ts): the block
 *   features come from the estimate, the robot's own from its `robot.state`, and `policy.state`
 *   is never read.
 */
import { BridgeError, ControllerClient } from '../bridge/controller-client.ts';
import type { Observation } from '../bridge/protocol.ts';
import { PolicyInputError, listNames } from '../policy/errors.ts';
import { loadStatePolicy } from '../policy/state-policy.ts';
import { EpisodeExecutionNoise, executionNoiseOf, executionNoiseOption } from '../policy/execution-noise.ts';
import type { StatePolicy } from '../policy/state-policy.ts';
import { bridgeRunResult, commandOf, CommandStats, EpisodeCounter } from './bridge-run.ts';
import type { BridgeRunOptions, BridgeRunResult } from './bridge-run.ts';

export type { BridgeEpisode, BridgeRunOptions, BridgeRunResult, PerceptionReport } from './bridge-run.ts';

export async function runPolicyOnBridge(o: BridgeRunOptions): Promise<BridgeRunResult> {
  if (o.perceptionDir) {
    const { runPerceptionOnBridge } = await import('./perception-on-bridge.ts');
    return runPerceptionOnBridge({ ...o, perceptionDir: o.perceptionDir });
  }
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
    throw new PolicyInputError(`robot ${o.robot} has no policy.state observation (it offers ${listNames(Object.keys(info.features.observation))}); model ${o.modelDir} needs its ${policy.names.length} task features; a robot without them can be driven through its camera with --perception <pose model>`);
  }
  policy.checkInputs(spec.names ?? [], `robot ${o.robot} observes`);
  if (info.features.action.form !== 'ee_delta_normalized') {
    throw new PolicyInputError(`robot ${o.robot} takes ${info.features.action.form} commands; the policy emits ee_delta_normalized`);
  }
  await client.lease(o.robot);
  log(`leased ${o.robot}; running ${o.modelDir} for ${o.episodes} episodes`);
  const sigma = executionNoiseOption(o.executionNoise, executionNoiseOf(policy.card));
  if (sigma) log(`actions sent with execution noise σ ${sigma} (the model card's; --execution-noise 0 sends them exactly)`);

  const counter = new EpisodeCounter(o.episodes, o.onEpisode);
  const stats = new CommandStats();
  const noise = new EpisodeExecutionNoise(sigma);
  let busy = false;
  const S = policy.inputs;

  await new Promise<void>((resolve, reject) => {
    // The hub going away ends the run at once, saying so (not a stall timeout later).
    client.once('close', (e: { code: number; reason: string }) => {
      clearTimeout(stall);
      reject(new BridgeError('closed', `the connection to ${o.url} closed (code ${e.code}${e.reason ? `, ${e.reason}` : ''}) after ${counter.episodes.length} of ${o.episodes} episodes`));
    });
    let stall = setTimeout(() => reject(new Error(`no observation from ${o.robot} for ${o.stallMs ?? 5000} ms`)), o.stallMs ?? 5000);
    const onObs = (obs: Observation): void => {
      if (obs.robot !== o.robot) return;
      clearTimeout(stall);
      stall = setTimeout(() => reject(new Error(`no observation from ${o.robot} for ${o.stallMs ?? 5000} ms`)), o.stallMs ?? 5000);
      const ep = obs.state.episode;
      const state = obs.state['policy.state'];
      if (!ep || !state || state.length !== S) return;
      const tick = counter.observe(ep);
      if (tick.done) {
        client.off('observation', onObs);
        clearTimeout(stall);
        resolve();
        return;
      }
      if (!tick.newStep || busy) return;
      counter.acted(tick);
      busy = true;
      const action = commandOf(noise.apply(tick.index, policy.act(state)));
      const t0 = performance.now();
      stats.commands++;
      client.command(o.robot, action, { form: 'ee_delta_normalized' })
        .then((ack) => stats.ack(t0, ack.clamped))
        .catch((err: Error) => log(`command refused: ${err.message}`))
        .finally(() => {
          busy = false;
        });
    };
    client.on('observation', onObs);
  });
  await client.release(o.robot);
  return bridgeRunResult(o.robot, counter, stats, `${policy.backend} (${policy.device})`);
}

