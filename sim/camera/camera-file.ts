/**
 * The camera file: one camera's intrinsics, lens distortion and pose in the table frame, as JSON
 * (`schemaVersion: 1`), validated with zod. Written by `simreal camera calibrate` for a real camera
 * and by `cameraFromFrame` for a rendered view; read by whatever lifts image points to the table.
 * Browser-safe (reading and writing files: io.ts).
 *
 * ```json
 * {
 *   "schemaVersion": 1,
 *   "name": "front",
 *   "width": 640, "height": 480,
 *   "intrinsics": { "fx": 579.4, "fy": 579.4, "cx": 320, "cy": 240 },
 *   "distortion": [0, 0, 0, 0, 0],
 *   "cameraToTable": [1, 0, 0, 0,  0, -0.59, 0.81, -0.78,  0, -0.81, -0.59, 0.58,  0, 0, 0, 1],
 *   "provenance": { "source": "calibration", "reprojectionErrorPx": 0.21, "date": "2026-12-06T10:00:00Z",
 *                   "board": "charuco 7x5 squares of 0.04 m, markers 0.03 m, DICT_4X4_50", "images": 14 }
 * }
 * ```
 *
 * Conventions (those of sim/render/cameras.ts):
 * - Camera axes as OpenCV's: x right, y down, z forward along the optical axis.
 * - Pixels: u to the right, v down from the top row, **pixel centres at integer + 0.5** (the
 *   top-left pixel's centre is (0.5, 0.5), its area [0, 1]²), which makes resizing an exact scale.
 *   OpenCV documents that centre at (0, 0), so cx, cy from a tool that follows it are 0.5 smaller
 *   than this file's (add 0.5). `simreal camera calibrate` needs no shift (see calibrate.ts).
 * - `distortion`: OpenCV's `[k1, k2, p1, p2, k3]` (radial k, tangential p), in normalized
 *   coordinates, so it does not change with the image size. All zeros: an ideal pinhole.
 * - `cameraToTable`: 4×4 row-major rigid transform from camera axes to the table frame: origin at the
 *   centre of the table top, z up, metres (the simulator's world frame).
 */
import { z } from 'zod';
import { describeIssues } from '../json-issues.ts';

export const CAMERA_FILE_VERSION = 1;

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const positive = finite.refine((v) => v > 0, 'expected a number > 0');

/** Largest deviation from an orthonormal rotation (and an exact last row) a rigid transform may have. */
const RIGID_TOLERANCE = 1e-4;

/** Why `m` (16 numbers, row-major) is not a rigid transform, or null if it is. */
export function rigidTransformProblem(m: readonly number[]): string | null {
  if (m[12] !== 0 || m[13] !== 0 || m[14] !== 0 || m[15] !== 1) return `the last row must be [0, 0, 0, 1], got [${m.slice(12).join(', ')}]`;
  let worst = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      // Columns of the rotation must be orthonormal.
      const dot = m[i] * m[j] + m[4 + i] * m[4 + j] + m[8 + i] * m[8 + j];
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  if (worst > RIGID_TOLERANCE) return `its upper-left 3x3 block must be a rotation (orthonormal columns), off by ${worst.toPrecision(3)}`;
  const det = m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8]);
  if (det < 0) return 'its rotation has determinant -1 (a reflection): check the sign of one axis';
  return null;
}

export const CameraFileSchema = z.strictObject({
  schemaVersion: z.literal(CAMERA_FILE_VERSION),
  /** Which camera this is (`front`, `wrist`, a device name); informative. */
  name: z.string().max(200).optional(),
  /** Image size the intrinsics belong to (pixels). */
  width: z.int().min(1).max(65536),
  height: z.int().min(1).max(65536),
  intrinsics: z.strictObject({ fx: positive, fy: positive, cx: finite, cy: finite }),
  /** OpenCV `[k1, k2, p1, p2, k3]`. */
  distortion: z.tuple([finite, finite, finite, finite, finite]),
  /** 4×4 row-major: camera axes (OpenCV) → table frame (m). */
  cameraToTable: z.array(finite).length(16).superRefine((m, ctx) => {
    const problem = rigidTransformProblem(m);
    if (problem) ctx.addIssue({ code: 'custom', message: `not a rigid transform: ${problem}` });
  }),
  provenance: z
    .strictObject({
      source: z.enum(['simulation', 'calibration']),
      /** RMS reprojection error of the calibration (pixels). */
      reprojectionErrorPx: finite.min(0).optional(),
      /** ISO 8601 time the file was made. */
      date: z.string().max(100).optional(),
      /** The calibration target, in words. */
      board: z.string().max(500).optional(),
      /** Images the calibration used. */
      images: z.int().min(0).optional(),
    })
    .optional(),
});
export type CameraFile = z.infer<typeof CameraFileSchema>;

const DEFAULT_FIX = 'write it with `simreal camera calibrate` (a real camera) or cameraFromFrame (a rendered view); the format is described in sim/camera/camera-file.ts';

/** A camera file that could not be read, is not valid, or does not fit the frames; the message names the file, the JSON path and the fix. */
export class CameraFileError extends Error {
  readonly source: string;
  readonly issues: string[];
  constructor(source: string, issues: string[], options: { fix?: string; headline?: string } = {}) {
    const headline = options.headline ?? 'is not a valid camera file';
    super(`${source} ${headline}:\n${issues.map((i) => `  - ${i}`).join('\n')}\n${options.fix ?? DEFAULT_FIX}`);
    this.name = 'CameraFileError';
    this.source = source;
    this.issues = issues;
  }
}

/** Validates parsed JSON; throws CameraFileError listing each problem with its JSON path. */
export function parseCameraFile(data: unknown, source = 'camera file'): CameraFile {
  const r = CameraFileSchema.safeParse(data, { reportInput: true });
  if (r.success) return r.data;
  throw new CameraFileError(source, describeIssues(r.error, 'allowed keys are listed in sim/camera/camera-file.ts'));
}
