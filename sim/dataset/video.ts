/**
 * Camera frames as MP4, the way LeRobot v3 stores them: raw RGB frames are piped into an ffmpeg
 * process that encodes one file (several episodes in a row), and episodes are read back by
 * decoding a time range of a file to raw RGB through a pipe.
 *
 * The encoder is the system's ffmpeg (Debian's package `ffmpeg`, which CI installs): it carries
 * SVT-AV1 (LeRobot's default codec), x264 and dav1d, and gets security updates from the
 * distribution. npm packages that bring an ffmpeg binary either download it in an install script
 * (which fails without internet) or ship an old build without an AV1 encoder.
 *
 * Encoding settings follow LeRobot's `encode_video_frames` (lerobot/datasets/video_utils.py):
 * AV1 through libsvtav1, pixel format yuv420p, a key frame every 2 frames (g=2, so any frame
 * decodes after at most one other), crf 30; `h264` (libx264, crf 23) is the faster alternative.
 * Frame k of a file has the presentation time k/fps exactly, so an episode that starts at frame k
 * of its file has `from_timestamp` k/fps (LeRobot's convention: the sum of the durations of the
 * episodes before it in the file) and `to_timestamp` (k + length)/fps.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

export const VIDEO_CODECS = {
  av1: { encoder: 'libsvtav1', codecName: 'av1', args: ['-g', '2', '-crf', '30'] },
  h264: { encoder: 'libx264', codecName: 'h264', args: ['-g', '2', '-crf', '23', '-preset', 'veryfast'] },
} as const;
export type VideoCodec = keyof typeof VIDEO_CODECS;
export const VIDEO_PIX_FMT = 'yuv420p';

export function isVideoCodec(s: string): s is VideoCodec {
  return s in VIDEO_CODECS;
}

/** ffmpeg (or one of its encoders) is not installed: names the package and the PNG option. */
export class VideoToolMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VideoToolMissingError';
  }
}

let ffmpegInfo: { ok: boolean; encoders: string } | null = null;

/** Whether the ffmpeg on PATH runs (and which encoders it has); looked up once. */
function probeFfmpeg(): { ok: boolean; encoders: string } {
  if (!ffmpegInfo) {
    const r = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' });
    ffmpegInfo = r.error || r.status !== 0 ? { ok: false, encoders: '' } : { ok: true, encoders: r.stdout };
  }
  return ffmpegInfo;
}

export function ffmpegAvailable(): boolean {
  return probeFfmpeg().ok;
}

/** Throws VideoToolMissingError unless ffmpeg runs here and has the codec's encoder. */
export function requireVideoEncoder(codec: VideoCodec): void {
  const p = probeFfmpeg();
  if (!p.ok) throw new VideoToolMissingError('ffmpeg is not installed, and camera frames are written as MP4 video by default: install it (Debian/Ubuntu: apt-get install ffmpeg), or keep frames as PNG with --image-format png');
  const enc = VIDEO_CODECS[codec].encoder;
  if (!new RegExp(`\\s${enc}\\s`).test(p.encoders)) {
    throw new VideoToolMissingError(`this ffmpeg has no ${enc} encoder (needed for --video-codec ${codec}): install Debian's ffmpeg package, pick another --video-codec (${Object.keys(VIDEO_CODECS).join(', ')}), or use --image-format png`);
  }
}

/** Throws VideoToolMissingError unless ffmpeg runs here (for reading video datasets). */
export function requireVideoDecoder(what: string): void {
  if (!probeFfmpeg().ok) throw new VideoToolMissingError(`${what} stores camera frames as MP4 video, and reading them needs ffmpeg: install it (Debian/Ubuntu: apt-get install ffmpeg)`);
}

export interface VideoSettings {
  width: number;
  height: number;
  fps: number;
  codec: VideoCodec;
}

/** Why a frame size cannot be encoded with yuv420p (null when it can). */
export function videoSizeProblem(width: number, height: number, codec: VideoCodec): string | null {
  if (width % 2 || height % 2) return `${width}x${height} frames cannot be stored as ${VIDEO_PIX_FMT} video (width and height must be even)`;
  if (codec === 'av1' && (width < 64 || height < 64)) return `${width}x${height} frames are smaller than the 64x64 the AV1 encoder (SVT-AV1) accepts; use --video-codec h264`;
  return null;
}

function tail(s: string): string {
  const lines = s.trim().split('\n').filter(Boolean);
  return lines.slice(-3).join(' | ');
}

/** One MP4 file being encoded: frames in (raw RGB), file out when finished. */
export class VideoEncoder {
  readonly path: string;
  readonly settings: VideoSettings;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private stderr = '';
  private failed: Error | null = null;
  /** Frames written so far: the next frame's index in the file. */
  frames = 0;

  private constructor(path: string, settings: VideoSettings) {
    this.path = path;
    this.settings = settings;
    const { width, height, fps, codec } = settings;
    const c = VIDEO_CODECS[codec];
    this.child = spawn('ffmpeg', [
      '-hide_banner', '-v', 'error', '-nostdin',
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
      '-an', '-c:v', c.encoder, ...c.args, '-pix_fmt', VIDEO_PIX_FMT, '-f', 'mp4', '-y', path,
    ], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => {
      if (this.stderr.length < 8192) this.stderr += d.toString();
    });
    this.child.stdin!.on('error', (e) => {
      this.failed ??= new Error(`ffmpeg stopped taking frames for ${path}: ${e.message} ${tail(this.stderr)}`);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.failed ??= new Error(`ffmpeg could not start: ${e.message}`);
        resolve(null);
      });
      this.child.on('exit', (code) => resolve(code));
    });
  }

  static start(path: string, settings: VideoSettings): VideoEncoder {
    requireVideoEncoder(settings.codec);
    return new VideoEncoder(path, settings);
  }

  /** Queues one frame (height × width × 3 RGB bytes); resolves when ffmpeg can take more. */
  async write(rgb: Uint8Array): Promise<void> {
    if (this.failed) throw this.failed;
    const { width, height } = this.settings;
    if (rgb.byteLength !== width * height * 3) throw new Error(`a ${width}x${height} RGB frame has ${width * height * 3} bytes, got ${rgb.byteLength}`);
    this.frames++;
    if (!this.child.stdin!.write(rgb)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.child.stdin!.off('drain', done);
          this.child.off('exit', done);
          resolve();
        };
        this.child.stdin!.on('drain', done);
        this.child.on('exit', done);
      });
    }
    if (this.failed) throw this.failed;
  }

  /** Ends the stream and waits for ffmpeg to write the file's index; returns the frame count. */
  async finish(): Promise<number> {
    this.child.stdin!.end();
    const code = await this.exited;
    if (this.failed) throw this.failed;
    if (code !== 0) throw new Error(`ffmpeg failed encoding ${this.path} (exit code ${code}): ${tail(this.stderr)}`);
    return this.frames;
  }

  /** Stops ffmpeg and removes the unfinished file. */
  abort(): void {
    this.child.stdin!.destroy();
    this.child.kill('SIGKILL');
    rmSync(this.path, { force: true });
  }
}

/**
 * Decodes `count` frames starting at `fromTimestamp` (seconds) of an MP4 file to RGB, one
 * height × width × 3 array per frame. Frame k has the timestamp k/fps: the seek goes half a frame
 * before it, so the first frame returned is the one nearest `fromTimestamp` (LeRobot's rule: the
 * frame closest to the query, within a tolerance).
 */
export async function decodeVideoFrames(path: string, o: { fromTimestamp: number; count: number; width: number; height: number; fps: number }): Promise<Uint8Array[]> {
  requireVideoDecoder(path);
  const start = Math.max(0, o.fromTimestamp - 0.5 / o.fps);
  const frameBytes = o.width * o.height * 3;
  const child = spawn('ffmpeg', [
    '-hide_banner', '-v', 'error', '-nostdin', '-ss', start.toFixed(6), '-i', path,
    '-frames:v', String(o.count), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => chunks.push(d));
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`ffmpeg could not decode ${path} (exit code ${code}): ${tail(stderr)}`);
  const all = Buffer.concat(chunks);
  const n = Math.floor(all.byteLength / frameBytes);
  if (all.byteLength % frameBytes !== 0) throw new Error(`${path}: decoded ${all.byteLength} bytes, not a whole number of ${o.width}x${o.height} frames (is the file ${o.width}x${o.height}?)`);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < n; i++) frames.push(new Uint8Array(all.buffer, all.byteOffset + i * frameBytes, frameBytes));
  return frames;
}

export interface VideoProbe {
  codec: string;
  pixFmt: string;
  width: number;
  height: number;
  fps: number;
  /** Frames as the file's index counts them. */
  frames: number;
}

/** What ffprobe (part of Debian's ffmpeg package) says about the first video stream. */
export function probeVideo(path: string): VideoProbe {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,pix_fmt,width,height,r_frame_rate,nb_frames', '-of', 'json', path], { encoding: 'utf8' });
  if (r.error) throw new VideoToolMissingError('ffprobe is not installed (it comes with ffmpeg: apt-get install ffmpeg)');
  if (r.status !== 0) throw new Error(`not a readable video (truncated or not an MP4?): ${tail(r.stderr)}`);
  const s = (JSON.parse(r.stdout) as { streams?: Array<Record<string, string | number>> }).streams?.[0];
  if (!s) throw new Error('not a readable video: no video stream (truncated or not an MP4?)');
  const [num, den] = String(s.r_frame_rate).split('/').map(Number);
  return { codec: String(s.codec_name), pixFmt: String(s.pix_fmt), width: Number(s.width), height: Number(s.height), fps: den ? num / den : num, frames: Number(s.nb_frames) };
}

/** Peak signal-to-noise ratio of two equally sized 8-bit images, dB (Infinity when identical). */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`images differ in size: ${a.length} vs ${b.length} bytes`);
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
