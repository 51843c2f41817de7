// `simreal camera calibrate` and `camera board` as a user runs them: real files, a child process.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as decodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.ts';
import { parseBoard } from '../../sim/camera/calibration/board.ts';
import { CharucoDetector, loadOpenCv } from '../../sim/camera/calibration/opencv.ts';
import { readCameraFile } from '../../sim/camera/io.ts';
import { HeadlessRenderer } from '../../sim/render/headless.ts';
import { encodeRgbPng } from '../../sim/render/png.ts';
import { runCli } from '../cli/run-cli.ts';
import { calibrationViews, renderBoardViews } from './board-views.ts';
import { openIfRendering } from './gpu.ts';
import { needs } from '../system-packages.ts';

const dir = mkdtempSync(join(tmpdir(), 'simreal-camera-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('simreal camera (no GPU needed)', () => {
  it('board writes a PNG of the stated print size whose corners the detector finds', async () => {
    const out = join(dir, 'board.png');
    const r = await runCli(['camera', 'board', '--board', '5x4:0.03', '--dpi', '127', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // 3 cm at 127 dpi is 150 px; 5x4 squares plus half a square of margin on each side.
    expect(r.stdout).toMatch(/: 900x750 px at 127 dpi = 180\.0 x 150\.0 mm; .*a square measures 30\.0 mm/);
    const png = decodePng(readFileSync(out));
    expect([png.width, png.height, png.channels]).toEqual([900, 750, 1]);
    const { cv } = await loadOpenCv();
    const det = new CharucoDetector(cv, parseBoard('5x4:0.03'));
    const found = det.detect({ width: png.width, height: png.height, data: png.data as Uint8Array });
    det.delete();
    expect(found.ids.sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    const again = await runCli(['camera', 'board', '--board', '5x4:0.03', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/board\.png exists; pass --overwrite to replace it/);
  });

  it('refuses bad input with a message that names it and the fix', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const cases: Array<[string[], RegExp]> = [
      [['--images', join(dir, 'nope'), '--board', '7x5:0.04'], /--images: the folder .*nope does not exist/],
      [['--images', empty, '--board', '7x5:0.04'], /--images: no PNG or JPEG photos \(\.png, \.jpg, \.jpeg\) in .*empty/],
      [['--images', empty, '--board', '7x5'], /--board: board "7x5": expected WxH:SIZE\[:MARKER\], e\.g\. 7x5:0\.04/],
      [['--images', empty, '--board', '7x5:40'], /square size 40 must be in metres/],
      [['--images', empty, '--board', '7x5:0.04', '--dictionary', 'DICT_9X9'], /unknown ArUco dictionary "DICT_9X9"/],
      [['--images', empty, '--board', '7x5:0.04', '--board-pose', '1,2'], /--board-pose expects x,y,yawDeg/],
    ];
    for (const [args, re] of cases) {
      // In process (the same dispatcher as bin/simreal.js): a child process per case costs seconds.
      let stderr = '';
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        stderr += String(chunk);
        return true;
      });
      let code: number;
      try {
        code = await main(['camera', 'calibrate', ...args, '--out', join(dir, 'never.json')]);
      } finally {
        spy.mockRestore();
      }
      expect(code).toBe(2);
      expect(stderr).toMatch(re);
    }
  });
});

const renderer = await openIfRendering(() => HeadlessRenderer.create({ width: 640, height: 480, labels: false }));
afterAll(() => renderer?.dispose());

describe('simreal camera calibrate on rendered photos', needs('webgpu'), async () => {
  const board = parseBoard('7x5:0.06');
  const placement = { x: 0.02, y: 0.15, yawDeg: -20 };
  const photos = renderer ? await renderBoardViews(renderer, board, calibrationViews(board, placement), 50) : [];

  it('calibrates from a folder of PNG and JPEG photos, naming the ones it skips', async () => {
    const images = join(dir, 'photos');
    mkdirSync(images);
    photos.forEach((p, k) => {
      // The table image and every other photo as JPEG (quality 92), the rest as PNG.
      if (k % 2 === 0) writeFileSync(join(images, p.name.replace('.png', '.jpg')), jpeg.encode({ width: 640, height: 480, data: rgba(p.rgb) }, 92).data);
      else writeFileSync(join(images, p.name), encodeRgbPng(p.rgb, 640, 480));
    });
    writeFileSync(join(images, 'notes.png'), 'not an image');
    writeFileSync(join(images, 'zz-blank.png'), encodeRgbPng(new Uint8Array(640 * 480 * 3).fill(90), 640, 480));
    const out = join(dir, 'cam.json');
    const r = await runCli(['camera', 'calibrate', '--images', images, '--board', '7x5:0.06', '--table-image', 'view00.jpg', '--board-pose', '0.02,0.15,-20', '--name', 'front', '--out', out], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^notes\.png: skipped, cannot be read as an image: /m);
    expect(r.stderr).toMatch(/^zz-blank\.png: skipped, no board found/m);
    expect(r.stderr).toMatch(/^table image: view00\.jpg \(board origin at 0\.02, 0\.15 m, yaw -20°\)/m);
    expect(r.stdout).toMatch(/RMS reprojection error 0\.\d+ px over 13 of 15 photos \(table image 0\.\d+ px\)/);
    const cam = readCameraFile(out);
    const truth = photos[0].truth;
    expect(cam.name).toBe('front');
    expect(cam.provenance?.board).toBe('ChArUco 7x5 squares of 0.06 m, markers 0.045 m, DICT_4X4_50');
    expect(cam.provenance!.reprojectionErrorPx!).toBeLessThan(0.3);
    expect(Math.abs(cam.intrinsics.fx / truth.intrinsics.fx - 1)).toBeLessThan(0.01);
    const dp = [3, 7, 11].map((i) => cam.cameraToTable[i] - truth.cameraToTable[i]);
    expect(Math.hypot(...dp)).toBeLessThan(0.005);
  });

  it('stops when too few photos show the board, saying what to photograph', async () => {
    const images = join(dir, 'few');
    mkdirSync(images);
    writeFileSync(join(images, 'a.png'), encodeRgbPng(photos[0].rgb, 640, 480));
    writeFileSync(join(images, 'b.png'), encodeRgbPng(new Uint8Array(640 * 480 * 3).fill(90), 640, 480));
    const r = await runCli(['camera', 'calibrate', '--images', images, '--board', '7x5:0.06', '--out', join(dir, 'few.json')], { timeoutMs: 120_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/b\.png: skipped, no board found/);
    expect(r.stderr).toMatch(/simreal: only 1 of 2 images show the board well enough; at least 3 are needed\. Add photos with the board/);
  });
});

function rgba(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array((rgb.length / 3) * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    out[j] = rgb[i];
    out[j + 1] = rgb[i + 1];
    out[j + 2] = rgb[i + 2];
    out[j + 3] = 255;
  }
  return out;
}
