import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cameraForImage, CameraFileError, parseCameraFile } from '../../sim/camera/index.ts';
import { readCameraFile, writeCameraFile } from '../../sim/camera/io.ts';
import { syntheticCamera } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'simreal-camera-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(fn: () => unknown): CameraFileError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CameraFileError) return e;
    throw e;
  }
  throw new Error('expected a CameraFileError');
}

describe('camera files', () => {
  it('round-trips through a file', () => {
    const cam = { ...syntheticCamera([-0.2, 0.05, 0.001, 0, 0]), name: 'front', provenance: { source: 'calibration' as const, reprojectionErrorPx: 0.2, images: 9 } };
    const path = join(dir, 'sub', 'cam.json');
    writeCameraFile(path, cam);
    expect(readCameraFile(path)).toEqual(cam);
    expect(JSON.parse(readFileSync(path, 'utf8')).schemaVersion).toBe(1);
  });

  it('refuses a missing file, naming it and how to make one', () => {
    const path = join(dir, 'nope.json');
    const e = errorOf(() => readCameraFile(path));
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/does not exist/);
    expect(e.message).toMatch(/npx simreal camera calibrate --images DIR --board WxH:SIZE/);
  });

  it('refuses malformed JSON and invalid fields with the JSON path, the value and the fix', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"schemaVersion": 1,');
    expect(errorOf(() => readCameraFile(bad)).message).toMatch(/bad\.json is not a valid camera file:\n {2}- not valid JSON/);

    const good = syntheticCamera([0, 0, 0, 0, 0]);
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, intrinsics: { ...good.intrinsics, fx: -3 } }, /intrinsics\.fx: expected a number > 0, got -3/],
      [{ ...good, distortion: [0, 0, 0] }, /distortion/],
      [{ ...good, schemaVersion: 2 }, /schemaVersion: .*got 2/],
      [{ ...good, width: 64.5 }, /width: .*got 64\.5/],
      [{ ...good, extra: 1 }, /extra.*allowed keys are listed in sim\/camera\/camera-file\.ts/],
      [{ ...good, cameraToTable: good.cameraToTable.map((v, i) => (i === 0 ? v * 2 : v)) }, /cameraToTable: not a rigid transform: its upper-left 3x3 block must be a rotation/],
      [{ ...good, cameraToTable: good.cameraToTable.map((v, i) => (i === 15 ? 2 : v)) }, /cameraToTable: not a rigid transform: the last row must be \[0, 0, 0, 1\]/],
      [{ ...good, cameraToTable: good.cameraToTable.map((v, i) => (i % 4 === 0 && i < 12 ? -v : v)) }, /determinant -1/],
      [{ ...good, provenance: { source: 'guess' } }, /provenance\.source/],
    ];
    for (const [data, re] of cases) {
      const path = join(dir, 'invalid.json');
      writeFileSync(path, JSON.stringify(data));
      const e = errorOf(() => readCameraFile(path));
      expect(e.message).toContain(`${path} is not a valid camera file`);
      expect(e.message).toMatch(re);
      expect(e.message).toMatch(/simreal camera calibrate/);
    }
    expect(() => parseCameraFile(good)).not.toThrow();
  });

  it('fits a camera to the frames: same size as is, same aspect ratio scaled, another aspect ratio refused', () => {
    const cam = syntheticCamera([0, 0, 0, 0, 0]);
    expect(cameraForImage(cam, 640, 480)).toBe(cam);
    const small = cameraForImage(cam, 128, 96);
    expect(small.intrinsics.fx).toBeCloseTo(cam.intrinsics.fx / 5, 12);
    expect(small.intrinsics.cy).toBeCloseTo(cam.intrinsics.cy / 5, 12);
    const e = errorOf(() => cameraForImage(cam, 128, 128, 'cam.json'));
    expect(e.message).toMatch(/cam\.json does not fit these frames:\n {2}- a calibration for 640x480 \(4:3\) but the frames are 128x128 \(1:1\)/);
    expect(e.message).toMatch(/calibrate the camera at 128x128/);
  });
});
