/**
 * Cameras: nominal mounts, intrinsics and extrinsics. Plain math, no three.js, no Node.
 *
 * - `front`: fixed in the world, in front of the table (−y side) and above it, looking at the
 *   workspace.
 * - `wrist`: attached to the palm (gripper frame: x = opening axis, y = finger width, z = up),
 *   just beside the palm and looking down between the fingers. On the SO-101 (`SO101_WRIST_MOUNT`)
 *   it sits where TheRobotStudio's SO-101 wrist camera mounts do (SO-ARM100
 *   Optional/Wrist_Cam_Mount_32x32_UVC_Module, SO101_Wrist_Cam_Hex-Nut_Mount_32x32_UVC_Module): a
 *   32 mm module on the wrist roll follower, outside the fixed jaw, looking down along the jaws.
 *
 * Conventions of everything this module returns (OpenCV): camera frame x right, y down, z forward
 * along the optical axis; pixel (u, v) with u to the right, v down from the top row, pixel
 * centres at integer + 0.5. `K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`, square pixels,
 * principal point at the image centre. Matrices are 4×4 row-major arrays of 16 numbers.
 * Depth images hold z in this camera frame (distance along the optical axis, metres).
 */
import type { Vec3 } from '../state.ts';

export const CAMERA_NAMES = ['front', 'wrist'] as const;
export type CameraName = (typeof CAMERA_NAMES)[number];

export interface CameraMount {
  /** Frame the mount is given in: the world, or the palm body. */
  parent: 'world' | 'palm';
  /** Nominal position in the parent frame (m). */
  position: Vec3;
  /** Point the optical axis goes through, parent frame. */
  target: Vec3;
  /** Direction that appears up in the image, parent frame. */
  up: Vec3;
  /** Nominal vertical field of view (degrees). */
  fovDeg: number;
  near: number;
  far: number;
}

export const CAMERA_MOUNTS: Record<CameraName, CameraMount> = {
  front: { parent: 'world', position: [0, -0.78, 0.58], target: [0, -0.03, 0.02], up: [0, 0, 1], fovDeg: 45, near: 0.05, far: 20 },
  wrist: { parent: 'palm', position: [0, 0.03, -0.004], target: [0, 0, -0.08], up: [0, 1, 0], fovDeg: 75, near: 0.005, far: 20 },
};

/**
 * The SO-101's wrist camera, in its gripper body's frame (sim/robot/so101/arm.ts `palm`: x the
 * opening axis, toward the moving jaw; z up the tool; centred 8.6 cm above the fingertips, 1.2 cm
 * off the roll axis): 2 cm outside the fixed jaw's side, level with the bottom of the gripper
 * body, aimed at the point between the fingertips and a little past it.
 */
export const SO101_WRIST_MOUNT: CameraMount = { parent: 'palm', position: [-0.05, 0, 0.012], target: [0.035, 0, -0.1], up: [1, 0, 0], fovDeg: 75, near: 0.005, far: 20 };

/** A camera's mount on a robot (the world-fixed ones are the same for every robot). */
export function cameraMount(name: CameraName, robot: 'mount' | 'so101' = 'mount'): CameraMount {
  return name === 'wrist' && robot === 'so101' ? SO101_WRIST_MOUNT : CAMERA_MOUNTS[name];
}

export function isCameraName(name: string): name is CameraName {
  return (CAMERA_NAMES as readonly string[]).includes(name);
}

/** Intrinsics (row-major 3×3) of a `width`×`height` image with vertical field of view `fovDeg`. */
export function intrinsics(fovDeg: number, width: number, height: number): number[] {
  const fy = height / 2 / Math.tan((fovDeg * Math.PI) / 360);
  return [fy, 0, width / 2, 0, fy, height / 2, 0, 0, 1];
}

/** Inverse of a rigid 4×4 row-major transform. */
export function invertRigid(m: ArrayLike<number>): number[] {
  const r = [m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]];
  const t = [m[3], m[7], m[11]];
  const out = new Array<number>(16).fill(0);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) out[i * 4 + j] = r[j * 3 + i];
    out[i * 4 + 3] = -(r[0 * 3 + i] * t[0] + r[1 * 3 + i] * t[1] + r[2 * 3 + i] * t[2]);
  }
  out[15] = 1;
  return out;
}

/** Applies a row-major 4×4 transform to a point. */
export function transformPoint(m: ArrayLike<number>, p: ArrayLike<number>): Vec3 {
  return [
    m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[3],
    m[4] * p[0] + m[5] * p[1] + m[6] * p[2] + m[7],
    m[8] * p[0] + m[9] * p[1] + m[10] * p[2] + m[11],
  ];
}

/** Pixel coordinates (u, v) and depth z of a world point seen by a camera. */
export function projectPoint(K: ArrayLike<number>, worldToCamera: ArrayLike<number>, p: ArrayLike<number>): { u: number; v: number; z: number } {
  const [x, y, z] = transformPoint(worldToCamera, p);
  return { u: (K[0] * x) / z + K[2], v: (K[4] * y) / z + K[5], z };
}

/** What a rendered view comes with: intrinsics and extrinsics at the moment it was drawn. */
export interface CameraFrame {
  name: string;
  width: number;
  height: number;
  fovDeg: number;
  /** 3×3 row-major, pixels. */
  K: number[];
  /** 4×4 row-major camera (OpenCV axes) → world. */
  cameraToWorld: number[];
  /** 4×4 row-major world → camera (OpenCV axes). */
  worldToCamera: number[];
}
