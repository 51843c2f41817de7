import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { project } from '../../sim/camera/projection.ts';
import type { CameraFile } from '../../sim/camera/camera-file.ts';
import { ESTIMATE_COLOUR, TRUTH_COLOUR, cameraFramesPng, drawFrame } from '../../workflows/report/camera-frames.ts';

/** A 64x48 camera 0.5 m above the table looking straight down (image x = table x, image y = −table y). */
const cam: CameraFile = {
  schemaVersion: 1, name: 'down', width: 64, height: 48,
  intrinsics: { fx: 60, fy: 60, cx: 32, cy: 24 }, distortion: [0, 0, 0, 0, 0],
  cameraToTable: [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0.5, 0, 0, 0, 1],
} as CameraFile;

const grey = new Uint8Array(64 * 48 * 3).fill(90);
const colourAt = (img: { rgb: Uint8Array; width: number }, x: number, y: number) => Array.from(img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

describe('camera frames with estimates drawn', () => {
  it('draws each block as a cube projected through the calibration: truth green, estimate orange, where they lie', () => {
    const truth = { position: [0.1, 0, 0.025] as [number, number, number], yaw: 0, size: 0.05 };
    const estimate = { position: [-0.1, 0.05, 0.025] as [number, number, number], yaw: 0.3, size: 0.05 };
    const img = drawFrame({ rgb: grey, calibration: cam, estimates: [estimate], truth: [truth], label: '' });
    expect([img.width, img.height]).toEqual([192, 144]);
    // The top face's corners project where the calibration puts them (3 drawing pixels a camera pixel).
    const corner = project(cam, [0.125, 0.025, 0.05]);
    const near = (x: number, y: number, c: readonly number[]) => {
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (colourAt(img, Math.round(x) + dx, Math.round(y) + dy).join() === c.join()) return true;
      return false;
    };
    expect(near(corner.u * 3, corner.v * 3, TRUTH_COLOUR)).toBe(true);
    const centre = project(cam, estimate.position);
    const top = project(cam, [-0.1 + 0.025 * Math.cos(0.3) - 0.025 * Math.sin(0.3), 0.05 + 0.025 * Math.sin(0.3) + 0.025 * Math.cos(0.3), 0.05]);
    expect(near(top.u * 3, top.v * 3, ESTIMATE_COLOUR)).toBe(true);
    // Inside the cubes and elsewhere the image is the camera's, enlarged.
    expect(colourAt(img, Math.round(centre.u * 3), Math.round(centre.v * 3))).toEqual([90, 90, 90]);
    expect(colourAt(img, 2, 2)).toEqual([90, 90, 90]);
  });

  it('lays frames out side by side in one PNG, and refuses a frame that does not match its calibration', () => {
    const f = { rgb: grey, calibration: cam, estimates: [], truth: [], label: '' };
    const png = decode(cameraFramesPng([f, f, f], 2));
    expect([png.width, png.height]).toEqual([2 * 192 + 4, 2 * 144 + 4]);
    expect(() => drawFrame({ ...f, rgb: new Uint8Array(10) })).toThrow(/10 bytes does not match its calibration \(64x48 RGB\)/);
    expect(() => cameraFramesPng([])).toThrow(/no camera frames/);
  });
});
