/**
 * Calibration photos from a folder: PNG (fast-png, already the project's PNG codec) and JPEG
 * (jpeg-js: pure JavaScript, no native build, BSD-3-Clause, the JPEG decoder most npm image
 * tools build on), decoded to grayscale as OpenCV weighs channels (0.299 R + 0.587 G + 0.114 B).
 * Node only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { decode as decodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import type { GrayImage } from './opencv.ts';

const EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** Largest photo accepted (pixels): 50 MP. */
const MAX_PIXELS = 50e6;

/** Photo files in `dir` (PNG and JPEG by extension, any case), sorted by name. Throws if the folder cannot be listed. */
export function listImages(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is a file, not a folder`);
    names = readdirSync(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(e.code === 'ENOENT' ? `the folder ${dir} does not exist` : `cannot list ${dir}: ${e.message}`);
  }
  return names.filter((n) => EXTENSIONS.has(extname(n).toLowerCase())).sort();
}

function toGray(width: number, height: number, data: ArrayLike<number>, channels: number, max: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const scale = 255 / max;
  for (let i = 0, s = 0; i < out.length; i++, s += channels) {
    const v = channels >= 3 ? 0.299 * data[s] + 0.587 * data[s + 1] + 0.114 * data[s + 2] : data[s];
    out[i] = Math.round(v * scale);
  }
  return out;
}

/** Decodes a PNG or JPEG file to grayscale. Throws an Error saying why a file cannot be read. */
export function readGrayImage(path: string): GrayImage {
  const bytes = readFileSync(path);
  const ext = extname(path).toLowerCase();
  if (ext === '.png') {
    const png = decodePng(bytes);
    if (png.width * png.height > MAX_PIXELS) throw new Error(`${png.width}x${png.height} is larger than ${MAX_PIXELS / 1e6} MP`);
    let { data, channels } = png;
    if (png.palette) {
      // Indexed colours: look each index up.
      const rgb = new Uint8Array(png.width * png.height * 3);
      for (let i = 0; i < png.width * png.height; i++) rgb.set(png.palette[data[i]].slice(0, 3), 3 * i);
      data = rgb;
      channels = 3;
    }
    const max = png.palette ? 255 : 2 ** png.depth - 1;
    return { width: png.width, height: png.height, data: toGray(png.width, png.height, data, channels, max) };
  }
  if (ext === '.jpg' || ext === '.jpeg') {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 2048 });
    return { width: img.width, height: img.height, data: toGray(img.width, img.height, img.data, 4, 255) };
  }
  throw new Error(`not a PNG or JPEG file name (${ext || 'no extension'})`);
}

/** Every photo of a folder, decoded; an unreadable file is reported through `skip` and left out. */
export function readCalibrationImages(dir: string, skip: (name: string, why: string) => void): Array<{ name: string; image: GrayImage }> {
  const out: Array<{ name: string; image: GrayImage }> = [];
  for (const name of listImages(dir)) {
    try {
      out.push({ name, image: readGrayImage(join(dir, name)) });
    } catch (err) {
      skip(name, `cannot be read as an image: ${(err as Error).message}`);
    }
  }
  return out;
}
