import { describe, expect, it } from 'vitest';
import { cornerPosition, parseBoard } from '../../sim/camera/calibration/board.ts';
import { calibrate, loadOpenCv } from '../../sim/camera/calibration/opencv.ts';

describe('the OpenCV boundary', () => {
  it('turns an OpenCV exception (a bare number) into an Error naming the step and OpenCV\'s message', async () => {
    const { cv } = await loadOpenCv();
    const board = parseBoard('5x4:0.03');
    const object = new Float64Array(3 * 12);
    for (let id = 0; id < 12; id++) object.set(cornerPosition(board, id), 3 * id);
    // Ten image points for twelve board points.
    const image = new Float64Array(2 * 10).map((_, i) => 100 + 10 * i);
    expect(() => calibrate(cv, [{ object, image }], { width: 640, height: 480, fitK3: false })).toThrow(/^OpenCV failed in calibrateCameraExtended: .*\S/);
  });

  it('parses board specs and refuses bad ones with the expected form', () => {
    expect(parseBoard('7x5:0.04')).toEqual({ squaresX: 7, squaresY: 5, squareSize: 0.04, markerSize: 0.03, dictionary: 'DICT_4X4_50' });
    expect(parseBoard('9X6:0.025:0.018', 'DICT_5X5_100').markerSize).toBe(0.018);
    expect(() => parseBoard('7x5:0.04:0.05')).toThrow(/marker size 0\.05 must be > 0 and smaller than the square/);
    expect(() => parseBoard('2x5:0.04')).toThrow(/each side needs 3 to 64 squares/);
    expect(() => parseBoard('20x20:0.01')).toThrow(/holds 200 markers but DICT_4X4_50 has 50: pick a larger dictionary/);
    // Six inner corners per row: corner 6 starts the second row.
    expect(cornerPosition(parseBoard('7x5:0.04'), 6)).toEqual([0.04, 0.08, 0]);
  });
});
