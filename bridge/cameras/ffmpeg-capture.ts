/**
 * Camera capture through Debian's `ffmpeg`: a V4L2 device (a USB camera, `/dev/video0`) or one of
 * ffmpeg's synthetic sources (`lavfi:testsrc2`), decoded and converted by ffmpeg to packed RGB
 * (`rawvideo`, `rgb24`) on its stdout, cut here into frames of width × height × 3 bytes.
 *
 * Why ffmpeg and not an npm capture library: the npm packages for V4L2 are native addons that are
 * unmaintained and do not build for current Node (`v4l2camera`), shell out to still-image tools
 * (`node-webcam` → fswebcam, one JPEG per call) or pull in a whole OpenCV build
 * (`opencv4nodejs`); ffmpeg is one Debian package the project already installs for video
 * (`.ci/system-packages`), reads every V4L2 pixel format cameras offer (YUYV, MJPEG, …) and
 * converts it to RGB in the same process, and its `lavfi` test sources let the whole path be
 * tested on a machine without a camera.
 *
 * Capture time: a raw pipe carries no timestamps, so a frame's capture time is when its first
 * bytes came out of ffmpeg (`Date.now()` of that read), which is late by ffmpeg's own buffering:
 * for a V4L2 camera about one frame period (the driver's buffer) and the conversion.
 *
 * Failures name what to do: a device that does not exist (DeviceNotFoundError, before ffmpeg
 * starts), no ffmpeg (VideoToolMissingError, a missing system package), ffmpeg refusing the
 * device or its mode, or a driver that picked another size than the one asked for (CaptureError
 * with ffmpeg's own line).
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { VideoToolMissingError } from '../../sim/dataset/video.ts';

export { VideoToolMissingError };

/** A camera device path that does not exist. */
export class DeviceNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceNotFoundError';
  }
}

/** ffmpeg could not capture from the device as asked (its own words in the message). */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

export interface CaptureOptions {
  /** `/dev/videoN` (V4L2), or `lavfi:<filter>` for ffmpeg's synthetic sources, e.g. `lavfi:testsrc2`. */
  device: string;
  width: number;
  height: number;
  /** Frames per second asked of the device (lavfi sources are paced to it in real time). */
  fps: number;
  /** V4L2 pixel format to ask for (`mjpeg`, `yuyv422`); default: the driver's choice. */
  inputFormat?: string;
  /** The ffmpeg executable (default `ffmpeg` on the PATH). */
  ffmpeg?: string;
}

export interface CapturedFrame {
  /** width × height × 3 bytes, RGB, rows top-down (valid until the callback returns: copy to keep). */
  rgb: Uint8Array;
  /** When its first bytes came out of ffmpeg, ms since the Unix epoch. */
  t: number;
  /** 1, 2, … in capture order. */
  index: number;
}

const LAVFI = 'lavfi:';

/** ffmpeg's arguments for a capture (exported for tests and `--help`). */
export function ffmpegArgs(o: CaptureOptions): string[] {
  const size = `${o.width}x${o.height}`;
  const input = o.device.startsWith(LAVFI)
    ? (() => {
        const filter = o.device.slice(LAVFI.length);
        // A bare source name gets the size and rate asked for; a full filter graph is taken as written.
        const graph = /[=,;]/.test(filter) ? filter : `${filter}=size=${size}:rate=${o.fps}`;
        return ['-re', '-f', 'lavfi', '-i', graph];
      })()
    : ['-f', 'v4l2', '-framerate', String(o.fps), '-video_size', size, ...(o.inputFormat ? ['-input_format', o.inputFormat] : []), '-i', o.device];
  return ['-hide_banner', '-nostdin', '-loglevel', 'warning', ...input, '-an', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
}

/** Checks a device argument before anything starts; throws DeviceNotFoundError naming it. */
export function checkDevice(device: string): void {
  if (device.startsWith(LAVFI)) {
    if (device.length === LAVFI.length) throw new DeviceNotFoundError(`--device ${device} names no source: give one of ffmpeg's, e.g. lavfi:testsrc2`);
    return;
  }
  if (existsSync(device)) return;
  let here: string[] = [];
  try {
    here = readdirSync('/dev').filter((n) => /^video\d+$/.test(n)).map((n) => `/dev/${n}`);
  } catch {
    here = [];
  }
  throw new DeviceNotFoundError(`camera device ${device} does not exist (${here.length ? `this machine has ${here.join(', ')}` : 'this machine has no /dev/video* device: is the camera plugged in?'}); for a synthetic camera pass --device lavfi:testsrc2`);
}

/**
 * A running capture: `onFrame` gets each frame as it completes; `done` settles when ffmpeg exits
 * (resolves after `stop()`, rejects with a CaptureError or VideoToolMissingError otherwise).
 */
export class FfmpegCapture {
  readonly options: CaptureOptions;
  /** Frames delivered so far. */
  frames = 0;
  readonly done: Promise<void>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly frameBytes: number;
  private readonly buffer: Uint8Array;
  private filled = 0;
  private firstByteAt = 0;
  private stopping = false;
  private stderrTail = '';
  private problem: string | null = null;

  constructor(options: CaptureOptions, onFrame: (f: CapturedFrame) => void) {
    checkDevice(options.device);
    for (const [k, v] of [['width', options.width], ['height', options.height]] as const) {
      if (!Number.isInteger(v) || v < 16 || v > 8192) throw new RangeError(`${k} must be an integer from 16 to 8192, got ${v}`);
    }
    if (!(options.fps > 0 && options.fps <= 240)) throw new RangeError(`fps must be in (0, 240], got ${options.fps}`);
    this.options = options;
    this.frameBytes = options.width * options.height * 3;
    this.buffer = new Uint8Array(this.frameBytes);
    const exe = options.ffmpeg ?? 'ffmpeg';
    this.child = spawn(exe, ffmpegArgs(options), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.done = new Promise<void>((resolve, reject) => {
      this.child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') reject(new VideoToolMissingError(`capturing from a camera needs ffmpeg, and \`${exe}\` is not installed: run \`sudo apt-get install -y ffmpeg\` (or \`npm run setup:system\`)`));
        else reject(new CaptureError(`cannot start ${exe}: ${err.message}`));
      });
      this.child.on('close', (code, signal) => {
        if (this.stopping) return resolve();
        const why = this.problem ?? this.lastLine() ?? `ffmpeg exited with ${signal ?? `code ${code}`}`;
        reject(new CaptureError(`capture from ${options.device} stopped after ${this.frames} frames: ${why}`));
      });
    });
    // Nobody may be listening yet; the rejection is for whoever awaits `done`.
    this.done.catch(() => {});
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk, onFrame));
    this.child.stderr.on('data', (chunk: Buffer) => this.onStderr(chunk.toString('utf8')));
  }

  private onData(chunk: Buffer, onFrame: (f: CapturedFrame) => void): void {
    const now = Date.now();
    let off = 0;
    while (off < chunk.length) {
      if (this.filled === 0) this.firstByteAt = now;
      const n = Math.min(chunk.length - off, this.frameBytes - this.filled);
      this.buffer.set(chunk.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === this.frameBytes) {
        this.filled = 0;
        this.frames++;
        if (!this.stopping) onFrame({ rgb: this.buffer, t: this.firstByteAt, index: this.frames });
      }
    }
  }

  private onStderr(text: string): void {
    this.stderrTail = (this.stderrTail + text).slice(-4000);
    // A V4L2 driver that cannot give the size asked for picks another one and says so: the frames
    // would not be the size cut here, nor the calibration's.
    const m = /changed the video from (\d+x\d+) to (\d+x\d+)/.exec(this.stderrTail);
    if (m && !this.problem) {
      this.problem = `the camera does not offer ${m[1]} (its driver chose ${m[2]}): pass --size ${m[2]} with a calibration made at that size`;
      this.child.kill('SIGTERM');
    }
  }

  private lastLine(): string | null {
    const lines = this.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean);
    return lines.length ? lines.slice(-2).join('; ') : null;
  }

  /** Stops ffmpeg; resolves once it has exited. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      t.unref();
    }
    await this.done.catch(() => {});
  }
}
