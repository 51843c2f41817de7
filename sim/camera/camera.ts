/**
 * Camera files from rendered views, and camera files fitted to the frames they are used on.
 *
 * Image size policy (`cameraForImage`): a camera file is used as is on frames of its own size; on
 * frames of another size with the same aspect ratio (640×480 → 128×96) its intrinsics are scaled
 * (exact with pixel centres at integer + 0.5, and the distortion coefficients, being normalized,
 * stay); frames of another aspect ratio are refused, since they come from a crop or another
 * camera mode that no scale recovers.
 */
import type { CameraFrame } from '../render/cameras.ts';
import { CAMERA_FILE_VERSION, CameraFileError } from './camera-file.ts';
import type { CameraFile } from './camera-file.ts';

/** The exact camera file of a rendered view (an ideal pinhole: zero distortion). */
export function cameraFromFrame(frame: CameraFrame): CameraFile {
  const K = frame.K;
  return {
    schemaVersion: CAMERA_FILE_VERSION,
    name: frame.name,
    width: frame.width,
    height: frame.height,
    intrinsics: { fx: K[0], fy: K[4], cx: K[2], cy: K[5] },
    distortion: [0, 0, 0, 0, 0],
    cameraToTable: [...frame.cameraToWorld],
    provenance: { source: 'simulation' },
  };
}

/** The same camera for the image resized to width×height (intrinsics scaled per axis). */
export function scaleCamera(cam: CameraFile, width: number, height: number): CameraFile {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
  const sx = width / cam.width, sy = height / cam.height;
  const k = cam.intrinsics;
  return {
    ...cam,
    width,
    height,
    intrinsics: { fx: k.fx * sx, fy: k.fy * sy, cx: k.cx * sx, cy: k.cy * sy },
    distortion: [...cam.distortion],
    cameraToTable: [...cam.cameraToTable],
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function aspect(w: number, h: number): string {
  const g = gcd(w, h);
  return `${w / g}:${h / g}`;
}

/**
 * The camera file fitted to frames of width×height: itself, or scaled to a frame of the same
 * aspect ratio. Throws CameraFileError (naming both sizes and the fix) for another aspect ratio.
 */
export function cameraForImage(cam: CameraFile, width: number, height: number, source = 'camera file'): CameraFile {
  if (cam.width === width && cam.height === height) return cam;
  if (cam.width * height === cam.height * width) return scaleCamera(cam, width, height);
  throw new CameraFileError(
    source,
    [`a calibration for ${cam.width}x${cam.height} (${aspect(cam.width, cam.height)}) but the frames are ${width}x${height} (${aspect(width, height)})`],
    {
      headline: 'does not fit these frames',
      fix: `calibrate the camera at ${width}x${height} (npx simreal camera calibrate --images <photos at that size> …), or send frames of ${cam.width}x${cam.height} or of the same ${aspect(cam.width, cam.height)} aspect ratio (the intrinsics are then scaled)`,
    },
  );
}
