/**
 * `simreal camera --device /dev/video0 --calibration cam.json --bridge ws://… --robot so101-1`:
 * a real camera (or ffmpeg's synthetic one) published as a robot's image feature on the bridge,
 * with its calibration. Capture: bridge/cameras/ffmpeg-capture.ts; publishing:
 * bridge/camera-client.ts. Everything that can be checked is checked before connecting: the
 * calibration file and its size, the device, ffmpeg.
 */
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { CameraClient } from '../bridge/camera-client.ts';
import { BridgeError } from '../bridge/controller-client.ts';
import { CaptureError, DeviceNotFoundError, FfmpegCapture, VideoToolMissingError, checkDevice } from '../bridge/cameras/ffmpeg-capture.ts';
import { FeatureKeySchema } from '../bridge/protocol.ts';
import type { FeatureSpec } from '../bridge/protocol.ts';
import { CameraFileError } from '../sim/camera/camera-file.ts';
import type { CameraFile } from '../sim/camera/camera-file.ts';
import { readCameraFile } from '../sim/camera/io.ts';
import { EXIT_CODES, UserError } from './errors.ts';
import { parseIntOption, parseNumberOption } from './options.ts';
import { robotCredential, robotCredentialOptions } from './robot-credential.ts';
import { untilSignal } from './signals.ts';

interface CaptureFlags {
  device?: string;
  calibration?: string;
  bridge?: string;
  robot?: string;
  size?: string;
  fps: string;
  feature: string;
  inputFormat?: string;
  frames?: string;
  robotTokenFile?: string;
  robotKeyFile: string;
  tokenFile?: string;
}

const CAPTURE_HELP = `
Publishes a camera as an image feature of a robot on the bridge, with its calibration, so that
\`simreal policy run … --perception <pose model>\` can drive the robot through it. The robot must be
connected (or connect later) with the same id; the camera connects with that robot's credential.

Capture goes through ffmpeg (Debian package \`ffmpeg\`): V4L2 devices (/dev/videoN) or ffmpeg's
synthetic sources (--device lavfi:testsrc2). Each frame is sent with the time it came out of
ffmpeg; frames the network cannot take at once are skipped, never queued.

Example:
  npx simreal camera calibrate --images photos/ --board 7x5:0.04 --table-image table.jpg --board-pose -0.14,0.1,0 --out cam.json
  npx simreal camera --device /dev/video0 --calibration cam.json --bridge ws://localhost:8765 --robot so101-1`;

/** `WxH` → numbers; a UserError naming the flag otherwise. */
export function parseSize(text: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(text.trim());
  if (!m) throw new UserError(`--size expects WIDTHxHEIGHT in pixels, e.g. 640x480; got "${text}"`);
  return { width: parseIntOption('--size width', m[1], 16, 8192), height: parseIntOption('--size height', m[2], 16, 8192) };
}

/** The calibration, refused (before anything connects) if it is not for the frames that will be sent. */
export function calibrationFor(path: string, size: { width: number; height: number } | null): CameraFile {
  let cam: CameraFile;
  try {
    cam = readCameraFile(path);
  } catch (err) {
    if (err instanceof CameraFileError) throw new UserError(err.message);
    throw err;
  }
  if (size && (size.width !== cam.width || size.height !== cam.height)) {
    throw new UserError(`${path} is a calibration for ${cam.width}x${cam.height} images, but --size asks for ${size.width}x${size.height}: capture at ${cam.width}x${cam.height} (leave out --size), or calibrate the camera at ${size.width}x${size.height} (simreal camera calibrate with photos at that size)`);
  }
  return cam;
}

function requireFfmpeg(): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore', timeout: 30_000 });
  if (r.error || r.status !== 0) {
    throw new UserError('capturing from a camera needs ffmpeg, which is not installed here: run `sudo apt-get install -y ffmpeg` (or `npm run setup:system`)', EXIT_CODES.systemDependency);
  }
}

function required(flags: CaptureFlags): { device: string; calibration: string; bridge: string; robot: string } {
  const missing = (['device', 'calibration', 'bridge', 'robot'] as const).filter((k) => !flags[k]);
  if (missing.length) {
    throw new UserError(`simreal camera needs ${missing.map((k) => `--${k}`).join(', ')} (or a subcommand: calibrate, board); see simreal camera --help`, EXIT_CODES.usage);
  }
  return { device: flags.device!, calibration: flags.calibration!, bridge: flags.bridge!, robot: flags.robot! };
}

async function capture(flags: CaptureFlags): Promise<void> {
  const f = required(flags);
  const key = FeatureKeySchema.safeParse(flags.feature);
  if (!key.success) throw new UserError(`--feature ${flags.feature}: ${key.error.issues[0].message}`);
  const cam = calibrationFor(f.calibration, flags.size ? parseSize(flags.size) : null);
  const fps = parseNumberOption('--fps', flags.fps, 0.1, 240);
  const stopAfter = flags.frames !== undefined ? parseIntOption('--frames', flags.frames, 1) : Infinity;
  try {
    checkDevice(f.device);
  } catch (err) {
    if (err instanceof DeviceNotFoundError) throw new UserError(err.message);
    throw err;
  }
  requireFfmpeg();
  const token = robotCredential({ id: f.robot, robotTokenFile: flags.robotTokenFile, robotKeyFile: flags.robotKeyFile, tokenFile: flags.tokenFile });
  const spec: FeatureSpec = { kind: 'image', dtype: 'uint8', shape: [cam.height, cam.width, 3], format: 'rgb8', hz: fps, calibration: cam };
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const client = new CameraClient({ url: f.bridge, token, robot: f.robot, key: key.data, spec, log });
  try {
    await client.start();
  } catch (err) {
    if (err instanceof BridgeError && err.code !== 'closed' && err.code !== 'timeout') throw new UserError(err.message);
    throw err;
  }
  let grab: FfmpegCapture;
  const t0 = Date.now();
  let first = 0, last = 0;
  let finished: () => void = () => {};
  const reachedCount = new Promise<void>((resolve) => { finished = resolve; });
  try {
    grab = new FfmpegCapture({ device: f.device, width: cam.width, height: cam.height, fps, inputFormat: flags.inputFormat }, (frame) => {
      if (frame.index === 1) first = frame.t;
      last = frame.t;
      client.send(frame.rgb, frame.t);
      if (frame.index >= stopAfter) finished();
    });
  } catch (err) {
    await client.stop();
    throw err;
  }
  process.stdout.write(`camera ${f.device} (${cam.width}x${cam.height} at ${fps} fps) → ${f.robot} ${key.data} on ${f.bridge}; Ctrl-C to stop\n`);
  let failure: unknown = null;
  await Promise.race([
    untilSignal(),
    reachedCount,
    grab.done.then(() => {}, (err) => { failure = err; }),
    client.done.then(() => {}, (err) => { failure = err; }),
  ]);
  await grab.stop();
  await client.stop();
  const n = grab.frames;
  const rate = n > 1 && last > first ? ((n - 1) * 1000) / (last - first) : 0;
  process.stdout.write(`${n} frames captured in ${((Date.now() - t0) / 1000).toFixed(1)} s (${rate.toFixed(1)} fps); ${client.stats.sent} sent, ${client.stats.skipped} skipped, ${client.stats.refused} refused by the hub\n`);
  if (failure) {
    if (failure instanceof VideoToolMissingError) throw new UserError(failure.message, EXIT_CODES.systemDependency);
    if (failure instanceof CaptureError) throw new UserError(failure.message);
    if (failure instanceof BridgeError && failure.code !== 'closed') throw new UserError(failure.message);
    throw failure;
  }
}

/** Adds the capture to the `camera` command (its options and action; calibrate and board are its subcommands). */
export function registerCameraCapture(camera: Command): void {
  robotCredentialOptions(camera
    .option('--device <dev>', 'V4L2 device (/dev/video0) or an ffmpeg synthetic source (lavfi:testsrc2)')
    .option('--calibration <file>', "the camera's calibration (simreal camera calibrate), for the size it captures at")
    .option('--bridge <url>', 'bridge URL, e.g. ws://localhost:8765')
    .option('--robot <id>', 'the robot whose camera this is')
    .option('--size <WxH>', "capture size (default: the calibration's)")
    .option('--fps <n>', 'frames per second asked of the camera', '30')
    .option('--feature <key>', 'the image feature it becomes on the robot', 'camera.front')
    .option('--input-format <fmt>', 'V4L2 pixel format to ask for (mjpeg, yuyv422); default: the driver\'s choice')
    .option('--frames <n>', 'stop after this many frames'))
    .addHelpText('after', CAPTURE_HELP)
    .action(async (flags: CaptureFlags) => capture(flags));
}
