/** The command a policy's output becomes on the bridge: the action the simulator would execute. */
import { describe, expect, it } from 'vitest';
import { commandOf } from '../../workflows/bridge-run.ts';

describe('commandOf', () => {
  it('keeps the first five values, each clipped to [-1, 1] as the simulator clips an action', () => {
    expect(commandOf(Float32Array.from([0.25, -3, 1.5, -1, 2.75, 9]))).toEqual([0.25, -1, 1, -1, 1]);
    expect(commandOf([0, 0, 0, 0, -1.0001])).toEqual([0, 0, 0, 0, -1]);
  });

  it('leaves a value that is not a number as it is, for the hub to refuse', () => {
    const c = commandOf([0, Number.NaN, 0, 0, 0]);
    expect(Number.isNaN(c[1])).toBe(true);
  });
});
