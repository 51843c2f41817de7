/**
 * The one boundary to OpenCV (npm `@techstark/opencv-js`, the official OpenCV.js 4.12 build,
 * WebAssembly embedded in one 11 MB file, Apache-2.0): ChArUco corner detection (CharucoDetector,
 * which refines corners with cornerSubPix inside), calibrateCameraExtended, solvePnP, Rodrigues,
 * and the board image. Why ChArUco and not findChessboardCorners: the OpenCV.js builds on npm
 * (this one, opencv-wasm, opencv-bindings, @opencvjs/web) export neither findChessboardCorners nor
 * cornerSubPix; the objdetect module's ChArUco detector is what they ship for calibration targets.
 *
 * Everything here takes and returns plain numbers and typed arrays; every OpenCV Mat made is
 * deleted before returning. Pixel coordinates: see the note in calibrate.ts.
 * Node only; loaded on first use (about a second), so import this module only where it is needed.
 */
import { createRequire } from 'node:module';
import type { BoardSpec } from './board.ts';

/** OpenCV.js: an Emscripten module without useful types for these functions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Cv = any;

let loading: Promise<{ cv: Cv }> | null = null;

/**
 * The OpenCV.js module, instantiated once. Loaded with Node's require (its UMD file is CommonJS;
 * test runners that transform ES imports choke on 11 MB of it). It comes wrapped in an object: an
 * Emscripten module is a thenable that resolves to itself, so awaiting it (or returning it from an
 * async function) never finishes.
 */
export function loadOpenCv(): Promise<{ cv: Cv }> {
  loading ??= (async () => {
    const cv = createRequire(import.meta.url)('@techstark/opencv-js') as Cv;
    if (!cv.Mat) {
      await new Promise<void>((resolve) => {
        cv.onRuntimeInitialized = () => resolve();
      });
    }
    return { cv };
  })();
  return loading;
}

/**
 * Runs OpenCV work, turning what OpenCV throws (a C++ exception surfaces as a bare number, a
 * pointer) into an Error naming the step and OpenCV's own message.
 */
function guarded<T>(cv: Cv, step: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (typeof err === 'number') {
      let detail = `exception ${err}`;
      try {
        detail = String(cv.exceptionFromPtr(err).msg).trim();
      } catch {
        // Keep the number.
      }
      throw new Error(`OpenCV failed in ${step}: ${detail}`);
    }
    throw err;
  }
}

/** A grayscale image: width·height bytes, rows top-down. */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface DetectedCorners {
  /** Corner ids (see board.ts). */
  ids: number[];
  /** x, y per corner (OpenCV pixels). */
  points: Float64Array;
  /** ArUco markers found (for messages). */
  markers: number;
  /** True when the corners lie on one line (no pose can come from them). */
  collinear: boolean;
}

/** A ChArUco board and its detector, reused across images; call delete() when done. */
export class CharucoDetector {
  private readonly board: Cv;
  private readonly detector: Cv;
  private readonly cv: Cv;

  constructor(cv: Cv, spec: BoardSpec) {
    this.cv = cv;
    const dictionary = cv.getPredefinedDictionary(cv[spec.dictionary]);
    const ids = new cv.Mat();
    this.board = new cv.aruco_CharucoBoard(new cv.Size(spec.squaresX, spec.squaresY), spec.squareSize, spec.markerSize, dictionary, ids);
    ids.delete();
    const detectorParams = new cv.aruco_DetectorParameters();
    // Sub-pixel marker corners give a better first guess of the chessboard corners.
    detectorParams.cornerRefinementMethod = cv.CORNER_REFINE_SUBPIX;
    // Read each marker bit from the middle 40 % of its cell (default 74 %): small, foreshortened
    // markers blur into their neighbours' cells. On a rendered board seen from the front mount
    // this found all 17 markers instead of 14.
    detectorParams.perspectiveRemoveIgnoredMarginPerCell = 0.3;
    this.detector = new cv.aruco_CharucoDetector(this.board, new cv.aruco_CharucoParameters(), detectorParams, new cv.aruco_RefineParameters(10, 3, true));
  }

  detect(image: GrayImage): DetectedCorners {
    const cv = this.cv;
    const mat = new cv.Mat(image.height, image.width, cv.CV_8UC1);
    const corners = new cv.Mat(), ids = new cv.Mat(), markerCorners = new cv.MatVector(), markerIds = new cv.Mat();
    try {
      mat.data.set(image.data);
      guarded(cv, 'CharucoDetector.detectBoard', () => this.detector.detectBoard(mat, corners, ids, markerCorners, markerIds));
      const n = ids.rows * ids.cols;
      const out: DetectedCorners = { ids: Array.from(ids.data32S.subarray(0, n)), points: Float64Array.from(corners.data32F.subarray(0, 2 * n)), markers: markerCorners.size(), collinear: false };
      out.collinear = n > 0 && this.board.checkCharucoCornersCollinear(ids);
      return out;
    } finally {
      for (const m of [mat, corners, ids, markerCorners, markerIds]) m.delete();
    }
  }

  /** The printable board: `pxPerSquare` pixels per square and a white margin of `marginPx`, gray bytes. */
  image(spec: BoardSpec, pxPerSquare: number, marginPx: number): GrayImage {
    const cv = this.cv;
    const width = spec.squaresX * pxPerSquare + 2 * marginPx, height = spec.squaresY * pxPerSquare + 2 * marginPx;
    const img = new cv.Mat();
    try {
      this.board.generateImage(new cv.Size(width, height), img, marginPx, 1);
      return { width: img.cols, height: img.rows, data: Uint8Array.from(img.data) };
    } finally {
      img.delete();
    }
  }

  delete(): void {
    this.detector.delete();
    this.board.delete();
  }
}

/** Corresponding board points (m, board frame) and image points (OpenCV pixels) of one view. */
export interface ViewPoints {
  object: Float64Array;
  image: Float64Array;
}

export interface CalibrationOutput {
  /** Row-major 3×3 (OpenCV pixels). */
  K: number[];
  /** [k1, k2, p1, p2, k3]. */
  distortion: number[];
  /** RMS reprojection error over all corners (pixels). */
  rms: number;
  /** RMS per view (pixels). */
  perViewRms: number[];
  /** Board → camera per view: rotation (Rodrigues vector) and translation (m). */
  rvecs: number[][];
  tvecs: number[][];
}

function pointsMat(cv: Cv, values: Float64Array, channels: 2 | 3): Cv {
  return cv.matFromArray(values.length / channels, 1, channels === 2 ? cv.CV_32FC2 : cv.CV_32FC3, Array.from(values));
}

export interface CalibrateParams {
  /** Image size (pixels). */
  width: number;
  height: number;
  /** Fit k3 too (else it stays 0). */
  fitK3: boolean;
}

/** OpenCV's calibrateCameraExtended over the views: intrinsics and distortion, with each view's board pose. */
export function calibrate(cv: Cv, views: readonly ViewPoints[], { width, height, fitK3 }: CalibrateParams): CalibrationOutput {
  const objectPoints = new cv.MatVector(), imagePoints = new cv.MatVector();
  const K = cv.Mat.eye(3, 3, cv.CV_64F), dist = cv.Mat.zeros(1, 5, cv.CV_64F);
  const rvecs = new cv.MatVector(), tvecs = new cv.MatVector();
  const sdIntrinsic = new cv.Mat(), sdExtrinsic = new cv.Mat(), perView = new cv.Mat();
  try {
    for (const v of views) {
      const o = pointsMat(cv, v.object, 3), i = pointsMat(cv, v.image, 2);
      objectPoints.push_back(o);
      imagePoints.push_back(i);
      o.delete();
      i.delete();
    }
    const flags = fitK3 ? 0 : cv.CALIB_FIX_K3;
    const criteria = new cv.TermCriteria(cv.TermCriteria_COUNT + cv.TermCriteria_EPS, 200, 1e-12);
    const rms = guarded(cv, 'calibrateCameraExtended', () =>
      cv.calibrateCameraExtended(objectPoints, imagePoints, new cv.Size(width, height), K, dist, rvecs, tvecs, sdIntrinsic, sdExtrinsic, perView, flags, criteria)) as number;
    const out: CalibrationOutput = {
      K: Array.from(K.data64F as Float64Array),
      distortion: Array.from((dist.data64F as Float64Array).subarray(0, 5)),
      rms,
      perViewRms: Array.from(perView.data64F as Float64Array),
      rvecs: [],
      tvecs: [],
    };
    for (let k = 0; k < views.length; k++) {
      const r = rvecs.get(k), t = tvecs.get(k);
      out.rvecs.push(Array.from(r.data64F as Float64Array));
      out.tvecs.push(Array.from(t.data64F as Float64Array));
      r.delete();
      t.delete();
    }
    return out;
  } finally {
    for (const m of [objectPoints, imagePoints, K, dist, rvecs, tvecs, sdIntrinsic, sdExtrinsic, perView]) m.delete();
  }
}

/** Board → camera (rotation matrix row-major, translation) of one view with known intrinsics; null if solvePnP fails. */
export function solvePose(cv: Cv, view: ViewPoints, K: readonly number[], distortion: readonly number[]): { R: number[]; t: number[] } | null {
  const o = pointsMat(cv, view.object, 3), i = pointsMat(cv, view.image, 2);
  const Km = cv.matFromArray(3, 3, cv.CV_64F, [...K]), d = cv.matFromArray(1, 5, cv.CV_64F, [...distortion]);
  const rvec = new cv.Mat(), tvec = new cv.Mat(), R = new cv.Mat();
  try {
    if (!guarded(cv, 'solvePnP', () => cv.solvePnP(o, i, Km, d, rvec, tvec, false, cv.SOLVEPNP_ITERATIVE))) return null;
    guarded(cv, 'Rodrigues', () => cv.Rodrigues(rvec, R));
    return { R: Array.from(R.data64F as Float64Array), t: Array.from(tvec.data64F as Float64Array) };
  } finally {
    for (const m of [o, i, Km, d, rvec, tvec, R]) m.delete();
  }
}
