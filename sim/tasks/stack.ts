/**
 * StackBlocks-v1: stack N blocks (N = 2…5) into one tower.
 *
 * Task: block 0 stays where it lies; block k goes onto block k−1, in order. Blocks are numbered
 *   from left to right (ascending x) as they lie at the start, so that a camera, which cannot
 *   tell randomly textured blocks apart, can still tell which is which: the order is visible.
 * Randomizations: block positions anywhere in the robot's area with room for the fingers between
 *   them, block yaws in ±45°, the gripper's start around its home pose and ±0.3 rad;
 *   block sizes and all physics come from the scenario's ranges.
 * Success: every block k rests on block k−1 (centres within 1.5 cm horizontally, heights within
 *   1 cm of touching), the gripper has let go of the top block, and everything is still.
 * Fail: a block left the table.
 */
import type { Rng } from '../rng.ts';
import type { Scene } from '../scene.ts';
import type { TaskConfig } from '../scenario.ts';
import {
  anyFellOff, blockFeatureNames, blockPositionIndices, isGrasped, maxBlockSpeed, observeBlock, tcpDistance,
} from './features.ts';
import { MOUNT_AREA } from '../robot/robot.ts';
import { homePose, scatterBlocks } from './task.ts';
import type { Evaluation, TaskSpec } from './task.ts';

type StackConfig = Extract<TaskConfig, { id: 'StackBlocks-v1' }>;

/** Horizontal tolerance (m) for a block to count as on the one below. */
export const STACK_XY_TOLERANCE = 0.015;
/** Vertical tolerance (m) around touching. */
export const STACK_Z_TOLERANCE = 0.01;

/** Whether block k rests on block k−1. */
export function isOn(scene: Scene, k: number): boolean {
  const a = scene.blocks[k].position, b = scene.blocks[k - 1].position;
  const touch = (scene.blockSizes[k] + scene.blockSizes[k - 1]) / 2;
  return Math.hypot(a.x - b.x, a.y - b.y) <= STACK_XY_TOLERANCE && Math.abs(a.z - b.z - touch) <= STACK_Z_TOLERANCE;
}

/** Number of blocks stacked in order from the base: k means blocks 1..k are each on the one below. */
export function stackedCount(scene: Scene): number {
  let k = 0;
  while (k + 1 < scene.blocks.length && isOn(scene, k + 1)) k++;
  return k;
}

export const StackBlocks: TaskSpec<StackConfig> = {
  id: 'StackBlocks-v1',

  instruction: (c) => `Stack the ${c.blocks} blocks into one tower, each on the previous one.`,

  blockCount: (c) => c.blocks,

  stageNames: (c) => Array.from({ length: c.blocks - 1 }, (_, i) => `block${i + 1}_on_block${i}`),

  layout(rng: Rng, c, sizes, area = MOUNT_AREA) {
    // Numbered left to right: block i takes the i-th placement by x (sizes stay with their index;
    // the 4.5 cm gaps leave room for any size difference the ranges allow).
    const placed = scatterBlocks(rng, sizes, 0.045, area).sort((a, b) => a.x - b.x);
    return { blocks: placed, gripper: homePose(rng, area, 0.3), goals: [] };
  },

  featureNames(c) {
    const names: string[] = [];
    for (let i = 0; i < c.blocks; i++) names.push(...blockFeatureNames(`block${i}`));
    for (let k = 1; k < c.blocks; k++) names.push(`stacked.block${k}`);
    return names;
  },

  positionFeatures(c) {
    const out: number[] = [];
    for (let i = 0; i < c.blocks; i++) out.push(...blockPositionIndices(i));
    return out;
  },

  observe(scene, c, out, offset) {
    let o = offset;
    for (let i = 0; i < c.blocks; i++) o = observeBlock(scene, scene.blocks[i], scene.blockSizes[i], out, o);
    for (let k = 1; k < c.blocks; k++) out[o++] = isOn(scene, k) ? 1 : 0;
  },

  reward(scene, c) {
    const k = stackedCount(scene);
    const n = c.blocks - 1;
    if (k === n) return 1;
    const j = k + 1;
    const bj = scene.blocks[j].position, bk = scene.blocks[k].position;
    const reach = 1 - Math.tanh(5 * tcpDistance(scene, bj.x, bj.y, bj.z));
    const grasp = isGrasped(scene, scene.blocks[j]) ? 1 : 0;
    const tz = bk.z + (scene.blockSizes[k] + scene.blockSizes[j]) / 2;
    const place = 1 - Math.tanh(5 * Math.hypot(bj.x - bk.x, bj.y - bk.y, bj.z - tz));
    return (k + (reach + grasp + 2 * place) / 4) / n;
  },

  evaluate(scene, c): Evaluation {
    const stages: boolean[] = [];
    let ok = true;
    for (let k = 1; k < c.blocks; k++) {
      ok = ok && isOn(scene, k);
      stages.push(ok);
    }
    const top = c.blocks - 1;
    const released = scene.gripper.width() > scene.blockSizes[top] + 0.004 && !isGrasped(scene, scene.blocks[top]);
    const success = ok && released && maxBlockSpeed(scene) < 0.02;
    return { success, fail: anyFellOff(scene), stages };
  },
};
