// A world-mounted camera's calibration follows from the look alone: the same as the scene builder
// gives once dressed in that look (no GPU needed: the builder is only dressed, never drawn).
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../sim/scenario.ts';
import { TabletopEnv } from '../../sim/env.ts';
import { lookCameraFrame, SceneBuilder } from '../../sim/render/scene-builder.ts';
import { sampleLook, visualConfig } from '../../sim/render/look.ts';

describe('camera calibration from a look', () => {
  it('equals the dressed scene builder\'s camera for randomized looks, and refuses the wrist camera', () => {
    const scenario = loadScenario('scenarios/stack-2.json');
    const env = new TabletopEnv(scenario);
    const builder = new SceneBuilder();
    for (const [mode, seed] of [['train', 3], ['heldout', 4], ['none', 5]] as const) {
      env.reset({ seed });
      const state = env.scene.snapshot();
      const look = sampleLook(visualConfig(scenario.visual), mode, seed, state.bodies.map((b) => b.name));
      builder.setLook(look);
      builder.update(state);
      const want = builder.cameraFrame('front', 160, 120);
      const got = lookCameraFrame(look, 'front', 160, 120);
      expect(got.K).toEqual(want.K);
      got.cameraToWorld.forEach((v, i) => expect(v).toBeCloseTo(want.cameraToWorld[i], 12));
    }
    builder.dispose();
    expect(() => lookCameraFrame(sampleLook(visualConfig(undefined), 'train', 1, ['block0']), 'wrist', 64, 64)).toThrow(/palm/);
  });
});
