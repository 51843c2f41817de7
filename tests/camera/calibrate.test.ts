// Calibration on rendered ChArUco boards with known ground truth (lavapipe on CPU machines and in CI).
import { afterAll, describe, expect, it } from 'vitest';
import type { CameraFile } from '../../sim/camera/camera-file.ts';
import { distortPixel, project, undistortPixel } from '../../sim/camera/projection.ts';
import { boardToTable, cornerPosition, parseBoard } from '../../sim/camera/calibration/board.ts';
import { calibrateCamera } from '../../sim/camera/calibration/calibrate.ts';
import type { CalibrationResult } from '../../sim/camera/calibration/calibrate.ts';
import { CharucoDetector, loadOpenCv } from '../../sim/camera/calibration/opencv.ts';
import type { GrayImage } from '../../sim/camera/calibration/opencv.ts';
import { HeadlessRenderer } from '../../sim/render/headless.ts';
import { calibrationViews, renderBoardViews } from './board-views.ts';
import type { RenderedPhoto } from './board-views.ts';
import { openIfRendering } from './gpu.ts';
import { needs } from '../system-packages.ts';

const renderer = await openIfRendering(() => HeadlessRenderer.create({ width: 640, height: 480, labels: false }));
afterAll(() => renderer?.dispose());

const board = parseBoard('7x5:0.06');
const FOV = 50;
const PLACEMENT = { x: -0.14, y: 0.1, yawDeg: 0 };
const views = () => calibrationViews(board, PLACEMENT);

function angleBetween(a: readonly number[], b: readonly number[]): number {
  // Angle of the relative rotation Aᵀ B.
  let tr = 0;
  for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) tr += a[k * 4 + i] * b[k * 4 + i];
  return (Math.acos(Math.min(1, Math.max(-1, (tr - 1) / 2))) * 180) / Math.PI;
}

/** The photos as a lens with `distortion` would take them: each output pixel samples the pinhole render where the model says (bilinear). */
function distortPhotos(photos: readonly RenderedPhoto[], distortion: [number, number, number, number, number]): Array<{ name: string; image: GrayImage }> {
  return photos.map((p) => {
    const { width, height, data } = p.image;
    const cam = { ...p.truth, distortion };
    const out = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const s = undistortPixel(cam, x + 0.5, y + 0.5);
        const fx = s.u - 0.5, fy = s.v - 0.5, x0 = Math.floor(fx), y0 = Math.floor(fy);
        if (x0 < 0 || y0 < 0 || x0 + 1 >= width || y0 + 1 >= height) continue;
        const ax = fx - x0, ay = fy - y0, i = y0 * width + x0;
        out[y * width + x] = Math.round((1 - ay) * ((1 - ax) * data[i] + ax * data[i + 1]) + ay * ((1 - ax) * data[i + width] + ax * data[i + width + 1]));
      }
    }
    return { name: p.name, image: { width, height, data: out } };
  });
}

/** Largest distance (pixels) between where two lens models put the same pinhole pixel, over the image. */
function worstDisplacement(a: CameraFile, b: CameraFile): number {
  let worst = 0;
  for (let v = 0.5; v < a.height; v += 16) {
    for (let u = 0.5; u < a.width; u += 16) {
      const p = distortPixel(a, u, v), q = distortPixel(b, u, v);
      worst = Math.max(worst, Math.hypot(p.u - q.u, p.v - q.v));
    }
  }
  return worst;
}

describe('camera calibration on rendered ChArUco boards', needs('webgpu'), async () => {
  const photos: RenderedPhoto[] = renderer ? await renderBoardViews(renderer, board, views(), FOV) : [];
  const calibrate = (images: Array<{ name: string; image: GrayImage }>) =>
    calibrateCamera({ board, images, tableImage: photos[0].name, placement: PLACEMENT, date: '2026-01-01T00:00:00Z' });

  function expectTruth(r: CalibrationResult, truth: CameraFile, bounds: { focal: number; principal: number; mm: number; deg: number }): void {
    const k = r.camera.intrinsics, t = truth.intrinsics;
    expect(Math.abs(k.fx / t.fx - 1)).toBeLessThan(bounds.focal);
    expect(Math.abs(k.fy / t.fy - 1)).toBeLessThan(bounds.focal);
    expect(Math.hypot(k.cx - t.cx, k.cy - t.cy)).toBeLessThan(bounds.principal);
    const dp = [3, 7, 11].map((i) => r.camera.cameraToTable[i] - truth.cameraToTable[i]);
    expect(Math.hypot(...dp) * 1000).toBeLessThan(bounds.mm);
    expect(angleBetween(r.camera.cameraToTable, truth.cameraToTable)).toBeLessThan(bounds.deg);
  }

  it('the detector finds the corners where the renderer drew them, in the camera file\'s pixel convention', async () => {
    const { cv } = await loadOpenCv();
    const det = new CharucoDetector(cv, board);
    const truth = photos[0].truth;
    const pose = boardToTable(PLACEMENT);
    const found = det.detect(photos[0].image);
    det.delete();
    expect(found.ids.length).toBe(24);
    let du = 0, dv = 0, worst = 0;
    found.ids.forEach((id, k) => {
      const p = cornerPosition(board, id);
      const q = project(truth, [0, 1, 2].map((i) => pose[i * 4] * p[0] + pose[i * 4 + 1] * p[1] + pose[i * 4 + 2] * p[2] + pose[i * 4 + 3]));
      du += found.points[2 * k] - q.u;
      dv += found.points[2 * k + 1] - q.v;
      worst = Math.max(worst, Math.hypot(found.points[2 * k] - q.u, found.points[2 * k + 1] - q.v));
    });
    // Measured: mean (−0.009, −0.011) px, worst 0.3 px. A half-pixel convention change would show as ±0.5.
    expect(Math.abs(du / 24)).toBeLessThan(0.1);
    expect(Math.abs(dv / 24)).toBeLessThan(0.1);
    expect(worst).toBeLessThan(0.5);
  });

  it('recovers the intrinsics and the camera pose in the table frame', async () => {
    const r = await calibrate(photos.map((p) => ({ name: p.name, image: p.image })));
    expect(r.views.filter((v) => v.skipped)).toEqual([]);
    expect(r.camera.provenance).toMatchObject({ source: 'calibration', images: photos.length, date: '2026-01-01T00:00:00Z' });
    // Measured (lavapipe): RMS 0.065 px (table image 0.10), focal −0.03 %, principal point 0.43 px,
    // position 0.28 mm, rotation 0.07°, fitted lens ≤ 0.51 px from a pinhole.
    expect(r.rmsPx).toBeLessThan(0.25);
    expect(r.tableRmsPx).toBeLessThan(0.3);
    expectTruth(r, photos[0].truth, { focal: 0.005, principal: 2, mm: 3, deg: 0.25 });
    // A pinhole render: the fitted lens bends no pixel by more than a fraction of one.
    expect(worstDisplacement(r.camera, { ...r.camera, distortion: [0, 0, 0, 0, 0] })).toBeLessThan(1.5);
  });

  it('recovers a lens distortion (the photos warped by a known barrel lens)', async () => {
    const lens: [number, number, number, number, number] = [-0.15, 0.04, 0.0008, -0.0005, 0];
    const r = await calibrate(distortPhotos(photos, lens));
    const truth = { ...photos[0].truth, distortion: lens };
    // The lens moves image corners by tens of pixels; the fitted one agrees to about a pixel at worst.
    // Measured (lavapipe): k1 −0.154, k2 0.052, worst 0.92 px (image corners, where no board corner was
    // seen), RMS 0.065 px, focal −0.04 %, principal point 0.46 px, position 0.43 mm, rotation 0.04°.
    expect(worstDisplacement(truth, { ...truth, distortion: [0, 0, 0, 0, 0] })).toBeGreaterThan(20);
    expect(worstDisplacement(r.camera, truth)).toBeLessThan(2);
    expect(r.rmsPx).toBeLessThan(0.3);
    expectTruth(r, truth, { focal: 0.01, principal: 3, mm: 5, deg: 0.5 });
  });

  it('names the photos it skips, and stops when too few remain or the table image has no board', async () => {
    const blank = { width: 640, height: 480, data: new Uint8Array(640 * 480).fill(128) };
    const lines: string[] = [];
    const some = photos.slice(0, 4).map((p) => ({ name: p.name, image: p.image }));
    const r = await calibrateCamera({ board, images: [...some, { name: 'blank.png', image: blank }], tableImage: photos[0].name, placement: PLACEMENT, log: (l) => lines.push(l) });
    expect(r.views.find((v) => v.name === 'blank.png')?.skipped).toMatch(/no board found/);
    expect(lines).toContain('blank.png: skipped, no board found (no ArUco marker of the board\'s dictionary)');
    await expect(calibrateCamera({ board, images: [some[0], some[1], { name: 'blank.png', image: blank }], tableImage: photos[0].name, placement: PLACEMENT }))
      .rejects.toThrow(/only 2 of 3 images show the board well enough; at least 3 are needed\. Add photos/);
    await expect(calibrateCamera({ board, images: [...some, { name: 'blank.png', image: blank }], tableImage: 'blank.png', placement: PLACEMENT }))
      .rejects.toThrow(/the table image blank\.png cannot give the camera's pose: no board found/);
    await expect(calibrateCamera({ board, images: some, tableImage: 'missing.png', placement: PLACEMENT })).rejects.toThrow(/the table image "missing\.png" is not among the images/);
    await expect(calibrateCamera({ board, images: [...some, { name: 'small.png', image: { width: 320, height: 240, data: new Uint8Array(320 * 240) } }], tableImage: photos[0].name, placement: PLACEMENT }))
      .rejects.toThrow(/small\.png is 320x240 but view00\.png is 640x480/);
  });
});
