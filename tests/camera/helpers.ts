import type { CameraFile } from '../../sim/camera/camera-file.ts';

/** cameraToTable of a camera at `position` looking at `target`, with table z up in the image (OpenCV axes). */
export function lookAt(position: number[], target: number[]): number[] {
  const f = [target[0] - position[0], target[1] - position[1], target[2] - position[2]];
  const fl = Math.hypot(f[0], f[1], f[2]);
  const z = f.map((c) => c / fl);
  // x = z × up (up = table z), y = z × x (down in the image).
  let x = [z[1], -z[0], 0];
  const xl = Math.hypot(x[0], x[1]);
  x = x.map((c) => c / xl);
  const y = [z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0]];
  return [x[0], y[0], z[0], position[0], x[1], y[1], z[1], position[1], x[2], y[2], z[2], position[2], 0, 0, 0, 1];
}

/** A 640×480 front camera over the table, with the lens distortion given. */
export function syntheticCamera(distortion: [number, number, number, number, number], position = [0.05, -0.7, 0.55]): CameraFile {
  return {
    schemaVersion: 1,
    width: 640,
    height: 480,
    intrinsics: { fx: 520, fy: 515, cx: 322.5, cy: 236.25 },
    distortion,
    cameraToTable: lookAt(position, [0, 0, 0]),
  };
}
