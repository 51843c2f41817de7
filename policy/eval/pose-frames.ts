/**
 * `simreal eval <pose model> <scenario> --frames N`: the pose estimator's error on N frames it
 * never saw, rendered from the chosen look ranges (`--looks heldout`: the disjoint held-out
 * textures, lights and camera ranges) at random steps of seeded expert episodes under the chosen
 * physics, through the camera's own calibration: mean, median and 90th percentile per block, in
 * cm, with bootstrap intervals; and the model's learning curve from its card.
 */
import type { BackendChoice, BackendName } from '../backend.ts';
import { openSavedModel } from '../saved-model.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { PolicyInputError } from '../errors.ts';
import type { PerceptionCard } from '../model-card.ts';
import { createFrameSource } from '../perception/frame-source.ts';
import { EXTRA_BLOCK_ID_BASE } from '../perception/frame-source.ts';
import type { PoseFrame } from '../perception/frame-source.ts';
import { poseEstimatorOf, toEstimate } from '../perception/estimator.ts';
import { assignEstimates, quantile, summarizeErrors } from '../perception/measure.ts';
import type { Detection } from '../perception/heatmap.ts';
import { project } from '../../sim/camera/projection.ts';
import type { Vec3 } from '../../sim/state.ts';
import { DISTRACTOR_ID_BASE } from '../../sim/render/look.ts';
import type { ErrorSummary } from '../perception/measure.ts';
import { checkCardFits } from './policies.ts';
import { DEFAULT_EVAL_SEED, evalSeeds } from './seeds.ts';
import { blockName } from '../perception/identity.ts';
import type { CameraLook } from '../../sim/render/look.ts';
import type { CameraFile } from '../../sim/camera/camera-file.ts';

export interface PoseFramesOptions {
  modelDir: string;
  scenario: Scenario;
  scenarioLabel?: string;
  frames: number;
  looks: RandomizationMode;
  /** Physics of the episodes the frames come from (default: as `looks`). */
  physics?: RandomizationMode;
  /**
   * A camera at a fixed place instead of the scenario's randomized one, its frames rectified
   * through its calibration file (a little off the truth): a robot's own camera, e.g. the
   * emulated robot's (cli/eval.ts `--reality`), as `policy run --perception` sees it.
   */
  fixedCamera?: FixedCamera;
  seed?: number;
  backend?: BackendName;
  choice?: BackendChoice;
  onFrame?: (done: number, total: number) => void;
  log?: (line: string) => void;
}

export interface FixedCamera {
  /** What it is, for the printout (e.g. "reality lab's front camera"). */
  label: string;
  pose: CameraLook;
  calibration: CameraFile;
  /** Where the calibration came from. */
  calibrationPath: string;
}

export interface PoseFramesResult {
  model: string;
  scenario: string;
  /** The fixed camera the frames come from, if any. */
  fixedCamera: { label: string; calibration: string } | null;
  looks: RandomizationMode;
  physics: RandomizationMode;
  frames: number;
  seeds: { base: number; derivation: string };
  backend: string;
  /** Every block of every frame. */
  all: ErrorSummary;
  perBlock: Array<{ block: string; summary: ErrorSummary }>;
  /** Fraction of block estimates more than 5 cm off. */
  grossMisses: number;
  /** The gross misses sorted by what went wrong (missCause). */
  missCauses: Record<string, number>;
  /** The errors by what the block was doing (situation): resting on the table, on another block, held, or in motion. */
  bySituation: Array<{ situation: Situation; summary: ErrorSummary }>;
  /**
   * The same frames with the robot's own state added, as in closed loop: a block held between
   * stalled fingers is put at the tool centre point (perceived-state.ts does this over time).
   */
  withArmState: ErrorSummary;
  /**
   * How well the blocks found (within 5 cm) are described: yaw error in degrees (folded to
   * [0°, 45°], a cube looks the same every quarter turn) and edge-length error in millimetres.
   * A state policy reads both; a grasp squared to a wrong yaw closes on the block's edges.
   */
  shape: { blocks: number; yawDeg: Spread; sizeMm: Spread };
  learningCurve: PerceptionCard['learningCurve'];
  /** Training time per 10,000 frames seen (s), from the model card. */
  secondsPer10kFrames: number | null;
  seconds: number;
}

export interface Spread {
  mean: number;
  median: number;
  p90: number;
}

function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  return { mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) || NaN, median: quantile(s, 0.5), p90: quantile(s, 0.9) };
}

/** |a − b| for cube yaws (rad), folded into [0, π/4]. */
export function cubeYawError(a: number, b: number): number {
  const q = Math.PI / 2;
  const d = Math.abs(a - b) % q;
  return Math.min(d, q - d);
}

/** An estimate this far off (m) is a gross miss. */
const GROSS = 0.05;

export type Situation = 'on the table' | 'on another block' | 'held by the gripper' | 'in motion';

/** What block b of a frame is doing, from the truth: held between the fingers, stacked, resting, or other. */
export function situation(f: PoseFrame, b: number): Situation {
  const p = f.blocks[b], s = f.sizes[b], t = f.robot.tcp;
  if (Math.hypot(p[0] - t[0], p[1] - t[1], p[2] - t[2]) < 0.03 && f.robot.width < s + 0.006) return 'held by the gripper';
  if (Math.abs(p[2] - s / 2) < 0.005) return 'on the table';
  const below = f.blocks.some((q, j) => j !== b && Math.hypot(q[0] - p[0], q[1] - p[1]) < 0.02 && Math.abs(p[2] - q[2] - (s + f.sizes[j]) / 2) < 0.006);
  return below ? 'on another block' : 'in motion';
}

/**
 * A single frame's estimates with the robot's own state: when the fingers are stalled wider than
 * commanded (holding something), the detection nearest to the tool centre point in the image
 * (within 3 cells) is the held block, placed at the tool centre point.
 */
export function withArm(f: PoseFrame, positions: Vec3[], detections: Detection[], stride: number): Vec3[] {
  const r = f.robot;
  const commanded = (0.1 * (1 - r.grip)) / 2;
  if (!(r.width > commanded + 0.003 && r.width > 0.02 && r.width < 0.08)) return positions;
  const q = project(f.camera, r.tcp);
  let best = -1, dist = 3 * stride;
  detections.forEach((d, i) => {
    const e = Math.hypot(d.u - q.u, d.v - q.v);
    if (e < dist) {
      dist = e;
      best = i;
    }
  });
  if (best < 0) return positions;
  const out = [...positions];
  out[best] = [...r.tcp];
  return out;
}

/**
 * Why block b of a frame was missed by more than GROSS, from what the camera saw (the rectified
 * segmentation): the block hidden from the camera; the estimate in the right place of the image
 * but lifted to the wrong height; or the peak on something else — the block away from its
 * centre, another block, the gripper, a distractor, the table's texture, the floor or walls.
 */
export function missCause(f: PoseFrame, b: number, d: Detection | undefined, stride: number): string {
  const seg = f.segmentation;
  const id = f.blockIds[b];
  const size = f.camera.width;
  if (seg) {
    let visible = 0;
    for (const v of seg) if (v === id) visible++;
    if (visible < 4) return 'block hidden from the camera';
  }
  if (!d) return 'no detection left for it';
  if (Math.hypot(d.u - f.pixels[b][0], d.v - f.pixels[b][1]) <= 1.5 * stride) return 'right place in the image, wrong height';
  if (!seg) return 'peak elsewhere';
  const x = Math.min(size - 1, Math.max(0, Math.floor(d.u))), y = Math.min(size - 1, Math.max(0, Math.floor(d.v)));
  const at = seg[y * size + x];
  if (at === id) return 'peak on the block, off its centre';
  if (f.blockIds.includes(at)) return 'peak on another block';
  if (gripperIds(f).has(at)) return 'peak on the gripper';
  if (at >= DISTRACTOR_ID_BASE) return 'peak on a distractor';
  if (at === 1) return 'peak on the table texture';
  return 'peak on the floor or walls';
}

/** Segmentation ids of the palm and fingers: the three ids after the scene's blocks (sim/scene.ts snapshot order). */
function gripperIds(f: PoseFrame): Set<number> {
  const last = Math.max(...f.blockIds.filter((i) => i < EXTRA_BLOCK_ID_BASE));
  return new Set([last + 1, last + 2, last + 3]);
}

function blockNames(scenario: Scenario, n: number): string[] {
  return Array.from({ length: n }, (_, i) => blockName(scenario.task, i));
}

export async function evaluatePoseFrames(o: PoseFramesOptions): Promise<PoseFramesResult> {
  const t0 = performance.now();
  if (!(Number.isInteger(o.frames) && o.frames > 0)) throw new PolicyInputError(`--frames must be a positive integer, got ${o.frames}`);
  const physics = o.physics ?? o.looks;
  const fixed = o.fixedCamera;
  const saved = await openSavedModel(o.modelDir, { backend: o.backend, choice: o.choice, log: o.log, accept: (c) => checkCardFits(c, o.scenario, o.modelDir, o.scenarioLabel ?? o.scenario.id) });
  const card = saved.card;
  try {
    const estimator = poseEstimatorOf(saved);
    const p = card.perception!;
    if (fixed && p.camera !== 'front') throw new PolicyInputError(`${o.modelDir} reads the ${p.camera} camera; a fixed camera is drawn from the front mount`);
    if (fixed && fixed.calibration.width !== fixed.calibration.height) {
      throw new PolicyInputError(`${fixed.calibrationPath} calibrates a ${fixed.calibration.width}x${fixed.calibration.height} image; measuring on its frames needs a square one`);
    }
    const source = await createFrameSource({
      scenario: o.scenario, looks: o.looks, physics, camera: p.camera as 'front', renderSize: fixed ? fixed.calibration.width : p.renderSize, view: p.view,
      framesPerEpisode: 4, dartNoise: 0.2, augment: false, labels: true, fixedCamera: fixed,
    });
    const base = o.seed ?? DEFAULT_EVAL_SEED;
    const { seeds, derivation } = evalSeeds(o.frames, base, card.dataset.seeds);
    const perFrame: number[][] = [];
    const missCauses: Record<string, number> = {};
    const situations = new Map<Situation, number[]>();
    const armErrors: number[] = [];
    const yawErrors: number[] = [], sizeErrors: number[] = [];
    try {
      const pending: PoseFrame[] = [];
      for (let i = 0; perFrame.length + pending.length < o.frames; i++) {
        pending.push(...(await source.episode(seeds[i])).slice(0, o.frames - perFrame.length - pending.length));
        while (pending.length >= 16 || (pending.length > 0 && perFrame.length + pending.length >= o.frames)) {
          const batch = pending.splice(0, 16);
          const det = estimator.detect(batch.map((f) => ({ rgb: f.rgb, camera: f.camera })));
          batch.forEach((f, k) => {
            const positions = det[k].map((d) => toEstimate(d, f.camera).position);
            const { assigned, errors } = assignEstimates(o.scenario.task, positions, f.blocks);
            perFrame.push(errors);
            armErrors.push(...assignEstimates(o.scenario.task, withArm(f, positions, det[k], p.grid.stride), f.blocks).errors);
            errors.forEach((e, b) => {
              const s = situation(f, b);
              if (!situations.has(s)) situations.set(s, []);
              situations.get(s)!.push(e);
            });
            errors.forEach((e, b) => {
              const d = det[k][assigned[b]];
              if (e > GROSS) {
                const why = missCause(f, b, d, p.grid.stride);
                missCauses[why] = (missCauses[why] ?? 0) + 1;
              } else if (d) {
                yawErrors.push((cubeYawError(d.yaw, f.yaws[b]) * 180) / Math.PI);
                sizeErrors.push(Math.abs(d.size - f.sizes[b]) * 1000);
              }
            });
          });
          o.onFrame?.(perFrame.length, o.frames);
        }
      }
    } finally {
      source.dispose();
    }
    const names = blockNames(o.scenario, perFrame[0].length);
    const all = perFrame.flat();
    const curve = p.learningCurve;
    const last = curve.at(-1);
    return {
      model: o.modelDir,
      scenario: o.scenario.id,
      fixedCamera: fixed ? { label: fixed.label, calibration: fixed.calibrationPath } : null,
      looks: o.looks,
      physics,
      frames: perFrame.length,
      seeds: { base, derivation: `${derivation}; 4 frames at random steps of each episode` },
      backend: `${saved.backend} (${saved.device})`,
      all: summarizeErrors(all),
      perBlock: names.map((block, b) => ({ block, summary: summarizeErrors(perFrame.map((f) => f[b])) })),
      grossMisses: all.filter((e) => e > GROSS).length / Math.max(1, all.length),
      missCauses: Object.fromEntries(Object.entries(missCauses).sort((a, b) => b[1] - a[1])),
      bySituation: (['on the table', 'on another block', 'held by the gripper', 'in motion'] as Situation[])
        .filter((s) => situations.has(s)).map((s) => ({ situation: s, summary: summarizeErrors(situations.get(s)!) })),
      withArmState: summarizeErrors(armErrors),
      shape: { blocks: yawErrors.length, yawDeg: spread(yawErrors), sizeMm: spread(sizeErrors) },
      learningCurve: curve,
      secondsPer10kFrames: last && last.frames > 0 ? (1e4 * last.seconds) / last.frames : null,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    saved.dispose();
  }
}

const fmtStat = (s: ErrorSummary['meanCm']): string => `${s.value.toFixed(2)} [${s.low.toFixed(2)}, ${s.high.toFixed(2)}]`;

export function formatPoseFrames(r: PoseFramesResult): string {
  const where = `${r.looks} looks, ${r.physics} physics${r.fixedCamera ? `, ${r.fixedCamera.label} (rectified through ${r.fixedCamera.calibration})` : ''}`;
  const lines = [`${r.model} on ${r.scenario}: ${r.frames} frames, ${where} (${r.backend}, ${r.seconds.toFixed(1)} s)`];
  lines.push(`seeds: ${r.seeds.derivation}`);
  lines.push('error in cm, with 95% bootstrap intervals:');
  lines.push(`  ${'block'.padEnd(13)} ${'mean'.padEnd(21)} ${'median'.padEnd(21)} p90`);
  for (const { block, summary: s } of [...r.perBlock, { block: 'all', summary: r.all }]) {
    lines.push(`  ${block.padEnd(13)} ${fmtStat(s.meanCm).padEnd(21)} ${fmtStat(s.medianCm).padEnd(21)} ${fmtStat(s.p90Cm)}`);
  }
  lines.push('by what the block was doing:');
  for (const { situation: s, summary } of r.bySituation) lines.push(`  ${s.padEnd(20)} ${String(summary.frames).padStart(5)} blocks: mean ${summary.meanCm.value.toFixed(2)}, median ${summary.medianCm.value.toFixed(2)}, p90 ${summary.p90Cm.value.toFixed(2)} cm`);
  const a = r.withArmState;
  lines.push(`with the robot's own state (a held block at the tool centre point): mean ${fmtStat(a.meanCm)}, median ${fmtStat(a.medianCm)}, p90 ${fmtStat(a.p90Cm)}`);
  const { yawDeg: y, sizeMm: z } = r.shape;
  lines.push(`the ${r.shape.blocks} blocks found within 5 cm: yaw off by mean ${y.mean.toFixed(1)}°, median ${y.median.toFixed(1)}°, p90 ${y.p90.toFixed(1)}° (of at most 45°); edge off by mean ${z.mean.toFixed(1)} mm, median ${z.median.toFixed(1)}, p90 ${z.p90.toFixed(1)}`);
  lines.push(`gross misses (> 5 cm): ${(100 * r.grossMisses).toFixed(1)}%${Object.keys(r.missCauses).length ? `: ${Object.entries(r.missCauses).map(([k, v]) => `${v} ${k}`).join(', ')}` : ''}`);
  if (r.learningCurve.length > 1) {
    lines.push(`learning curve (held-out mean cm by frames seen in training): ${r.learningCurve.map((c) => `${c.frames}: ${c.meanCm.toFixed(2)}`).join(', ')}`);
  }
  if (r.secondsPer10kFrames !== null) lines.push(`training took ${(r.secondsPer10kFrames / 60).toFixed(1)} min per 10,000 frames`);
  return lines.join('\n');
}
