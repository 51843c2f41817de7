/**
 * The calibration board: a ChArUco board, i.e. a checkerboard whose white squares hold ArUco
 * markers. Its corners are the checkerboard's inner corners, found and refined to sub-pixel
 * precision by OpenCV's CharucoDetector; the markers name every corner, so a board seen in part
 * still counts and its origin is never mistaken for the opposite corner (a plain checkerboard's
 * is, under a half turn).
 *
 * Board frame (OpenCV's): origin at the top-left corner of the squares as printed (the outer
 * corner of the top-left square; the white margin is outside), x along the top edge to the right,
 * y down the left edge, z into the sheet. Inner corner k (OpenCV's id) sits at
 * ((k mod (W−1)) + 1, ⌊k / (W−1)⌋ + 1) · square. Browser-safe.
 */
import type { Vec3 } from '../../state.ts';

/** OpenCV's predefined ArUco dictionaries that a board may use (name → OpenCV's id). */
export const DICTIONARIES = {
  DICT_4X4_50: 0,
  DICT_4X4_100: 1,
  DICT_4X4_250: 2,
  DICT_5X5_50: 4,
  DICT_5X5_100: 5,
  DICT_6X6_50: 8,
  DICT_6X6_250: 10,
} as const;
export type DictionaryName = keyof typeof DICTIONARIES;

export interface BoardSpec {
  /** Squares along x (columns) and y (rows). */
  squaresX: number;
  squaresY: number;
  /** Square edge (m). */
  squareSize: number;
  /** ArUco marker edge (m), < squareSize. */
  markerSize: number;
  dictionary: DictionaryName;
}

/** Marker edge as a fraction of the square when none is given. */
export const DEFAULT_MARKER_FRACTION = 0.75;

/**
 * Parses `WxH:SIZE[:MARKER]` (squares across × down, square edge in metres, marker edge in metres).
 * Throws RangeError naming what is wrong and the expected form.
 */
export function parseBoard(text: string, dictionary: string = 'DICT_4X4_50'): BoardSpec {
  const form = 'expected WxH:SIZE[:MARKER], e.g. 7x5:0.04 (7 by 5 squares of 4 cm; markers 3/4 of a square unless given, in metres)';
  const m = /^\s*(\d+)\s*[xX]\s*(\d+)\s*:\s*([0-9.eE+-]+)\s*(?::\s*([0-9.eE+-]+)\s*)?$/.exec(text);
  if (!m) throw new RangeError(`board "${text}": ${form}`);
  const squaresX = Number(m[1]), squaresY = Number(m[2]), squareSize = Number(m[3]);
  const markerSize = m[4] === undefined ? squareSize * DEFAULT_MARKER_FRACTION : Number(m[4]);
  if (squaresX < 3 || squaresY < 3 || squaresX > 64 || squaresY > 64) throw new RangeError(`board "${text}": ${squaresX}x${squaresY} squares; each side needs 3 to 64 squares (the corners are the inner ones: (W-1)x(H-1))`);
  if (!(squareSize > 0 && squareSize < 1)) throw new RangeError(`board "${text}": square size ${m[3]} must be in metres, > 0 and < 1 (4 cm is 0.04)`);
  if (!(markerSize > 0 && markerSize < squareSize)) throw new RangeError(`board "${text}": marker size ${markerSize} must be > 0 and smaller than the square (${squareSize})`);
  if (!(dictionary in DICTIONARIES)) throw new RangeError(`unknown ArUco dictionary "${dictionary}": one of ${Object.keys(DICTIONARIES).join(', ')}`);
  const spec: BoardSpec = { squaresX, squaresY, squareSize, markerSize, dictionary: dictionary as DictionaryName };
  const markers = Math.floor((squaresX * squaresY) / 2);
  const capacity = Number(/_(\d+)$/.exec(dictionary)![1]);
  if (markers > capacity) throw new RangeError(`board "${text}" holds ${markers} markers but ${dictionary} has ${capacity}: pick a larger dictionary`);
  return spec;
}

/** The board in words (for camera files and messages). */
export function describeBoard(b: BoardSpec): string {
  return `ChArUco ${b.squaresX}x${b.squaresY} squares of ${b.squareSize} m, markers ${+b.markerSize.toFixed(6)} m, ${b.dictionary}`;
}

/** Number of inner corners. */
export function cornerCount(b: BoardSpec): number {
  return (b.squaresX - 1) * (b.squaresY - 1);
}

/** Inner corner `id` in the board frame (m). */
export function cornerPosition(b: BoardSpec, id: number): Vec3 {
  const n = b.squaresX - 1;
  return [((id % n) + 1) * b.squareSize, (Math.floor(id / n) + 1) * b.squareSize, 0];
}

/** Where the board lies on the table: its origin corner at (x, y), its x axis turned by yawDeg from the table's x. */
export interface BoardPlacement {
  x: number;
  y: number;
  yawDeg: number;
  /** Height of the printed surface above the table top (m): the thickness of a backing plate. Default 0. */
  height?: number;
}

/**
 * Board frame → table frame (4×4 row-major) for a board lying printed side up: z into the sheet
 * points down, so the board's y axis is its x axis turned by −90° (seen from above).
 */
export function boardToTable(p: BoardPlacement): number[] {
  const a = (p.yawDeg * Math.PI) / 180;
  const c = Math.cos(a), s = Math.sin(a);
  return [c, s, 0, p.x, s, -c, 0, p.y, 0, 0, -1, p.height ?? 0, 0, 0, 0, 1];
}
