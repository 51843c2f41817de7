/**
 * Sweeps hold every parameter but one at the robot's nominal physics: the SO-101's blocks are
 * smaller than the mount's, so its sweeps must hold them at its own nominal size (a sweep at the
 * mount's 5 cm blocks measured every SO-101 parameter beyond its training range).
 */
import { describe, expect, it } from 'vitest';
import { TabletopEnv } from '../../sim/env.ts';
import { SO101_BLOCK_SIZE } from '../../sim/robot/so101/arm.ts';
import { NOMINAL_VALUES, extentOf, nominalValuesFor, rangesWith, sweepValues } from '../../sim/robustness.ts';
import { loadScenario } from '../../sim/scenario.ts';

describe('sweeps at the robot\'s nominal physics', () => {
  it('hold the SO-101\'s blocks at its own nominal size, the mount\'s at its own', () => {
    expect(nominalValuesFor('so101').blockSize).toBe(SO101_BLOCK_SIZE);
    expect(nominalValuesFor('mount')).toEqual(NOMINAL_VALUES);
    expect(rangesWith('friction', 0.3, 'so101').blockSize).toEqual([SO101_BLOCK_SIZE, SO101_BLOCK_SIZE]);
    expect(rangesWith('friction', 0.3).blockSize).toEqual([NOMINAL_VALUES.blockSize, NOMINAL_VALUES.blockSize]);
  });

  it('run SO-101 episodes with blocks inside its training range when block size is not the swept parameter', () => {
    const scenario = loadScenario('scenarios/so101-stack-2.json');
    const [lo, hi] = extentOf(scenario.randomization.blockSize);
    const env = new TabletopEnv(scenario, { ranges: rangesWith('friction', 0.3, scenario.robot) });
    env.reset({ seed: 5 });
    for (const s of env.scene.blockSizes) {
      expect(s).toBeGreaterThanOrEqual(lo);
      expect(s).toBeLessThanOrEqual(hi);
    }
    // The swept values of block size reach around the SO-101's ranges and its nominal size.
    const values = sweepValues('blockSize', scenario, 6);
    expect(Math.min(...values)).toBeLessThan(lo);
    expect(Math.max(...values)).toBeGreaterThan(hi);
  });
});
