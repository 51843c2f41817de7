/**
 * Dataset writing benchmark: frames/s through the LeRobot sink with one 128×128 camera, and the
 * peak resident memory of a process writing a dataset at two sizes (it should not grow with the
 * dataset). Each measurement runs in its own child process so peak memory is that run's alone.
 *
 * The frames are synthetic: 128×128 RGB PNGs of smooth gradients plus noise, about 40 KB each,
 * standing in for rendered frames (encoded once before timing, reused in turn); episodes of 100
 * frames of a stack-2 layout (29-dim state).
 *
 * Camera storage, PNG against MP4 (`cameraFormats`): the same 128×128 episodes, in which a block
 * moves across a fixed gradient with fresh sensor noise every frame (consecutive frames related,
 * as rendered episodes are), are written once as PNG and once as AV1 video (h264 too), then every
 * frame is read back to RGB; bytes per frame, write and read frames/s. Run:
 *
 *   npx node sim/dataset/bench.ts [--frames 50000]      # prints one JSON object on its last line
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EpisodeRecord } from '../episode.ts';
import type { GenerationMeta } from '../generate/sink.ts';
import { Rng } from '../rng.ts';
import { loadScenario } from '../scenario.ts';
import { LeRobotSink } from './lerobot-sink.ts';
import { encodePngRgb } from './png.ts';
import { DatasetReader } from './reader.ts';
import { ffmpegAvailable, psnr } from './video.ts';
import type { VideoCodec } from './video.ts';

const EPISODE_FRAMES = 100;
const SIZE = 128;
const OBS = 29;
const BLOCKS = 2;

/** Distinct 128×128 PNGs of about 30 KB (gradient, shapes and sensor-like noise). */
export function syntheticFrames(count: number, seed = 1): Uint8Array[] {
  const rng = new Rng(seed);
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const px = new Uint8Array(SIZE * SIZE * 3);
    const base = [rng.int(40, 200), rng.int(40, 200), rng.int(40, 200)];
    const bx = rng.int(20, 100), by = rng.int(20, 100);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const inBlock = Math.abs(x - bx) < 12 && Math.abs(y - by) < 12;
        for (let c = 0; c < 3; c++) {
          const v = (inBlock ? 255 - base[c] : base[c] + (x + y) / 4) + rng.normal(0, 4);
          px[(y * SIZE + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
    out.push(encodePngRgb(SIZE, SIZE, px));
  }
  return out;
}

/**
 * `episodes` episodes of EPISODE_FRAMES raw 128×128 RGB frames each: a block moving across a
 * gradient fixed per episode, plus fresh sensor noise (σ = 4) in every frame.
 */
export function syntheticSequences(episodes: number, seed = 1): Uint8Array[][] {
  const rng = new Rng(seed);
  const out: Uint8Array[][] = [];
  for (let e = 0; e < episodes; e++) {
    const base = [rng.int(40, 200), rng.int(40, 200), rng.int(40, 200)];
    const [x0, y0, x1, y1] = [rng.int(16, 112), rng.int(16, 112), rng.int(16, 112), rng.int(16, 112)];
    const frames: Uint8Array[] = [];
    for (let t = 0; t < EPISODE_FRAMES; t++) {
      const bx = x0 + ((x1 - x0) * t) / EPISODE_FRAMES, by = y0 + ((y1 - y0) * t) / EPISODE_FRAMES;
      const px = new Uint8Array(SIZE * SIZE * 3);
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          const inBlock = Math.abs(x - bx) < 12 && Math.abs(y - by) < 12;
          for (let c = 0; c < 3; c++) {
            const v = (inBlock ? 255 - base[c] : base[c] + (x + y) / 4) + rng.normal(0, 4);
            px[(y * SIZE + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
          }
        }
      }
      frames.push(px);
    }
    out.push(frames);
  }
  return out;
}

export function syntheticEpisode(index: number, frames: Uint8Array[] | null, rng: Rng): EpisodeRecord {
  const T = EPISODE_FRAMES;
  const fill = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  const done = new Uint8Array(T);
  done[T - 1] = 1;
  const record: EpisodeRecord = {
    index,
    seed: index,
    scenario: 'stack-2',
    task: 'StackBlocks-v1',
    instruction: 'Stack the 2 blocks into one tower, each on the previous one.',
    fps: 20,
    reset: {
      seed: index,
      randomization: 'train',
      physics: {
        blockSize: [0.05, 0.05], blockMass: [0.1, 0.1], tableFriction: rng.uniform(0.6, 1), objectFriction: 0.8, fingerFriction: 0.8,
        restitution: 0, linearDamping: 0.01, angularDamping: 0.01, gripperGain: 20, gripForce: 12, actionLatency: 0, actionNoise: 0,
        observationNoise: 0, controlJitter: 0, gravity: [0, 0, -9.81],
      },
      layout: { blocks: [], gripper: { position: [0, 0, 0.2], yaw: 0 }, goals: [] },
      evaluation: { success: false, fail: false, stages: [false] },
    } as unknown as EpisodeRecord['reset'],
    success: rng.bool(0.9),
    fail: false,
    stagesReached: [true],
    stageNames: ['block1_on_block0'],
    length: T,
    dartNoise: 0,
    observationNames: Array.from({ length: OBS }, (_, i) => `s${i}`),
    observation: fill(T * OBS),
    action: fill(T * 5),
    executedAction: fill(T * 5),
    reward: fill(T),
    done,
    successAfter: new Uint8Array(T),
    blockPoses: fill(T * BLOCKS * 7),
  };
  if (frames) record.extras = { images: { front: Array.from({ length: T }, (_, t) => frames[(index * T + t) % frames.length]) } };
  return record;
}

interface ChildResult {
  frames: number;
  images: boolean;
  seconds: number;
  framesPerSecond: number;
  /** Resident memory once the modules are loaded and the frame pool is encoded, before writing. */
  setupRssMB: number;
  /** Peak resident memory of the process, up to the end of writing. */
  peakRssMB: number;
  datasetMB: number;
  dataFiles: number;
}

/** Writes `frames` frames into a fresh dataset in this process; returns timing and peak memory. */
export async function writeBench(frames: number, images: boolean, dir: string): Promise<ChildResult> {
  const pool = images ? syntheticFrames(256) : null;
  const scenario = loadScenario(fileURLToPath(new URL('../../scenarios/stack-2.json', import.meta.url)));
  const episodes = Math.ceil(frames / EPISODE_FRAMES);
  const meta: GenerationMeta = {
    scenario, randomization: 'train', baseSeed: 0, dartNoise: 0, firstIndex: 0, episodes,
    cameras: images ? { names: ['front'], width: SIZE, height: SIZE } : undefined,
  };
  const sink = await LeRobotSink.open(dir, meta, false);
  const rng = new Rng(7);
  const setupRssMB = Math.round(process.memoryUsage().rss / (1024 * 1024));
  const start = performance.now();
  for (let i = 0; i < episodes; i++) await sink.write(syntheticEpisode(i, pool, rng));
  await sink.close();
  const seconds = (performance.now() - start) / 1000;
  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  const { bytes, dataFiles } = await import('./summary.ts').then(async (m) => {
    const s = await m.summarize(dir);
    return { bytes: s.bytes, dataFiles: s.dataFiles };
  });
  return {
    frames: episodes * EPISODE_FRAMES,
    images,
    seconds: Number(seconds.toFixed(3)),
    framesPerSecond: Math.round((episodes * EPISODE_FRAMES) / seconds),
    setupRssMB,
    peakRssMB,
    datasetMB: Math.round(bytes / (1024 * 1024)),
    dataFiles,
  };
}

export interface CameraFormatResult {
  format: 'png' | VideoCodec;
  frames: number;
  bytesPerFrame: number;
  writeFramesPerSecond: number;
  readFramesPerSecond: number;
  /** PSNR of the frames read back against the ones written, dB (min over sampled frames; Infinity for PNG). */
  psnrMinDb: number;
  psnrMeanDb: number;
}

const SEQUENCE_POOL = 4;

/** Writes `frames` frames of synthetic sequences as PNG or video, reads every frame back; in this process. */
export async function cameraFormatBench(frames: number, format: 'png' | VideoCodec, dir: string): Promise<CameraFormatResult> {
  const sequences = syntheticSequences(SEQUENCE_POOL, 3);
  const pngs = format === 'png' ? sequences.map((seq) => seq.map((px) => encodePngRgb(SIZE, SIZE, px))) : null;
  const scenario = loadScenario(fileURLToPath(new URL('../../scenarios/stack-2.json', import.meta.url)));
  const episodes = Math.ceil(frames / EPISODE_FRAMES);
  const meta: GenerationMeta = {
    scenario, randomization: 'train', baseSeed: 0, dartNoise: 0, firstIndex: 0, episodes,
    cameras: { names: ['front'], width: SIZE, height: SIZE, format: format === 'png' ? 'png' : 'video', ...(format === 'png' ? {} : { codec: format }) },
  };
  const sink = await LeRobotSink.open(dir, meta, false);
  const rng = new Rng(7);
  const start = performance.now();
  for (let i = 0; i < episodes; i++) {
    const ep = syntheticEpisode(i, null, rng);
    ep.extras = { images: { front: (pngs ?? sequences)[i % SEQUENCE_POOL] } };
    await sink.write(ep);
  }
  await sink.close();
  const writeSeconds = (performance.now() - start) / 1000;
  const bytes = (await import('./summary.ts').then((m) => m.summarize(dir))).bytes;
  const reader = await DatasetReader.open(dir);
  const psnrs: number[] = [];
  const readStart = performance.now();
  for (const e of reader.episodes) {
    const got = await reader.readFrames(e, 'observation.images.front');
    const want = sequences[e.index % SEQUENCE_POOL];
    for (let t = 0; t < got.length; t += 17) psnrs.push(psnr(got[t], want[t]));
  }
  const readSeconds = (performance.now() - readStart) / 1000;
  await reader.close();
  const n = episodes * EPISODE_FRAMES;
  const finite = psnrs.filter(Number.isFinite);
  return {
    format,
    frames: n,
    bytesPerFrame: Math.round(bytes / n),
    writeFramesPerSecond: Math.round(n / writeSeconds),
    readFramesPerSecond: Math.round(n / readSeconds),
    psnrMinDb: finite.length === psnrs.length ? Number(Math.min(...psnrs).toFixed(2)) : Infinity,
    psnrMeanDb: finite.length === psnrs.length ? Number((psnrs.reduce((a, b) => a + b, 0) / psnrs.length).toFixed(2)) : Infinity,
  };
}

function child(frames: number, images: boolean | 'png' | VideoCodec): ChildResult {
  const dir = mkdtempSync(join(tmpdir(), 'simreal-bench-dataset-'));
  try {
    const mode = images === true ? 'images' : images === false ? 'state' : `camera-${images}`;
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', String(frames), mode, dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`benchmark child failed (${r.status}):\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as ChildResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface DatasetBenchResult {
  bench: 'dataset';
  note: string;
  /** PNG vs MP4 for the same camera frames (absent without ffmpeg). */
  cameraFormats: CameraFormatResult[] | { skipped: string };
  pngBytesMean: number;
  throughputImages: ChildResult;
  throughputState: ChildResult;
  memorySmall: ChildResult;
  memoryLarge: ChildResult;
  memoryGrowthMB: number;
}

export async function runDatasetBench(options: { frames?: number; cameraFrames?: number; log?: (line: string) => void } = {}): Promise<DatasetBenchResult> {
  const large = options.frames ?? 50_000;
  const log = options.log ?? (() => {});
  const pool = syntheticFrames(32);
  const pngBytesMean = Math.round(pool.reduce((a, p) => a + p.length, 0) / pool.length);
  log(`synthetic 128x128 PNG frames: ${pngBytesMean} bytes on average`);
  let cameraFormats: DatasetBenchResult['cameraFormats'];
  if (ffmpegAvailable()) {
    cameraFormats = [];
    for (const format of ['png', 'av1', 'h264'] as const) {
      const r = child(options.cameraFrames ?? 3_000, format) as unknown as CameraFormatResult;
      cameraFormats.push(r);
      log(`camera as ${format}: ${r.bytesPerFrame} bytes/frame, write ${r.writeFramesPerSecond} frames/s, read ${r.readFramesPerSecond} frames/s, PSNR min ${r.psnrMinDb} dB`);
    }
  } else {
    cameraFormats = { skipped: 'ffmpeg is not installed (apt-get install ffmpeg)' };
    log(`camera formats: skipped, ${cameraFormats.skipped}`);
  }
  const throughputImages = child(5_000, true);
  log(`write with one 128x128 camera: ${throughputImages.framesPerSecond} frames/s`);
  const throughputState = child(20_000, false);
  log(`write, state only: ${throughputState.framesPerSecond} frames/s`);
  const memorySmall = child(Math.max(1000, Math.round(large / 5)), true);
  log(`peak RSS writing ${memorySmall.frames} frames with images: ${memorySmall.peakRssMB} MB`);
  const memoryLarge = child(large, true);
  log(`peak RSS writing ${memoryLarge.frames} frames with images: ${memoryLarge.peakRssMB} MB (${memoryLarge.datasetMB} MB dataset)`);
  return {
    bench: 'dataset',
    note: `synthetic 128x128 PNG frames (${Math.round(pngBytesMean / 1024)} KB on average, standing in for rendered frames), episodes of 100 frames, each run in its own process; cameraFormats: the same moving-block episodes with sensor noise as PNG and as MP4 (written, then every frame read back to RGB)`,
    cameraFormats,
    pngBytesMean,
    throughputImages,
    throughputState,
    memorySmall,
    memoryLarge,
    memoryGrowthMB: memoryLarge.peakRssMB - memorySmall.peakRssMB,
  };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const r = args[2].startsWith('camera-')
      ? await cameraFormatBench(Number(args[1]), args[2].slice(7) as 'png' | VideoCodec, args[3])
      : await writeBench(Number(args[1]), args[2] === 'images', args[3]);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    const i = args.indexOf('--frames');
    const frames = i >= 0 ? Number(args[i + 1]) : 50_000;
    const result = await runDatasetBench({ frames, log: (l) => process.stderr.write(`${l}\n`) });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}
