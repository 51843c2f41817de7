/**
 * Camera frames as MP4 (LeRobot v3's video layout): several episodes per file, the episode ↔
 * time-range mapping exact at every episode boundary, decoded frames close to the written ones,
 * `--verify` checks of the video files, resume after a crash, merge by copying files, training
 * reads them back, and a clear refusal without ffmpeg.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticEpisode } from '../../sim/dataset/bench.ts';
import { simrealFeatures, videoFilePath } from '../../sim/dataset/format.ts';
import type { Feature } from '../../sim/dataset/format.ts';
import { LeRobotSink } from '../../sim/dataset/lerobot-sink.ts';
import { mergeDatasets } from '../../sim/dataset/merge.ts';
import { readEpisodesTable, readInfo } from '../../sim/dataset/meta.ts';
import { DatasetReader } from '../../sim/dataset/reader.ts';
import { verifyDataset } from '../../sim/dataset/verify.ts';
import { decodeVideoFrames, probeVideo, psnr } from '../../sim/dataset/video.ts';
import { needs } from '../system-packages.ts';
import type { VideoCodec } from '../../sim/dataset/video.ts';
import { DatasetWriter } from '../../sim/dataset/writer.ts';
import type { EpisodeFrames } from '../../sim/dataset/writer.ts';
import { loadFrames } from '../../policy/data/load.ts';
import { Rng } from '../../sim/rng.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { runCli } from '../cli/run-cli.ts';
import { REPO, tempDir } from './helpers.ts';


const tmp = tempDir('simreal-video-');
afterAll(() => tmp.cleanup());

const SIZE = 64;
const FPS = 20;
const KEY = 'observation.images.front';

/** Solid colours, far apart for neighbouring indices, so an off-by-one frame is obvious. */
function colour(i: number): [number, number, number] {
  return [(i * 67 + 20) % 256, (i * 131 + 50) % 256, (i * 197 + 100) % 256];
}
function solid(i: number): Uint8Array {
  const [r, g, b] = colour(i);
  const px = new Uint8Array(SIZE * SIZE * 3);
  for (let p = 0; p < px.length; p += 3) {
    px[p] = r;
    px[p + 1] = g;
    px[p + 2] = b;
  }
  return px;
}
/** The palette index whose colour is nearest the frame's mean colour (of candidates 0..n-1). */
function whichColour(frame: Uint8Array, n: number): number {
  const mean = [0, 0, 0];
  for (let p = 0; p < frame.length; p += 3) for (let c = 0; c < 3; c++) mean[c] += frame[p + c];
  for (let c = 0; c < 3; c++) mean[c] /= frame.length / 3;
  let best = -1, bestD = Infinity;
  for (let i = 0; i < n; i++) {
    const col = colour(i);
    const d = (col[0] - mean[0]) ** 2 + (col[1] - mean[1]) ** 2 + (col[2] - mean[2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

function videoFeatures(codec: VideoCodec = 'av1'): Record<string, Feature> {
  return simrealFeatures({ observationNames: ['a', 'b'], blockCount: 1, cameras: { names: ['front'], width: SIZE, height: SIZE, format: 'video', codec } });
}

/** An episode of `length` frames whose camera shows colour(first + t) at frame t. */
function episode(first: number, length: number): EpisodeFrames {
  const v = (w: number): Float32Array => Float32Array.from({ length: length * w }, (_, i) => (first + i) % 7);
  return {
    length,
    columns: { 'observation.state': v(2), action: v(5), 'next.reward': v(1), 'next.done': new Float32Array(length), 'next.success': new Float32Array(length), 'sim.executed_action': v(5), 'sim.block_poses': v(7) },
    images: { [KEY]: Array.from({ length }, (_, t) => solid(first + t)) },
  };
}

describe('video datasets', needs('ffmpeg'), () => {
  const LENGTHS = [7, 13, 1, 10, 5];

  it('keeps several episodes in one MP4 with frame-exact from/to timestamps at every boundary', async () => {
    const dir = join(tmp.dir, 'one-file');
    const w = DatasetWriter.create(dir, FPS, videoFeatures(), { commitIntervalMs: Infinity });
    let first = 0;
    for (const n of LENGTHS) {
      await w.append({ frames: episode(first, n), task: 'stack' });
      first += n;
    }
    await w.close();
    const total = first;
    const info = readInfo(dir);
    expect(info.video_path).toBe('videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4');
    expect(info.features[KEY]).toMatchObject({ dtype: 'video', shape: [SIZE, SIZE, 3], info: { 'video.codec': 'av1', 'video.pix_fmt': 'yuv420p', 'video.fps': FPS, 'video.is_depth_map': false, has_audio: false } });
    const rows = await readEpisodesTable(dir, 'meta/episodes/chunk-000/file-000.parquet');
    // One file; each episode starts where the previous ended (LeRobot's convention), to = from + length/fps.
    let start = 0;
    rows.forEach((r, e) => {
      expect(r.videos![KEY]).toEqual({ chunk: 0, file: 0, from: start / FPS, to: (start + LENGTHS[e]) / FPS });
      start += LENGTHS[e];
    });
    const file = join(dir, videoFilePath(info, KEY, 0, 0));
    const probe = probeVideo(file);
    expect(probe).toMatchObject({ codec: 'av1', pixFmt: 'yuv420p', width: SIZE, height: SIZE, fps: FPS, frames: total });

    const reader = await DatasetReader.open(dir);
    for (const e of reader.episodes) {
      const frames = await reader.readFrames(e, KEY);
      expect(frames).toHaveLength(e.length);
      // Each decoded frame is the one written for its global index: first and last of every episode included.
      frames.forEach((f, t) => expect(whichColour(f, total), `episode ${e.index} frame ${t}`).toBe(e.from + t));
      for (const f of frames.map((fr, t) => psnr(fr, solid(e.from + t)))) expect(f).toBeGreaterThan(35);
    }
    // LeRobot's own lookup: the frame nearest from_timestamp + t/fps, here at each side of every boundary.
    for (const e of reader.episodes) {
      const seg = e.videos[KEY];
      for (const t of [0, e.length - 1]) {
        const [f] = await decodeVideoFrames(file, { fromTimestamp: seg.from + t / FPS, count: 1, width: SIZE, height: SIZE, fps: FPS });
        expect(whichColour(f, total), `episode ${e.index}, t ${t}`).toBe(e.from + t);
      }
    }
    await reader.close();
    const report = await verifyDataset(dir);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  }, 60_000);

  it('starts a new file at each commit, its episodes from 0 s; h264 works the same', async () => {
    const dir = join(tmp.dir, 'two-files');
    let now = 0;
    const w = DatasetWriter.create(dir, FPS, videoFeatures('h264'), { commitIntervalMs: 10, now: () => now });
    let first = 0;
    for (const n of LENGTHS) {
      await w.append({ frames: episode(first, n), task: 'stack' });
      first += n;
      if (first === 7) now += 100; // the interval passes during the second episode: commit after it
    }
    await w.close();
    const reader = await DatasetReader.open(dir);
    expect(reader.episodes.map((e) => e.videos[KEY].file.endsWith('file-000.mp4') ? 0 : 1)).toEqual([0, 0, 1, 1, 1]);
    expect(reader.episodes[2].videos[KEY].from).toBe(0);
    for (const e of reader.episodes) (await reader.readFrames(e, KEY)).forEach((f, t) => expect(whichColour(f, first)).toBe(e.from + t));
    await reader.close();
    expect(probeVideo(join(dir, reader.episodes[2].videos[KEY].file)).codec).toBe('h264');
    expect((await verifyDataset(dir)).ok).toBe(true);
  }, 60_000);

  it('--verify names a truncated, a missing and a stray video file', async () => {
    const dir = join(tmp.dir, 'broken');
    const w = DatasetWriter.create(dir, FPS, videoFeatures(), { commitIntervalMs: Infinity });
    for (let i = 0; i < 3; i++) await w.append({ frames: episode(i * 10, 10), task: 'stack' });
    await w.close();
    const file = join(dir, 'videos', KEY, 'chunk-000', 'file-000.mp4');
    const bytes = readFileSync(file);
    copyFileSync(file, join(dir, 'videos', KEY, 'chunk-000', 'file-007.mp4'));
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    let r = await verifyDataset(dir);
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/file-007\.mp4: no episode refers to this video file/);
    expect(r.problems.join('\n')).toMatch(/file-000\.mp4: (not a readable video|holds \d+ frames, but its episodes reach frame 30)/);
    truncateSync(file, 0);
    const { rmSync } = await import('node:fs');
    rmSync(file);
    r = await verifyDataset(dir);
    expect(r.problems.join('\n')).toMatch(/file-000\.mp4: missing, but episodes 0\.\.2 are stored in it/);
  }, 60_000);

  it('resume removes an unfinished video and a stray one, and continues in a new file', async () => {
    const dir = join(tmp.dir, 'resume');
    const w = DatasetWriter.create(dir, FPS, videoFeatures(), { commitIntervalMs: Infinity });
    await w.append({ frames: episode(0, 8), task: 'stack' });
    await w.close();
    const folder = join(dir, 'videos', KEY, 'chunk-000');
    writeFileSync(join(folder, 'file-001.mp4.tmp'), 'half a video');
    copyFileSync(join(folder, 'file-000.mp4'), join(folder, 'file-001.mp4')); // an interrupted commit
    const { writer, recovery } = await DatasetWriter.resume(dir, { commitIntervalMs: Infinity });
    expect(recovery.removedTemp).toContain(`videos/${KEY}/chunk-000/file-001.mp4.tmp`);
    expect(recovery.removedOrphans).toContain(`videos/${KEY}/chunk-000/file-001.mp4`);
    await writer.append({ frames: episode(8, 6), task: 'stack' });
    await writer.close();
    const reader = await DatasetReader.open(dir);
    expect(reader.episodes[1].videos[KEY]).toMatchObject({ file: `videos/${KEY}/chunk-000/file-001.mp4`, from: 0, to: 6 / FPS });
    for (const e of reader.episodes) (await reader.readFrames(e, KEY)).forEach((f, t) => expect(whichColour(f, 14)).toBe(e.from + t));
    await reader.close();
    expect((await verifyDataset(dir)).ok).toBe(true);
  }, 60_000);

  it('merge copies the video files (no second encoding) and keeps every frame in place; training reads the frames', async () => {
    const scenario = loadScenario(join(REPO, 'scenarios/stack-2.json'));
    const shards: string[] = [];
    const written: Uint8Array[][] = [];
    for (let s = 0; s < 2; s++) {
      const dir = join(tmp.dir, `shard-${s}`);
      const sink = await LeRobotSink.open(dir, {
        scenario, randomization: 'train', baseSeed: 0, dartNoise: 0, firstIndex: s * 2, episodes: 2, shard: { index: s, count: 2 },
        cameras: { names: ['front'], width: SIZE, height: SIZE, format: 'video', codec: 'av1' },
      }, false);
      const rng = new Rng(s);
      for (let i = 0; i < 2; i++) {
        const ep = syntheticEpisode(s * 2 + i, null, rng);
        const frames = Array.from({ length: ep.length }, (_, t) => solid((s * 2 + i) * 100 + t));
        ep.extras = { images: { front: frames } };
        written.push(frames);
        await sink.write(ep);
      }
      await sink.close();
      shards.push(dir);
    }
    const out = join(tmp.dir, 'merged');
    const r = await mergeDatasets(shards, out);
    expect(r.episodes).toBe(4);
    const original = readFileSync(join(shards[1], 'videos', KEY, 'chunk-000', 'file-000.mp4'));
    expect(readFileSync(join(out, 'videos', KEY, 'chunk-000', 'file-001.mp4')).equals(original)).toBe(true);
    expect((await verifyDataset(out)).problems).toEqual([]);
    const reader = await DatasetReader.open(out);
    for (const e of reader.episodes) {
      const frames = await reader.readFrames(e, KEY);
      for (const t of [0, e.length - 1]) expect(psnr(frames[t], written[e.index][t])).toBeGreaterThan(35);
    }
    await reader.close();
    // The trainers' loader decodes the MP4 frames it picks.
    const set = await loadFrames(out, { purpose: 'the pose estimator', camera: 'front', framesPerEpisode: 5, seed: 1 });
    expect(set.images).toMatchObject({ key: KEY, width: SIZE, height: SIZE });
    expect(set.frames).toBe(20);
    const px = SIZE * SIZE * 3;
    for (let f = 0; f < set.frames; f++) {
      const ep = set.episodes.find((e) => f >= e.start && f < e.start + e.length)!;
      const frame = set.images!.data.subarray(f * px, (f + 1) * px);
      // The frame's colour says which global frame it is; it must be one of its own episode.
      const idx = whichColourOf(frame, ep.index);
      expect(psnr(frame, solid(idx))).toBeGreaterThan(35);
    }
  }, 120_000);
});

describe('rendered frames through video', needs('ffmpeg', 'webgpu'), () => {
  it('decode within 22 dB PSNR (RGB) of the rendered PNGs, median above 24 dB, at a fifteenth of the size', async () => {
    const png = join(tmp.dir, 'render-png');
    const mp4 = join(tmp.dir, 'render-mp4');
    const args = (out: string): string[] => ['generate', 'scenarios/stack-2.json', '-n', '2', '--seed', '3', '--render', '64', '--workers', '1', '--no-progress', '--out', out];
    const a = await runCli([...args(png), '--image-format', 'png'], { timeoutMs: 120_000 });
    expect(a.code, a.stderr).toBe(0);
    const b = await runCli(args(mp4), { timeoutMs: 120_000 });
    expect(b.code, b.stderr).toBe(0);
    expect(readInfo(mp4).features[KEY].dtype).toBe('video');
    const ra = await DatasetReader.open(png), rb = await DatasetReader.open(mp4);
    const values: number[] = [];
    for (let i = 0; i < ra.episodes.length; i++) {
      const fa = await ra.readFrames(ra.episodes[i], KEY), fb = await rb.readFrames(rb.episodes[i], KEY);
      expect(fb).toHaveLength(fa.length);
      for (let t = 0; t < fa.length; t++) values.push(psnr(fb[t], fa[t]));
    }
    await ra.close();
    await rb.close();
    values.sort((x, y) => x - y);
    const median = values[values.length >> 1];
    console.log(`rendered 64x64 frames, AV1 crf 30 yuv420p vs PNG: PSNR min ${values[0].toFixed(2)} dB, median ${median.toFixed(2)} dB over ${values.length} frames`);
    expect(values[0]).toBeGreaterThan(22);
    expect(median).toBeGreaterThan(24);
    const size = (d: string): number => readdirSync(d, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? size(join(d, e.name)) : statSync(join(d, e.name)).size), 0);
    expect(size(join(mp4, 'videos'))).toBeGreaterThan(0);
    expect(size(join(mp4, 'videos')) * 15).toBeLessThan(size(join(png, 'data')));
    expect((await verifyDataset(mp4)).ok).toBe(true);
  }, 240_000);
});

/** Frame index (of episode `e`'s colours e·100 + t) nearest the frame. */
function whichColourOf(frame: Uint8Array, e: number): number {
  let best = -1, bestP = -Infinity;
  for (let t = 0; t < 100; t++) {
    const p = psnr(frame, solid(e * 100 + t));
    if (p > bestP) {
      bestP = p;
      best = e * 100 + t;
    }
  }
  return best;
}

describe('without ffmpeg', () => {
  it('generate --render refuses at once, naming the package and the PNG option, and writes nothing', async () => {
    const empty = join(tmp.dir, 'no-bin');
    mkdirSync(empty, { recursive: true });
    const out = join(tmp.dir, 'never');
    const r = await runCli(['generate', 'scenarios/stack-2.json', '-n', '1', '--render', '64', '--out', out, '--no-progress'], { env: { PATH: empty } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/ffmpeg is not installed.*apt-get install ffmpeg.*--image-format png/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
