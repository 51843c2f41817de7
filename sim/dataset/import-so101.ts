/**
 * `simreal dataset import <LeRobot SO-101 dataset>`: a LeRobotDataset v3 recorded on an SO-101 (by
 * LeRobot, or by simreal) into a dataset simreal trains from.
 *
 * LeRobot's SO-101 datasets hold `observation.state` and `action` as the six `{motor}.pos` values
 * (sim/robot/so101/lerobot.ts) and camera frames (`observation.images.*`, MP4 or PNG). simreal's
 * policies act in end-effector steps, so each frame also gets, from the same geometry the driver
 * and the simulator use (sim/robot/so101/):
 * - `sim.state`: the robot features of simreal's observations (tool point, jaw yaw, opening,
 *   velocity from the next frame, jaw command), the arm standing at `base` (default where the
 *   SO-101 scenarios put it);
 * - `sim.action`: the normalized step from the present tool pose to the one the recorded joint goals
 *   command (sim/env.ts MAX_DELTA, MAX_DYAW, clipped to [-1, 1]) and the jaw command as grip.
 * The joints are kept, in degrees (converted from RANGE_M100_100 with the arm's calibration when
 * the dataset was recorded that way); camera frames are kept as PNG images. Every episode is a
 * demonstration (`simreal/success` true). The result trains `simreal train visuomotor`; it has no
 * block features, which `train bc` needs.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_DELTA, MAX_DYAW } from '../env.ts';
import { SO101_BASE } from '../robot/so101/arm.ts';
import type { So101Calibration } from '../robot/so101/calibration.ts';
import { toolPose } from '../robot/so101/command.ts';
import type { ArmBase } from '../robot/so101/command.ts';
import { gripForJawAngle, toolOffset, widthAt } from '../robot/so101/jaw.ts';
import { jawLineYaw, unwrapNear } from '../robot/so101/kinematics.ts';
import { fromLeRobot, LEROBOT_SO101_NAMES, LEROBOT_SO101_TYPE, toLeRobot } from '../robot/so101/lerobot.ts';
import type { LeRobotJointUnits } from '../robot/so101/lerobot.ts';
import { ROBOT_FEATURES } from '../tasks/features.ts';
import { ACTION_NAMES, DatasetError, IMAGE_PREFIX, INFO_PATH, SIMREAL_META_PATH } from './format.ts';
import type { Feature } from './format.ts';
import { encodePngRgb } from './png.ts';
import { DatasetReader } from './reader.ts';
import { DatasetWriter } from './writer.ts';

export interface ImportOptions {
  /**
   * Units of the arm joints: `degrees` (LeRobot's `use_degrees=True`, and simreal's own datasets)
   * or `range` (LeRobot's default RANGE_M100_100; needs `calibration`). Default: degrees for a
   * dataset simreal wrote, else it must be given.
   */
  units?: LeRobotJointUnits;
  /** The recording arm's LeRobot calibration (for `range`). */
  calibration?: So101Calibration;
  /** The arm's base in the table frame (default the SO-101 scenarios'). */
  base?: ArmBase;
  log?: (line: string) => void;
}

export interface ImportResult {
  episodes: number;
  frames: number;
  cameras: string[];
  units: LeRobotJointUnits;
}

/** The features of an imported dataset. */
function importedFeatures(cameras: Array<{ key: string; height: number; width: number }>): Record<string, Feature> {
  const features: Record<string, Feature> = {
    'observation.state': { dtype: 'float32', shape: [6], names: [...LEROBOT_SO101_NAMES] },
  };
  for (const c of cameras) features[c.key] = { dtype: 'image', shape: [c.height, c.width, 3], names: ['height', 'width', 'channels'] };
  features.action = { dtype: 'float32', shape: [6], names: [...LEROBOT_SO101_NAMES] };
  features['sim.state'] = { dtype: 'float32', shape: [ROBOT_FEATURES.length], names: [...ROBOT_FEATURES] };
  features['sim.action'] = { dtype: 'float32', shape: [ACTION_NAMES.length], names: [...ACTION_NAMES] };
  features['next.done'] = { dtype: 'bool', shape: [1], names: null };
  for (const k of ['timestamp', 'frame_index', 'episode_index', 'index', 'task_index']) {
    features[k] = { dtype: k === 'timestamp' ? 'float32' : 'int64', shape: [1], names: null };
  }
  return features;
}

function checkSo101Feature(src: string, features: Record<string, Feature>, key: string): void {
  const f = features[key];
  if (!f) throw new DatasetError(`${src} has no ${key}; an SO-101 dataset records the six motors (${LEROBOT_SO101_NAMES.join(', ')}) there`, INFO_PATH);
  const names = Array.isArray(f.names) ? f.names.map(String) : null;
  if (f.shape.length !== 1 || f.shape[0] !== 6 || (names && names.join() !== LEROBOT_SO101_NAMES.join())) {
    throw new DatasetError(`${src}: ${key} is [${f.shape}]${names ? ` (${names.join(', ')})` : ''}, not the SO-101's six motors ${LEROBOT_SO101_NAMES.join(', ')}`, INFO_PATH);
  }
}

export async function importLeRobotSo101(src: string, out: string, options: ImportOptions = {}): Promise<ImportResult> {
  const log = options.log ?? (() => {});
  if (existsSync(out) && readdirSync(out).length > 0) throw new DatasetError(`${out} exists and is not empty; choose a new folder`);
  const reader = await DatasetReader.open(src);
  try {
    const features = reader.features;
    checkSo101Feature(src, features, 'observation.state');
    checkSo101Feature(src, features, 'action');
    const simrealWrote = existsSync(join(src, SIMREAL_META_PATH));
    const units = options.units ?? (simrealWrote ? 'degrees' : null);
    if (!units) {
      throw new DatasetError(`say how ${src} records the arm joints: --units degrees (LeRobot's use_degrees=True) or --units range --calibration <the arm's LeRobot calibration .json> (LeRobot's default RANGE_M100_100)`);
    }
    if (units === 'range' && !options.calibration) throw new DatasetError('--units range needs the recording arm\'s LeRobot calibration file (--calibration <file.json>) to turn its -100…100 values into angles');
    const base = options.base ?? SO101_BASE;
    const cameras = Object.entries(features)
      .filter(([k, f]) => k.startsWith(IMAGE_PREFIX) && (f.dtype === 'image' || f.dtype === 'video'))
      .map(([key, f]) => ({ key, height: f.shape[0], width: f.shape[1], video: f.dtype === 'video' }));
    const fps = reader.fps;
    const outFeatures = importedFeatures(cameras);
    const writer = DatasetWriter.create(out, fps, outFeatures, { robotType: LEROBOT_SO101_TYPE });
    let frames = 0;
    try {
      for (const entry of reader.episodes) {
        const rows = await reader.readEpisode(entry, ['observation.state', 'action', ...cameras.filter((c) => !c.video).map((c) => c.key)]);
        const n = rows.length;
        const state = new Float32Array(n * 6), action = new Float32Array(n * 6);
        const simState = new Float32Array(n * ROBOT_FEATURES.length), simAction = new Float32Array(n * ACTION_NAMES.length);
        const done = new Uint8Array(n);
        const poses: number[][] = [];
        const targets: number[][] = [];
        const jawCommand: number[] = [];
        let yawRef = 0;
        for (let t = 0; t < n; t++) {
          const s = fromLeRobot(rows[t]['observation.state'] as ArrayLike<number>, units, options.calibration);
          const a = fromLeRobot(rows[t].action as ArrayLike<number>, units, options.calibration);
          toLeRobot(s.joints, s.jaw, state, t * 6);
          toLeRobot(a.joints, a.jaw, action, t * 6);
          const tool = toolOffset(widthAt(s.jaw));
          const pose = toolPose(base, s.joints, tool);
          // The jaw line's yaw, continuous along the episode.
          pose[3] = t === 0 ? pose[3] : unwrapNear(jawLineYaw(pose[3], yawRef), yawRef);
          yawRef = pose[3];
          const target = toolPose(base, a.joints, tool);
          target[3] = jawLineYaw(target[3], pose[3]);
          poses.push(pose);
          targets.push(target);
          jawCommand.push(gripForJawAngle(a.jaw));
          const o = t * ROBOT_FEATURES.length;
          simState[o] = pose[0]; simState[o + 1] = pose[1]; simState[o + 2] = pose[2];
          simState[o + 3] = Math.sin(pose[3]); simState[o + 4] = Math.cos(pose[3]);
          simState[o + 5] = Math.max(0, widthAt(s.jaw));
          simState[o + 9] = gripForJawAngle(a.jaw);
          const clip = (v: number): number => Math.max(-1, Math.min(1, v));
          const ao = t * ACTION_NAMES.length;
          simAction[ao] = clip((target[0] - pose[0]) / MAX_DELTA);
          simAction[ao + 1] = clip((target[1] - pose[1]) / MAX_DELTA);
          simAction[ao + 2] = clip((target[2] - pose[2]) / MAX_DELTA);
          simAction[ao + 3] = clip((target[3] - pose[3]) / MAX_DYAW);
          simAction[ao + 4] = jawCommand[t];
        }
        // Tool-point velocity from neighbouring frames (forward difference; the last frame backward).
        for (let t = 0; t < n; t++) {
          const a = poses[Math.min(t, n - 2 < 0 ? 0 : n - 2)], b = poses[Math.min(t + 1, n - 1)];
          const o = t * ROBOT_FEATURES.length;
          for (let k = 0; k < 3; k++) simState[o + 6 + k] = n > 1 ? (b[k] - a[k]) * fps : 0;
        }
        if (n > 0) done[n - 1] = 1;
        const images: Record<string, Uint8Array[]> = {};
        for (const c of cameras) {
          if (c.video) {
            const rgb = await reader.readFrames(entry, c.key);
            images[c.key] = rgb.map((px) => encodePngRgb(c.width, c.height, px));
          } else {
            images[c.key] = rows.map((r) => (r[c.key] as { bytes: Uint8Array }).bytes);
          }
        }
        await writer.append({
          frames: { length: n, columns: { 'observation.state': state, action, 'sim.state': simState, 'sim.action': simAction, 'next.done': done }, images },
          task: entry.tasks[0] ?? 'SO-101 demonstration',
          extras: { 'simreal/source_index': BigInt(entry.index), 'simreal/success': true, 'simreal/imported_from': src },
        });
        frames += n;
        log(`episode ${entry.index}: ${n} frames`);
      }
    } finally {
      await writer.close();
    }
    return { episodes: reader.episodes.length, frames, cameras: cameras.map((c) => c.key.slice(IMAGE_PREFIX.length)), units };
  } finally {
    await reader.close();
  }
}
