/**
 * Camera calibration from photos of a ChArUco board (board.ts): the camera file of camera-file.ts.
 *
 * How the table frame enters: the intrinsics and distortion come from all photos (the board held
 * or laid at many angles and places fills the image and makes the focal length observable); the
 * pose comes from one photo, the table image, taken with the camera at its working place and the
 * board lying printed side up on the table at a known placement (its origin corner at (x, y),
 * its x axis at yaw from the table's x). The board's pose in that photo (solvePnP with the
 * calibrated intrinsics), composed with the placement, gives cameraToTable.
 *
 * Photos where the board is not found, or shows fewer than `minCorners` corners or only corners on
 * one line, are skipped with the reason; fewer than `minViews` usable photos, or a table image
 * without the board, stop the calibration with a CalibrationError saying what to photograph.
 */
import { invertRigid } from '../../render/cameras.ts';
import { CAMERA_FILE_VERSION } from '../camera-file.ts';
import type { CameraFile } from '../camera-file.ts';
import { distortNormalized } from '../projection.ts';
import { boardToTable, cornerCount, cornerPosition, describeBoard } from './board.ts';
import type { BoardPlacement, BoardSpec } from './board.ts';
import { calibrate, CharucoDetector, loadOpenCv, solvePose } from './opencv.ts';
import type { GrayImage, ViewPoints } from './opencv.ts';

/*
 * Pixel convention: OpenCV documents the top-left pixel's centre at (0, 0), camera files at
 * (0.5, 0.5). The ChArUco detector's corners, though, land where the file convention puts them:
 * against the renderer's exact projection their mean offset is −0.01 px (tests/camera/calibrate.test.ts
 * checks it), so they, and the principal point fitted to them, are used without a shift.
 */

export interface CalibrationImage {
  /** File name (for messages and `tableImage`). */
  name: string;
  image: GrayImage;
}

export interface CalibrateOptions {
  board: BoardSpec;
  images: readonly CalibrationImage[];
  /** Name of the image in which the board lies on the table at `placement`. */
  tableImage: string;
  placement: BoardPlacement;
  /** Fewest corners a photo must show to count. Default 6. */
  minCorners?: number;
  /** Fewest usable photos. Default 3. */
  minViews?: number;
  /** Also fit the sixth-order radial term k3 (wide-angle lenses). Default false: k3 = 0. */
  fitK3?: boolean;
  /** Camera name for the file. */
  name?: string;
  /** Time stamp for the file (ISO 8601). Default: now. */
  date?: string;
  /** Progress lines (one per photo). */
  log?: (line: string) => void;
}

export interface ViewReport {
  name: string;
  /** Corners found (0 when the board was not found). */
  corners: number;
  /** RMS reprojection error of this view (pixels); absent for a skipped one. */
  rmsPx?: number;
  /** Why the view was not used. */
  skipped?: string;
}

export interface CalibrationResult {
  camera: CameraFile;
  /** RMS reprojection error over all corners of all used views (pixels). */
  rmsPx: number;
  /** RMS reprojection error of the table image under the final pose (pixels). */
  tableRmsPx: number;
  views: ViewReport[];
}

/** A calibration that cannot go on; the message says what to photograph or fix. */
export class CalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalibrationError';
  }
}

function mul4(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(16).fill(0);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) out[i * 4 + j] += a[i * 4 + k] * b[k * 4 + j];
  return out;
}

/** RMS distance (pixels) between detected corners and the board projected with a pinhole + distortion model. */
function reprojectionRms(view: ViewPoints, K: readonly number[], d: readonly number[], pose: { R: readonly number[]; t: readonly number[] }): number {
  const { R, t } = pose;
  let sum = 0;
  const n = view.object.length / 3;
  for (let i = 0; i < n; i++) {
    const X = view.object[3 * i], Y = view.object[3 * i + 1], Z = view.object[3 * i + 2];
    const cx = R[0] * X + R[1] * Y + R[2] * Z + t[0], cy = R[3] * X + R[4] * Y + R[5] * Z + t[1], cz = R[6] * X + R[7] * Y + R[8] * Z + t[2];
    const [xd, yd] = distortNormalized(d, cx / cz, cy / cz);
    sum += (K[0] * xd + K[2] - view.image[2 * i]) ** 2 + (K[4] * yd + K[5] - view.image[2 * i + 1]) ** 2;
  }
  return Math.sqrt(sum / n);
}

export async function calibrateCamera(o: CalibrateOptions): Promise<CalibrationResult> {
  const minCorners = o.minCorners ?? 6, minViews = o.minViews ?? 3;
  const log = o.log ?? (() => {});
  if (o.images.length === 0) throw new CalibrationError('no images to calibrate from');
  if (!o.images.some((i) => i.name === o.tableImage)) {
    throw new CalibrationError(`the table image "${o.tableImage}" is not among the images (${o.images.map((i) => i.name).join(', ')})`);
  }
  const { width, height } = o.images[0].image;
  for (const i of o.images) {
    if (i.image.width !== width || i.image.height !== height) {
      throw new CalibrationError(`${i.name} is ${i.image.width}x${i.image.height} but ${o.images[0].name} is ${width}x${height}: all photos must come from the same camera mode (resolution)`);
    }
  }

  const { cv } = await loadOpenCv();
  const detector = new CharucoDetector(cv, o.board);
  const reports: ViewReport[] = [];
  const used: Array<{ name: string; points: ViewPoints; report: ViewReport }> = [];
  try {
    for (const img of o.images) {
      let found;
      try {
        found = detector.detect(img.image);
      } catch (err) {
        found = { ids: [], points: new Float64Array(0), markers: 0, collinear: false, error: (err as Error).message };
      }
      const report: ViewReport = { name: img.name, corners: found.ids.length };
      reports.push(report);
      if ('error' in found) report.skipped = found.error;
      else if (found.ids.length === 0) report.skipped = found.markers === 0 ? 'no board found (no ArUco marker of the board\'s dictionary)' : `no corners found (${found.markers} markers)`;
      else if (found.ids.length < minCorners) report.skipped = `only ${found.ids.length} corners (need ${minCorners} of ${cornerCount(o.board)})`;
      else if (found.collinear) report.skipped = `its ${found.ids.length} corners lie on one line`;
      if (report.skipped) {
        log(`${img.name}: skipped, ${report.skipped}`);
        continue;
      }
      const object = new Float64Array(3 * found.ids.length);
      found.ids.forEach((id, k) => object.set(cornerPosition(o.board, id), 3 * k));
      used.push({ name: img.name, points: { object, image: found.points }, report });
      log(`${img.name}: ${found.ids.length} of ${cornerCount(o.board)} corners`);
    }
  } finally {
    detector.delete();
  }

  const table = used.find((u) => u.name === o.tableImage);
  if (!table) {
    const why = reports.find((r) => r.name === o.tableImage)?.skipped;
    throw new CalibrationError(`the table image ${o.tableImage} cannot give the camera's pose: ${why}. Photograph the board lying flat on the table at its placement, fully in view, from the camera's working position`);
  }
  if (used.length < minViews) {
    throw new CalibrationError(
      `only ${used.length} of ${o.images.length} images show the board well enough; at least ${minViews} are needed. ` +
        'Add photos with the board (all of it, or most) at different angles (tilted 20–45°) and positions, filling the image corners too',
    );
  }

  let cal, pose;
  try {
    cal = calibrate(cv, used.map((u) => u.points), { width, height, fitK3: o.fitK3 ?? false });
    pose = solvePose(cv, table.points, cal.K, cal.distortion);
  } catch (err) {
    throw new CalibrationError(`${(err as Error).message}. The photos may all show the board from nearly the same angle: add photos with the board tilted 20–45° in different directions`);
  }
  used.forEach((u, k) => {
    u.report.rmsPx = cal.perViewRms[k];
  });
  if (!pose) throw new CalibrationError(`solvePnP found no pose for the board in the table image ${o.tableImage}`);
  const tableRmsPx = reprojectionRms(table.points, cal.K, cal.distortion, pose);
  const R = pose.R, t = pose.t;
  const boardToCamera = [R[0], R[1], R[2], t[0], R[3], R[4], R[5], t[1], R[6], R[7], R[8], t[2], 0, 0, 0, 1];
  const cameraToTable = mul4(boardToTable(o.placement), invertRigid(boardToCamera));
  const camera: CameraFile = {
    schemaVersion: CAMERA_FILE_VERSION,
    ...(o.name ? { name: o.name } : {}),
    width,
    height,
    intrinsics: { fx: cal.K[0], fy: cal.K[4], cx: cal.K[2], cy: cal.K[5] },
    distortion: [cal.distortion[0], cal.distortion[1], cal.distortion[2], cal.distortion[3], cal.distortion[4]],
    cameraToTable,
    provenance: { source: 'calibration', reprojectionErrorPx: cal.rms, date: o.date ?? new Date().toISOString(), board: describeBoard(o.board), images: used.length },
  };
  return { camera, rmsPx: cal.rms, tableRmsPx, views: reports };
}
