// Frames of a robot's own camera (the emulated robot's, at its fixed place) as the pose estimator
// sees them at run time: drawn from the camera's real pose, rectified through the calibration file
// it publishes. `simreal eval --frames --reality` measures the estimator on exactly these.
import { describe, expect, it } from 'vitest';
import { calibrationPath, fixedPose } from '../../bridge/robots/emulated/camera.ts';
import { loadReality } from '../../bridge/robots/emulated/reality.ts';
import { createFrameSource } from '../../policy/perception/frame-source.ts';
import type { PoseFrame } from '../../policy/perception/frame-source.ts';
import { defaultRegion } from '../../policy/perception/virtual-view.ts';
import { readCameraFile } from '../../sim/camera/io.ts';
import { needs } from '../system-packages.ts';
import { runCli } from '../cli/run-cli.ts';

const reality = loadReality('scenarios/reality/lab.json');
const camera = reality.config.camera!;
const calibration = readCameraFile(calibrationPath(reality));

/** Median distance (px) between each well-visible block's segmented centroid and where its true centre projects in the virtual view. */
async function medianOffset(turnDeg: number): Promise<{ median: number; frames: PoseFrame[] }> {
  const pose = fixedPose(camera);
  pose.rotationDeg = [pose.rotationDeg[0] + turnDeg, pose.rotationDeg[1], pose.rotationDeg[2]];
  const size = 96;
  const source = await createFrameSource({
    scenario: reality.scenario, looks: camera.looks, physics: 'train', camera: 'front', renderSize: camera.width,
    view: { size, region: defaultRegion(reality.scenario.task) }, framesPerEpisode: 4, dartNoise: 0, labels: true,
    fixedCamera: { pose, calibration },
  });
  const offsets: number[] = [];
  const frames: PoseFrame[] = [];
  try {
    for (const seed of [11, 12, 13]) {
      for (const f of await source.episode(seed)) {
        frames.push(f);
        f.blocks.forEach((_, b) => {
          let su = 0, sv = 0, n = 0;
          f.segmentation!.forEach((id, i) => {
            if (id !== f.blockIds[b]) return;
            su += (i % size) + 0.5;
            sv += Math.floor(i / size) + 0.5;
            n++;
          });
          if (n > 20) offsets.push(Math.hypot(su / n - f.pixels[b][0], sv / n - f.pixels[b][1]));
        });
      }
    }
  } finally {
    source.dispose();
  }
  offsets.sort((a, b) => a - b);
  expect(offsets.length).toBeGreaterThan(10);
  return { median: offsets[offsets.length >> 1], frames };
}

describe('frames of a fixed, calibrated camera', needs('webgpu'), () => {
  it('are drawn from the camera\'s own place and rectified through its calibration file', async () => {
    const at = await medianOffset(0);
    // Every frame is rectified through the published calibration, not the renderer's exact camera.
    for (const f of at.frames) expect(f.source).toBe(calibration);
    // The calibration is a few millimetres and 0.2° off the truth, so the blocks land within a
    // pixel or two of where it projects them (here: median 0.7 px)...
    expect(at.median).toBeLessThan(1.5);
    // ...and a camera turned 3° from the place its calibration describes puts them ~7 px away:
    // the pose drawn is the fixed one, not the look's randomized camera.
    const turned = await medianOffset(3);
    expect(turned.median).toBeGreaterThan(4);
  }, 120_000);
});

describe('simreal eval --reality, refused', () => {
  it('needs --frames and the reality\'s own looks, naming what to change (exit 2)', async () => {
    const noFrames = await runCli(['eval', 'models/none', 'scenarios/stack-2.json', '--reality', 'scenarios/reality/lab.json']);
    expect(noFrames.code).toBe(2);
    expect(noFrames.stderr).toMatch(/--reality measures a pose estimator.*add --frames/);
    const looks = await runCli(['eval', 'models/none', 'scenarios/stack-2.json', '--frames', '10', '--looks', 'train', '--reality', 'scenarios/reality/lab.json']);
    expect(looks.code).toBe(2);
    expect(looks.stderr).toMatch(/--reality measures on the reality's own looks and physics, so --looks does not apply/);
    const otherTask = await runCli(['eval', 'models/none', 'scenarios/stack-3.json', '--frames', '10', '--reality', 'scenarios/reality/lab.json']);
    expect(otherTask.code).toBe(2);
    expect(otherTask.stderr).toMatch(/lab\.json sets up .*stack-3\.json is .*give the scenario the reality names/);
  }, 120_000);
});
