/**
 * A state policy driving a robot through the bridge while seeing the blocks only through the
 * robot's camera: camera frame → pose estimator → the policy's block features; the robot's own
 * features (tool centre point, gripper yaw and width, velocities, finger command: ROBOT_FEATURES)
 * from the robot's `robot.state`. `policy.state`, where a simulator reports true block poses, is
 * never read.
 *
 * Before the lease, the robot must offer what this needs, each refusal saying what is missing:
 * an RGB image feature (`camera.<the estimator's camera>`, else its only one) carrying a
 * calibration for exactly its image size, and a `robot.state` holding every robot feature the
 * policy reads.
 *
 * Timing (the control loop never waits on a slow frame):
 * - every frame that arrives is estimated at once, newest first: a frame replaced by a newer one
 *   before the estimator got to it is dropped (counted);
 * - each new control step of the robot (its `episode` step, from its observation) is acted on
 *   once: as soon as an estimate of a frame captured at or after that observation exists, or at
 *   `frameWaitMs` after the observation arrived (default half a control period), on the newest
 *   estimate there is. A step whose estimate comes from a frame older than the step before it is
 *   stale (counted);
 * - camera-to-action latency is measured per command: frame capture time (the camera's clock, in
 *   its frame header) → the command leaving this process;
 * - the camera going quiet: after no frame for `cameraSilentSteps` control steps the controller
 *   asks the hub to hold the robot, saying why (op `hold`), well within the hub's command
 *   watchdog, and acts again once frames come back.
 * Each estimate acted on is published (op `estimate`) for viewers to draw.
 */
import { BridgeError, ControllerClient } from '../bridge/controller-client.ts';
import type { Frame, Observation, RobotInfo } from '../bridge/protocol.ts';
import { selectBackend } from '../policy/backend.ts';
import { EpisodeExecutionNoise, executionNoiseOf, executionNoiseOption } from '../policy/execution-noise.ts';
import { PolicyInputError, listNames } from '../policy/errors.ts';
import { poseEstimatorOf, toEstimate } from '../policy/perception/estimator.ts';
import type { BlockEstimate, PoseEstimator } from '../policy/perception/estimator.ts';
import { blockName } from '../policy/perception/identity.ts';
import { BlockTracker, PerceivedState } from '../policy/perception/perceived-state.ts';
import { openSavedModel } from '../policy/saved-model.ts';
import type { SavedModel } from '../policy/saved-model.ts';
import { asStatePolicy } from '../policy/state-policy.ts';
import type { StatePolicy } from '../policy/state-policy.ts';
import type { CameraFile } from '../sim/camera/camera-file.ts';
import type { TaskConfig } from '../sim/scenario.ts';
import { bridgeRunResult, commandOf, CommandStats, EpisodeCounter } from './bridge-run.ts';
import type { BridgeRunOptions, BridgeRunResult, EpisodeTick, PerceptionReport } from './bridge-run.ts';

/** The robot's own state feature a perception run reads (the emulated robot's ROBOT_FEATURES). */
export const ROBOT_STATE_FEATURE = 'robot.state';

/** Control steps without a frame after which the controller holds the robot (at least). */
const MIN_SILENT_STEPS = 3;

export interface CameraChoice {
  key: string;
  calibration: CameraFile;
  /** Frames per second the camera declares (its feature's `hz`), if it does. */
  hz: number | undefined;
}

/**
 * The robot's calibrated camera the estimator will look through, or a PolicyInputError saying
 * what is missing (no image feature, no calibration, a calibration for another size, not RGB).
 */
export function cameraForPerception(info: RobotInfo, estimatorCamera: string): CameraChoice {
  const obs = info.features.observation;
  const images = Object.entries(obs).filter(([, f]) => f.kind === 'image');
  const wanted = `camera.${estimatorCamera}`;
  const pick = obs[wanted]?.kind === 'image' ? ([wanted, obs[wanted]] as const) : images.length === 1 ? images[0] : null;
  if (!pick) {
    throw new PolicyInputError(
      `robot ${info.id} has no calibrated camera to see the blocks through: it offers ${listNames(Object.keys(obs))}${images.length > 1 ? ` (images ${images.map(([k]) => k).join(', ')}, none of them ${wanted})` : ''}; ` +
        `the pose estimator looks through the ${estimatorCamera} camera. Publish one: \`simreal camera --device /dev/video0 --calibration cam.json --bridge … --robot ${info.id} --feature ${wanted}\`, or run the emulated robot where a WebGPU adapter renders its camera`,
    );
  }
  const [key, spec] = pick;
  if (spec.format !== 'rgb8') throw new PolicyInputError(`${key} of robot ${info.id} is ${spec.format ?? 'an image without a format'}; the pose estimator reads rgb8 images`);
  if (!spec.calibration) {
    throw new PolicyInputError(`${key} of robot ${info.id} carries no calibration, and the estimator needs the camera's intrinsics and pose on the table to place the blocks: publish it with \`simreal camera … --calibration cam.json\` (made with simreal camera calibrate)`);
  }
  const [h, w] = spec.shape;
  if (spec.calibration.width !== w || spec.calibration.height !== h) {
    throw new PolicyInputError(`${key} of robot ${info.id} streams ${w}x${h} images but its calibration is for ${spec.calibration.width}x${spec.calibration.height}: publish a calibration made at ${w}x${h} (simreal camera calibrate)`);
  }
  return { key, calibration: spec.calibration, hz: spec.hz };
}

/** The robot's own state feature's names, or a PolicyInputError saying it is missing. */
export function robotStateNames(info: RobotInfo): string[] {
  const f = info.features.observation[ROBOT_STATE_FEATURE];
  if (!f || f.kind !== 'state' || !f.names) {
    throw new PolicyInputError(`robot ${info.id} does not report its own state apart from the blocks (a state feature ${ROBOT_STATE_FEATURE} with named values such as tcp.x, tcp.y, tcp.z, gripper.width): it offers ${listNames(Object.keys(info.features.observation))}; a policy that sees the blocks through the camera takes the robot's own features from there`);
  }
  return f.names;
}

interface Estimate {
  /** Detections, strongest first (not yet named). */
  blocks: BlockEstimate[];
  /** Capture time of the frame (ms since the Unix epoch, camera clock) and its seq. */
  t: number;
  frameSeq: number;
  /** The frame's pixels (kept for onSeen). */
  rgb: Uint8Array;
}

interface PendingStep {
  tick: EpisodeTick;
  obs: Observation;
  robotState: number[];
  /** When its observation arrived (performance.now()). */
  arrivedAt: number;
  timer: NodeJS.Timeout | null;
}

const epochNow = (): number => performance.timeOrigin + performance.now();

export async function runPerceptionOnBridge(o: BridgeRunOptions & { perceptionDir: string }): Promise<BridgeRunResult> {
  const log = o.log ?? (() => {});
  // The policy and the estimator run on one backend (the conv net decides it).
  const choice = await selectBackend({ backend: o.backend, model: 'conv', log });
  let saved: SavedModel | null = null, poseSaved: SavedModel | null = null;
  try {
    saved = await openSavedModel(o.modelDir, {
      choice,
      accept(card) {
        if (card.kind !== 'bc' || !card.inputs.state) throw new PolicyInputError(`${o.modelDir} is a ${card.kind} model; driving a robot through its camera needs a state policy (simreal train bc) and a pose estimator (--perception)`);
      },
    });
    poseSaved = await openSavedModel(o.perceptionDir, {
      choice,
      accept(card) {
        if (card.kind !== 'pose') throw new PolicyInputError(`--perception ${o.perceptionDir} is a ${card.kind} model, not a pose estimator (simreal train pose)`);
      },
    });
    const policy = asStatePolicy(saved);
    const estimator = poseEstimatorOf(poseSaved);
    const task = saved.card.scenario.task as unknown as TaskConfig;
    if (poseSaved.card.scenario.id !== saved.card.scenario.id) {
      throw new PolicyInputError(`the policy ${o.modelDir} was trained on ${saved.card.scenario.id} but the pose estimator ${o.perceptionDir} on ${poseSaved.card.scenario.id}: they see different scenes`);
    }
    const client = await ControllerClient.connect({ url: o.url, token: o.token, name: 'policy' });
    try {
      return await drive({ policy, estimator, task, client, o, log });
    } finally {
      await client.close();
    }
  } finally {
    poseSaved?.dispose();
    saved?.dispose();
    choice.dispose();
  }
}

async function drive(a: { policy: StatePolicy; estimator: PoseEstimator; task: TaskConfig; client: ControllerClient; o: BridgeRunOptions & { perceptionDir: string }; log: (line: string) => void }): Promise<BridgeRunResult> {
  const { policy, estimator, task, client, o, log } = a;
  const info = await client.waitForRobot(o.robot);
  // Everything is checked before the lease.
  const cam = cameraForPerception(info, estimator.spec.camera);
  const robotNames = robotStateNames(info);
  const perceived = new PerceivedState(task, [...policy.names], robotNames, estimator.spec.blockCount);
  if (info.features.action.form !== 'ee_delta_normalized') {
    throw new PolicyInputError(`robot ${o.robot} takes ${info.features.action.form} commands; the policy emits ee_delta_normalized`);
  }
  if (!info.features.observation.episode) {
    throw new PolicyInputError(`robot ${o.robot} reports no episode feature ([index, step, success, fail, …]); a run counts the robot's episodes from it`);
  }
  const fromEstimate = policy.names.filter((n) => !robotNames.includes(n));
  const fromRobot = policy.names.filter((n) => robotNames.includes(n));
  log(`policy inputs: ${fromRobot.length} from ${o.robot}'s ${ROBOT_STATE_FEATURE} (${fromRobot.join(', ')}), ${fromEstimate.length} from the pose estimate of ${cam.key} (${fromEstimate.join(', ')})`);

  const controlHz = info.features.controlHz;
  const period = 1000 / controlHz;
  const frameWait = o.frameWaitMs ?? period / 2;
  const silentSteps = Math.max(MIN_SILENT_STEPS, Math.ceil((2 * controlHz) / (cam.hz ?? controlHz)) + 1);
  await client.lease(o.robot, { channels: [cam.key] });
  log(`leased ${o.robot}; running ${o.modelDir} through ${cam.key} with ${o.perceptionDir} for ${o.episodes} episodes`);

  const counter = new EpisodeCounter(o.episodes, o.onEpisode);
  const stats = new CommandStats();
  const sigma = executionNoiseOption(o.executionNoise, executionNoiseOf(policy.card));
  if (sigma) log(`actions sent with execution noise σ ${sigma} (the model card's; --execution-noise 0 sends them exactly)`);
  const noise = new EpisodeExecutionNoise(sigma);
  const tracker = new BlockTracker(task, estimator.spec.blockCount);
  const report: PerceptionReport = {
    model: o.perceptionDir, camera: cam.key, calibration: `${cam.calibration.name ?? 'unnamed'} ${cam.calibration.width}x${cam.calibration.height}`,
    inputs: { robotFeature: ROBOT_STATE_FEATURE, fromRobot, fromEstimate },
    cameraToActionMs: [], estimateMs: [], steps: 0, staleSteps: 0, waitedOut: 0,
    framesReceived: 0, framesEstimated: 0, framesSuperseded: 0, estimatesPublished: 0, cameraHolds: [],
  };
  let newestFrame: Frame | null = null;
  let estimating = false;
  let newest: Estimate | null = null;
  let pending: PendingStep | null = null;
  let trackedEpisode = -1;
  let stepsWithoutFrame = 0;
  let lastFrameAt = performance.now();
  let heldForCamera = false;
  let finished = false;

  const estimateNewest = (): void => {
    estimating = false;
    const f = newestFrame;
    newestFrame = null;
    if (!f || finished) return;
    const t0 = performance.now();
    const view = estimator.view(f.payload, cam.calibration);
    const blocks = estimator.detect([view], estimator.spec.blockCount + BlockTracker.CANDIDATES_EXTRA)[0].map((d) => toEstimate(d, view.camera));
    report.estimateMs.push(performance.now() - t0);
    report.framesEstimated++;
    newest = { blocks, t: f.t, frameSeq: f.seq, rgb: f.payload };
    tryAct();
  };

  const onFrame = (f: Frame, robot: string | undefined): void => {
    if (robot !== o.robot || finished) return;
    const keys = Object.keys(client.robots.get(o.robot)?.features.observation ?? {});
    if (keys[f.channel] !== cam.key) return;
    report.framesReceived++;
    stepsWithoutFrame = 0;
    lastFrameAt = performance.now();
    if (heldForCamera) {
      heldForCamera = false;
      log(`${cam.key} sends again; acting again`);
    }
    if (newestFrame) report.framesSuperseded++;
    newestFrame = f;
    if (!estimating) {
      estimating = true;
      setImmediate(estimateNewest);
    }
  };

  const publish = (e: Estimate, named: BlockEstimate[]): void => {
    const blocks = named
      .map((b, k) => ({ name: blockName(task, k), position: b.position, yaw: b.yaw, size: Math.min(1, Math.max(0, b.size)), score: Math.min(1, Math.max(0, b.score)) }))
      .filter((b) => b.position.every(Number.isFinite) && Number.isFinite(b.yaw) && Math.abs(b.yaw) <= 10 && Number.isFinite(b.size));
    client.estimate(o.robot, { t: e.t, camera: cam.key, frameSeq: e.frameSeq, blocks, estimatedAt: epochNow() });
    report.estimatesPublished++;
  };

  const act = (step: PendingStep, waitedOut: boolean): void => {
    if (step.timer) clearTimeout(step.timer);
    pending = null;
    const e = newest;
    if (!e || finished) return; // nothing seen yet: the robot keeps holding
    if (step.tick.index !== trackedEpisode) {
      tracker.reset();
      trackedEpisode = step.tick.index;
    }
    const named = tracker.name(e.blocks, perceived.proprioception(step.robotState));
    const inputs = perceived.fill(step.robotState, named);
    o.onAct?.(inputs, step.obs);
    o.onSeen?.({ episode: step.tick.index, step: step.tick.step, rgb: e.rgb, calibration: cam.calibration, blocks: named, obs: step.obs });
    const action = commandOf(noise.apply(step.tick.index, policy.act(inputs)));
    report.steps++;
    if (waitedOut) report.waitedOut++;
    if (e.t < step.obs.t - period - 1) report.staleSteps++;
    const t0 = performance.now();
    stats.commands++;
    const sent = client.command(o.robot, action, { form: 'ee_delta_normalized' });
    report.cameraToActionMs.push(epochNow() - e.t);
    sent.then((ack) => stats.ack(t0, ack.clamped), (err: Error) => log(`command refused: ${err.message}`));
    publish(e, named);
  };

  const tryAct = (): void => {
    const step = pending;
    if (!step) return;
    // A frame of this step (or a later one) has been estimated: act now.
    if (newest && newest.t >= step.obs.t - 1) return act(step, false);
    if (!step.timer) {
      const left = Math.max(0, frameWait - (performance.now() - step.arrivedAt));
      step.timer = setTimeout(() => act(step, true), left);
    }
  };

  const holdForCamera = (): void => {
    heldForCamera = true;
    const silent = Math.round(performance.now() - lastFrameAt);
    const why = `${cam.key} sent no frame for ${stepsWithoutFrame} control steps (${silent} ms): nothing to see the blocks by`;
    report.cameraHolds.push(why);
    log(`holding ${o.robot}: ${why}`);
    client.send({ op: 'hold', robot: o.robot, reason: why });
  };

  await new Promise<void>((resolve, reject) => {
    const stallMs = o.stallMs ?? 5000;
    let stall = setTimeout(() => reject(new Error(`no observation from ${o.robot} for ${stallMs} ms`)), stallMs);
    const finish = (err?: Error): void => {
      finished = true;
      clearTimeout(stall);
      if (pending?.timer) clearTimeout(pending.timer);
      pending = null;
      client.off('observation', onObs);
      client.off('frame', onFrame);
      if (err) reject(err);
      else resolve();
    };
    // The hub going away ends the run at once, saying so (not a stall timeout later).
    client.once('close', (ev: { code: number; reason: string }) => {
      finish(new BridgeError('closed', `the connection to ${o.url} closed (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ''}) after ${counter.episodes.length} of ${o.episodes} episodes`));
    });
    const onObs = (obs: Observation): void => {
      if (obs.robot !== o.robot || finished) return;
      clearTimeout(stall);
      stall = setTimeout(() => finish(new Error(`no observation from ${o.robot} for ${stallMs} ms`)), stallMs);
      const ep = obs.state.episode;
      const own = obs.state[ROBOT_STATE_FEATURE];
      if (!ep || !own || own.length !== robotNames.length) return;
      const tick = counter.observe(ep);
      if (tick.done) return finish();
      if (!tick.newStep) return;
      counter.acted(tick);
      stepsWithoutFrame++;
      if (stepsWithoutFrame >= silentSteps) {
        if (pending?.timer) clearTimeout(pending.timer);
        pending = null;
        if (!heldForCamera) holdForCamera();
        return;
      }
      // A step still waiting when the next one comes is dropped: its robot state is already old.
      if (pending?.timer) clearTimeout(pending.timer);
      pending = { tick, obs, robotState: own, arrivedAt: performance.now(), timer: null };
      tryAct();
    };
    client.on('observation', onObs);
    client.on('frame', onFrame);
  });
  await client.release(o.robot);
  return { ...bridgeRunResult(o.robot, counter, stats, `${policy.backend} (${policy.device})`), perception: report };
}
