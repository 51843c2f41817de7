/** Reading an SO-100/SO-101 calibration file (LeRobot's format, calibration.ts) from disk. */
import * as fs from 'node:fs';
import { parseCalibration } from './calibration.ts';
import type { So101Calibration } from './calibration.ts';

export function loadCalibration(path: string): So101Calibration {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read calibration file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`calibration file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseCalibration(json, path);
}
