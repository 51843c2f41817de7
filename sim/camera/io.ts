/** Reading and writing camera files (Node only; the rest of sim/camera is browser-safe). */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CameraFileError, parseCameraFile } from './camera-file.ts';
import type { CameraFile } from './camera-file.ts';

/** Reads and validates a camera file; a missing, unreadable or malformed file throws CameraFileError. */
export function readCameraFile(path: string): CameraFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const what = e.code === 'ENOENT' ? 'the file does not exist' : `cannot read the file: ${e.message}`;
    throw new CameraFileError(path, [what], { fix: `check the path, or make the file with \`npx simreal camera calibrate --images DIR --board WxH:SIZE --out ${path}\`` });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CameraFileError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseCameraFile(data, path);
}

/** Validates and writes a camera file (atomically: a temporary file renamed into place). */
export function writeCameraFile(path: string, cam: CameraFile): void {
  const valid = parseCameraFile(cam, 'the camera to write');
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(valid, null, 2)}\n`);
  renameSync(tmp, path);
}
