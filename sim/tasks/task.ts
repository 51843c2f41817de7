/**
 * What a task is: one file per task (sim/tasks/<name>.ts) exports a TaskSpec. It samples an
 * episode's layout, says what the policy observes beyond the robot's own state, gives a dense
 * reward, and evaluates success and failure. Scene building and stepping belong to the
 * environment; time limits to the TimeLimit wrapper; scripted solutions to sim/experts/.
 */
import type { Rng } from '../rng.ts';
import { inKeepOut, MOUNT_AREA } from '../robot/robot.ts';
import type { LayoutArea } from '../robot/robot.ts';
import type { Layout, Scene } from '../scene.ts';
import type { TaskConfig } from '../scenario.ts';

export interface Evaluation {
  success: boolean;
  /** An unrecoverable failure (e.g. a block fell off the table): the episode ends. */
  fail: boolean;
  /** Progress through the task's stages (names from `stageNames`), for per-stage success rates. */
  stages: boolean[];
}

export interface TaskSpec<C extends TaskConfig = TaskConfig> {
  /** Versioned id, Gymnasium style: `StackBlocks-v1`. */
  id: C['id'];
  /** One sentence for dataset metadata (LeRobot's task string). */
  instruction(config: C): string;
  /** Number of blocks the scene holds. */
  blockCount(config: C): number;
  /** Names of the stages reported by `evaluate`. */
  stageNames(config: C): string[];
  /**
   * Samples the episode's layout; `sizes` are the block edge lengths already drawn, `area` where
   * the scene's robot reaches (default: the mount's, the whole table).
   */
  layout(rng: Rng, config: C, sizes: number[], area?: LayoutArea): Layout;
  /** Names of the task features appended after the robot's own state. */
  featureNames(config: C): string[];
  /** Indices (into `featureNames`) of features that are positions in metres: observation noise applies to them. */
  positionFeatures(config: C): number[];
  /** Writes the task features into `out` starting at `offset`. */
  observe(scene: Scene, config: C, out: Float32Array, offset: number): void;
  /** Dense reward for the state after a step, roughly in [0, 1] per step. */
  reward(scene: Scene, config: C): number;
  evaluate(scene: Scene, config: C): Evaluation;
}

/** Table area blocks may start in with the mount (m, world x/y). */
export const TABLE_AREA = { min: MOUNT_AREA.x[0], max: MOUNT_AREA.x[1] };

/**
 * Places `sizes.length` blocks on the table without overlap: each pair keeps at least
 * `gap` metres between bounding circles. Retries from scratch if the area is too tight.
 */
export function scatterBlocks(
  rng: Rng,
  sizes: number[],
  gap: number,
  area: LayoutArea = MOUNT_AREA,
): Array<{ x: number; y: number; yaw: number }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const out: Array<{ x: number; y: number; yaw: number }> = [];
    let ok = true;
    for (let i = 0; i < sizes.length && ok; i++) {
      ok = false;
      for (let tries = 0; tries < 100; tries++) {
        const x = rng.uniform(area.x[0], area.x[1]);
        const y = rng.uniform(area.y[0], area.y[1]);
        const r = (sizes[i] * Math.SQRT2) / 2;
        if (inKeepOut(area, x, y, r)) continue;
        if (out.every((o, j) => Math.hypot(o.x - x, o.y - y) >= r + (sizes[j] * Math.SQRT2) / 2 + gap)) {
          out.push({ x, y, yaw: rng.uniform(-Math.PI / 4, Math.PI / 4) });
          ok = true;
          break;
        }
      }
    }
    if (ok) return out;
  }
  throw new Error(`cannot place ${sizes.length} blocks with ${gap} m gaps in the table area`);
}

/** Where the end effector starts: near the area's home, yaw within ±`yaw`. */
export function homePose(rng: Rng, area: LayoutArea, yaw: number): Layout['gripper'] {
  const h = area.home;
  return { position: [h.x + rng.uniform(-h.spread, h.spread), h.y + rng.uniform(-h.spread, h.spread), rng.uniform(h.z[0], h.z[1])], yaw: rng.uniform(-yaw, yaw) };
}

/** Smallest rotation (rad) that takes angle a to b modulo 90° (blocks are cubes). */
export function yawDiff90(a: number, b: number): number {
  const q = Math.PI / 2;
  let d = (b - a) % q;
  if (d > q / 2) d -= q;
  if (d < -q / 2) d += q;
  return d;
}
