/**
 * Rendered photos of a ChArUco board with known ground truth: the board lying on (or held above)
 * the table at given poses, seen by the front camera from given places, 640×480, nominal look.
 */
import { cameraFromFrame } from '../../sim/camera/camera.ts';
import type { CameraFile } from '../../sim/camera/camera-file.ts';
import { boardToTable } from '../../sim/camera/calibration/board.ts';
import type { BoardPlacement, BoardSpec } from '../../sim/camera/calibration/board.ts';
import { CharucoDetector, loadOpenCv } from '../../sim/camera/calibration/opencv.ts';
import type { GrayImage } from '../../sim/camera/calibration/opencv.ts';
import { TabletopEnv } from '../../sim/env.ts';
import type { HeadlessRenderer } from '../../sim/render/headless.ts';
import { nominalLook } from '../../sim/render/look.ts';
import { loadScenario } from '../../sim/scenario.ts';
import type { SimState } from '../../sim/state.ts';

export const PX_PER_SQUARE = 64;
/** The front camera's nominal mount (sim/render/cameras.ts). */
export const FRONT_MOUNT = { eye: [0, -0.78, 0.58], target: [0, -0.03, 0.02] };

export interface BoardView {
  /** Board frame → table (4×4 row-major). */
  boardPose: number[];
  /** Camera centre and the point it looks at (table frame, m). */
  eye: number[];
  target: number[];
}

export interface RenderedPhoto {
  name: string;
  image: GrayImage;
  rgb: Uint8Array;
  /** The exact camera the photo was rendered with. */
  truth: CameraFile;
}

/** Rotation about an axis (unit) by `deg`, as a 4×4 row-major transform about `centre`. */
export function rotationAbout(axis: number[], deg: number, centre: number[]): number[] {
  const a = (deg * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a), C = 1 - c;
  const [x, y, z] = axis;
  const R = [c + x * x * C, x * y * C - z * s, x * z * C + y * s, y * x * C + z * s, c + y * y * C, y * z * C - x * s, z * x * C - y * s, z * y * C + x * s, c + z * z * C];
  const t = [0, 1, 2].map((i) => centre[i] - (R[i * 3] * centre[0] + R[i * 3 + 1] * centre[1] + R[i * 3 + 2] * centre[2]));
  return [R[0], R[1], R[2], t[0], R[3], R[4], R[5], t[1], R[6], R[7], R[8], t[2], 0, 0, 0, 1];
}

export function mul4(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(16).fill(0);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) out[i * 4 + j] += a[i * 4 + k] * b[k * 4 + j];
  return out;
}

/** The table alone (no blocks, no gripper), as the scenario's reset builds it. */
export function tableOnly(): SimState {
  const env = new TabletopEnv(loadScenario('scenarios/stack-2.json'));
  env.reset({ seed: 0 });
  const s = env.scene.snapshot();
  return { ...s, bodies: s.bodies.filter((b) => b.kind === 'table'), goals: [] };
}

/** Renders each view with the board at its pose; the board image is OpenCV's own. */
export async function renderBoardViews(renderer: HeadlessRenderer, board: BoardSpec, views: readonly BoardView[], fovDeg: number): Promise<RenderedPhoto[]> {
  const { cv } = await loadOpenCv();
  const detector = new CharucoDetector(cv, board);
  const margin = PX_PER_SQUARE / 2;
  const print = detector.image(board, PX_PER_SQUARE, margin);
  detector.delete();
  const marginM = (margin / PX_PER_SQUARE) * board.squareSize;
  const size: [number, number] = [(print.width / PX_PER_SQUARE) * board.squareSize, (print.height / PX_PER_SQUARE) * board.squareSize];
  const builder = renderer.createBuilder({ noise: false });
  const state = tableOnly();
  builder.setLook(nominalLook(0, state.bodies.map((b) => b.name)));
  const cam = builder.cameras.front;
  const photos: RenderedPhoto[] = [];
  try {
    for (let k = 0; k < views.length; k++) {
      const v = views[k];
      // The print's frame starts a margin up and left of the board's origin corner.
      builder.setPrint({ image: print.data, width: print.width, height: print.height, size, pose: mul4(v.boardPose, [1, 0, 0, -marginM, 0, 1, 0, -marginM, 0, 0, 1, 0, 0, 0, 0, 1]) });
      cam.up.set(0, 0, 1);
      cam.position.set(v.eye[0], v.eye[1], v.eye[2]);
      cam.lookAt(v.target[0], v.target[1], v.target[2]);
      cam.fov = fovDeg;
      cam.updateProjectionMatrix();
      const [img] = await renderer.render([{ builder, camera: 'front', state }]);
      const rgb = img.rgb!;
      const gray = new Uint8Array(renderer.width * renderer.height);
      for (let i = 0; i < gray.length; i++) gray[i] = Math.round(0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2]);
      photos.push({ name: `view${String(k).padStart(2, '0')}.png`, image: { width: renderer.width, height: renderer.height, data: gray }, rgb, truth: cameraFromFrame(img.frame) });
    }
  } finally {
    builder.dispose();
  }
  return photos;
}

/**
 * Photos for a calibration: first the table image (the board lying at `placement`, seen from the
 * front camera's mount), then 12 with the board held above the table at varied poses.
 */
export function calibrationViews(board: BoardSpec, placement: BoardPlacement): BoardView[] {
  const out: BoardView[] = [{ boardPose: boardToTable(placement), ...FRONT_MOUNT }];
  // Held above the table, tilted 25–50° toward or across the line of sight and turned in its plane,
  // seen from 0.45–0.6 m; the camera aims off the board's centre so its corners reach the image's corners.
  const w = board.squaresX * board.squareSize, h = board.squaresY * board.squareSize;
  const centred = boardToTable({ x: -w / 2, y: h / 2, yawDeg: 0 });
  // [azimuth°, elevation°, distance m, tilt°, tilt axis offset°, spin°, aim x, aim y]
  const shots = [
    [-90, 60, 0.55, 35, 0, 0, 0.1, 0.06], [-60, 55, 0.5, 40, 30, 15, -0.1, 0.05], [-120, 50, 0.5, 45, -30, -20, 0.1, -0.06],
    [-90, 70, 0.45, 25, 90, 30, -0.08, -0.06], [-40, 60, 0.6, 40, 0, -30, 0, 0.08], [-140, 60, 0.6, 40, 0, 40, 0.1, 0],
    [-90, 45, 0.55, 50, 0, 90, -0.1, 0], [-75, 65, 0.5, 30, -90, -10, 0, -0.08], [-105, 55, 0.45, 35, 45, 5, 0.06, 0.06],
    [-50, 50, 0.55, 45, 20, -45, -0.06, -0.04], [-130, 65, 0.5, 30, -45, 60, 0.05, -0.07], [-90, 55, 0.6, 0, 0, 180, 0.11, 0.07],
  ];
  for (const [az, el, dist, tilt, axisOffset, spin, ax, ay] of shots) {
    const r = Math.PI / 180, c = [0, 0, 0.1];
    const eye = [c[0] + dist * Math.cos(el * r) * Math.cos(az * r), c[1] + dist * Math.cos(el * r) * Math.sin(az * r), c[2] + dist * Math.sin(el * r)];
    // Tilting about z × d turns the printed side's normal (+z) toward d; the offset swings the axis.
    const a = (az + 90 + axisOffset) * r;
    const pose = mul4(rotationAbout([Math.cos(a), Math.sin(a), 0], tilt, [0, 0, 0]), mul4(rotationAbout([0, 0, 1], spin, [0, 0, 0]), centred));
    pose[11] += c[2];
    out.push({ boardPose: pose, eye, target: [ax, ay, c[2]] });
  }
  return out;
}
