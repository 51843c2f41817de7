/**
 * FrameSet: the frames a model learns from, held in memory as flat typed arrays, whatever the
 * source (a LeRobot dataset, a JSON-lines dataset, episodes generated in-process). Training code
 * reads only this, so a data source is swapped by writing one loader.
 *
 * Frame f holds the observation before the action (`state`, named by `stateNames`), the expert's
 * label (`action`), optionally the true block poses (`blockPoses`: per block x, y, z, qx, qy, qz,
 * qw in the world frame, which is the table frame: origin at the table top's centre, z up) and
 * one camera's RGB frame (`images`, decoded, H × W × 3 uint8).
 */
import type { Scenario } from '../../sim/scenario.ts';
import { PolicyInputError } from '../errors.ts';

export interface FrameEpisode {
  /** Episode index in its source. */
  index: number;
  /** The seed it was generated from (null when the source does not say). */
  seed: number | null;
  success: boolean | null;
  dartNoise: number | null;
  /** First frame in the FrameSet and number of frames kept. */
  start: number;
  length: number;
}

export interface FrameImages {
  /** Dataset feature key, e.g. observation.images.front. */
  key: string;
  camera: string;
  width: number;
  height: number;
  /** frames × height × width × 3, uint8 RGB. */
  data: Uint8Array;
}

export interface FrameSource {
  /** Path(s) the frames came from, or a description for in-process data. */
  path: string;
  format: 'lerobot' | 'jsonl' | 'memory';
  fps: number | null;
  scenario: Scenario | null;
  randomization: string | null;
}

export interface FrameSet {
  source: FrameSource;
  stateNames: string[];
  actionNames: string[];
  blockCount: number;
  frames: number;
  /** frames × stateNames.length */
  state: Float32Array;
  /** frames × actionNames.length */
  action: Float32Array;
  /** frames × blockCount × 7, or null when the source has no poses. */
  blockPoses: Float32Array | null;
  images: FrameImages | null;
  episodes: FrameEpisode[];
}

/** Throws if any state, action or pose value is NaN or infinite, naming the feature and frame. */
export function checkFinite(set: FrameSet): void {
  const check = (name: string, a: Float32Array, width: number, names?: string[]): void => {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i])) {
        const frame = Math.floor(i / width);
        const ep = set.episodes.find((e) => frame >= e.start && frame < e.start + e.length);
        const what = names ? `${name} (${names[i % width]})` : name;
        throw new PolicyInputError(`${set.source.path}: ${what} is ${a[i]} at frame ${frame - (ep?.start ?? 0)} of episode ${ep?.index ?? '?'}; the dataset holds non-finite values and cannot be trained on`);
      }
    }
  };
  check('observation.state', set.state, set.stateNames.length, set.stateNames);
  check('action', set.action, set.actionNames.length, set.actionNames);
  if (set.blockPoses) check('sim.block_poses', set.blockPoses, set.blockCount * 7);
}

/** Concatenates frame sets that share state and action names (e.g. clean and DART-noised datasets). */
export function concatFrameSets(sets: FrameSet[]): FrameSet {
  if (sets.length === 1) return sets[0];
  const first = sets[0];
  for (const s of sets.slice(1)) {
    if (s.stateNames.join() !== first.stateNames.join()) {
      throw new PolicyInputError(`${s.source.path} observes ${s.stateNames.length} features (${s.stateNames.slice(0, 4).join(', ')}, …) but ${first.source.path} observes ${first.stateNames.length}: datasets trained together must come from the same scenario`);
    }
    if (s.blockCount !== first.blockCount) throw new PolicyInputError(`${s.source.path} has ${s.blockCount} blocks, ${first.source.path} has ${first.blockCount}`);
    if (!!s.blockPoses !== !!first.blockPoses) throw new PolicyInputError(`${s.source.path} and ${first.source.path} differ in whether they hold block poses`);
    if (!!s.images !== !!first.images || (s.images && first.images && (s.images.width !== first.images.width || s.images.height !== first.images.height || s.images.key !== first.images.key))) {
      throw new PolicyInputError(`${s.source.path} and ${first.source.path} hold different images (${describeImages(s)} vs ${describeImages(first)})`);
    }
  }
  const frames = sets.reduce((n, s) => n + s.frames, 0);
  const cat = <T extends Float32Array | Uint8Array>(parts: T[], make: (n: number) => T): T => {
    const out = make(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const episodes: FrameEpisode[] = [];
  let offset = 0;
  for (const s of sets) {
    for (const e of s.episodes) episodes.push({ ...e, start: e.start + offset });
    offset += s.frames;
  }
  const rand = new Set(sets.map((s) => s.source.randomization));
  return {
    source: {
      path: sets.map((s) => s.source.path).join(','),
      format: first.source.format,
      fps: first.source.fps,
      scenario: first.source.scenario,
      randomization: rand.size === 1 ? first.source.randomization : [...rand].join('+'),
    },
    stateNames: first.stateNames,
    actionNames: first.actionNames,
    blockCount: first.blockCount,
    frames,
    state: cat(sets.map((s) => s.state), (n) => new Float32Array(n)),
    action: cat(sets.map((s) => s.action), (n) => new Float32Array(n)),
    blockPoses: first.blockPoses ? cat(sets.map((s) => s.blockPoses as Float32Array), (n) => new Float32Array(n)) : null,
    images: first.images ? { ...first.images, data: cat(sets.map((s) => (s.images as FrameImages).data), (n) => new Uint8Array(n)) } : null,
    episodes,
  };
}

function describeImages(s: FrameSet): string {
  return s.images ? `${s.images.key} ${s.images.width}x${s.images.height}` : 'no images';
}
