/**
 * `render preview`: a contact sheet of randomized frames to look at. Frame i is episode
 * `seed + i` of the scenario, run by its scripted expert for a few steps so that the gripper is
 * mid-task, and drawn with that episode's look. Each cell shows the chosen cameras side by side,
 * and for each camera the chosen channels (RGB, depth as grey, segmentation in false colour).
 */
import { TabletopEnv } from '../env.ts';
import { EXPERTS } from '../experts/index.ts';
import type { RandomizationMode } from '../randomization.ts';
import { mix32 } from '../rng.ts';
import type { Scenario } from '../scenario.ts';
import type { SimState } from '../state.ts';
import type { CameraName } from './cameras.ts';
import { HeadlessRenderer } from './headless.ts';
import type { ViewImages, ViewRequest } from './headless.ts';
import { sampleLook, visualConfig } from './look.ts';
import { encodeRgbPng } from './png.ts';
import { SceneBuilder } from './scene-builder.ts';

export type PreviewChannel = 'rgb' | 'depth' | 'segmentation';

export interface PreviewOptions {
  scenario: Scenario;
  seed: number;
  /** Number of frames (cells). */
  n: number;
  /** Edge of one view in pixels. Default 128. */
  size?: number;
  cameras?: CameraName[];
  channels?: PreviewChannel[];
  randomization?: RandomizationMode;
  /** Control steps the expert runs before the frame: cycles through this many (default 60). */
  maxSteps?: number;
}

export interface Preview {
  png: Uint8Array;
  width: number;
  height: number;
  /** The seeds of the frames, in sheet order. */
  seeds: number[];
  adapter: string;
}

const GUTTER = 2;

/** The state of episode `seed` after `steps` expert steps (or earlier if it ends). */
export function expertState(scenario: Scenario, seed: number, steps: number, randomization: RandomizationMode = 'train'): SimState {
  const env = new TabletopEnv(scenario, { randomization });
  env.reset({ seed });
  const expert = EXPERTS[scenario.task.id](env);
  for (let i = 0; i < steps; i++) {
    const r = env.step(expert.act());
    if (r.terminated || r.truncated) break;
  }
  return env.scene.snapshot();
}

function falseColor(id: number): [number, number, number] {
  if (id === 0) return [0, 0, 0];
  const h = mix32(id * 2654435761);
  return [64 + (h & 191), 64 + ((h >>> 8) & 191), 64 + ((h >>> 16) & 191)];
}

function channelRgb(v: ViewImages, ch: PreviewChannel, n: number): Uint8Array {
  if (ch === 'rgb') return v.rgb as Uint8Array;
  const out = new Uint8Array(n * 3);
  if (ch === 'depth') {
    const d = v.depth as Float32Array;
    let lo = Infinity, hi = 0;
    for (let i = 0; i < n; i++) {
      if (d[i] > 0) {
        lo = Math.min(lo, d[i]);
        hi = Math.max(hi, d[i]);
      }
    }
    // Near is bright; the log scale keeps the table readable in front of a far room.
    const a = Math.log(lo), b = Math.log(Math.max(hi, lo * 1.001));
    for (let i = 0; i < n; i++) {
      const g = d[i] > 0 ? Math.round(255 * (1 - (Math.log(d[i]) - a) / (b - a))) : 0;
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = g;
    }
  } else {
    const s = v.segmentation as Uint16Array;
    for (let i = 0; i < n; i++) {
      const c = falseColor(s[i]);
      out[i * 3] = c[0];
      out[i * 3 + 1] = c[1];
      out[i * 3 + 2] = c[2];
    }
  }
  return out;
}

export async function renderPreview(o: PreviewOptions): Promise<Preview> {
  const size = o.size ?? 128;
  const cameras = o.cameras ?? ['front'];
  const channels = o.channels ?? ['rgb'];
  const mode = o.randomization ?? 'train';
  const maxSteps = o.maxSteps ?? 60;
  const labels = channels.some((c) => c !== 'rgb');
  const perCell = cameras.length * channels.length;
  const renderer = await HeadlessRenderer.create({ width: size, height: size, tiles: cameras.length, labels });
  const builder = renderer.createBuilder();
  const cols = Math.ceil(Math.sqrt(o.n));
  const rows = Math.ceil(o.n / cols);
  const cellW = perCell * size + (perCell - 1) * GUTTER;
  const width = cols * cellW + (cols + 1) * GUTTER * 2;
  const height = rows * size + (rows + 1) * GUTTER * 2;
  const sheet = new Uint8Array(width * height * 3).fill(24);
  const seeds: number[] = [];
  try {
    for (let i = 0; i < o.n; i++) {
      const seed = (o.seed + i) >>> 0;
      seeds.push(seed);
      // Steps spread over the episode: some near the start, some mid-grasp or mid-stack.
      const steps = Math.floor(((i * 0.618034) % 1) * maxSteps);
      const state = expertState(o.scenario, seed, steps, mode);
      builder.setLook(sampleLook(visualConfig(o.scenario.visual), mode, seed, state.bodies.map((b) => b.name)));
      const views: ViewRequest[] = cameras.map((camera, k) => ({ builder, camera, state: k === 0 ? state : undefined, noiseSeed: mix32(seed + k) }));
      const images = await renderer.render(views, { depth: channels.includes('depth'), segmentation: channels.includes('segmentation') });
      const cx = GUTTER * 2 + (i % cols) * (cellW + GUTTER * 2);
      const cy = GUTTER * 2 + Math.floor(i / cols) * (size + GUTTER * 2);
      let slot = 0;
      for (const v of images) {
        for (const ch of channels) {
          const src = channelRgb(v, ch, size * size);
          const x0 = cx + slot * (size + GUTTER);
          for (let r = 0; r < size; r++) sheet.set(src.subarray(r * size * 3, (r + 1) * size * 3), ((cy + r) * width + x0) * 3);
          slot++;
        }
      }
    }
  } finally {
    builder.dispose();
    renderer.dispose();
  }
  return { png: encodeRgbPng(sheet, width, height), width, height, seeds, adapter: renderer.adapter.description };
}
