// The pose estimator trained straight from the renderer: a tiny run on a fixed seed must lower
// the held-out error measurably, stream frames in an order that does not depend on how many
// workers render them, and resume exactly where it stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../policy/backend.ts';
import type { BackendChoice } from '../../policy/backend.ts';
import { FrameStream } from '../../policy/perception/stream.ts';
import type { FrameSourceSpec } from '../../policy/perception/frame-source.ts';
import { defaultRegion } from '../../policy/perception/virtual-view.ts';
import { trainPoseStream } from '../../policy/train/pose-stream.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { deriveSeed } from '../../sim/rng.ts';
import { needs } from '../system-packages.ts';

const scenario = loadScenario('scenarios/stack-2.json');
const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'simreal-pose-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const spec: FrameSourceSpec = {
  scenario, looks: 'train', physics: 'train', camera: 'front', renderSize: 96,
  view: { size: 64, region: defaultRegion(scenario.task) }, framesPerEpisode: 4, dartNoise: 0.2, augment: true,
};

describe('streamed pose training', needs('webgpu'), () => {
  it('hands out the same frames in the same order with one or two render workers', async () => {
    const take = async (workers: number) => {
      const s = await FrameStream.open(spec, { workers, seed: (i) => deriveSeed(7, 'pose-stream', i), ahead: 3 });
      const out = [];
      for (let i = 0; i < 10; i++) out.push(await s.next());
      await s.close();
      return out;
    };
    const one = await take(1), two = await take(2);
    expect(two.map((f) => [f.seed, f.step])).toEqual(one.map((f) => [f.seed, f.step]));
    two.forEach((f, i) => expect(Buffer.compare(Buffer.from(f.rgb), Buffer.from(one[i].rgb))).toBe(0));
    // Resuming from a position gives the frames that came after it.
    const s = await FrameStream.open(spec, { seed: (i) => deriveSeed(7, 'pose-stream', i), start: { episode: 1, frame: 2 } });
    const next = await s.next();
    await s.close();
    const after = one.findIndex((f) => f.seed === deriveSeed(7, 'pose-stream', 1)) + 2;
    expect([next.seed, next.step]).toEqual([one[after].seed, one[after].step]);
  }, 120_000);

  it('lowers the held-out error on a fixed seed within 1,280 frames', async () => {
    let choice: BackendChoice | null = null;
    try {
      choice = await selectBackend({ backend: 'wasm', model: 'conv' });
      const out = tmp();
      const r = await trainPoseStream({
        scenario, scenarioPath: 'scenarios/stack-2.json', out, choice, frames: 1280, evalEvery: 640, evalFrames: 40,
        viewSize: 64, renderSize: 96, batchSize: 16, learningRate: 4e-3, seed: 3,
        arch: { encoder: [-16, -32, 32, -64, 64], decoder: [32], stride: 4 },
      });
      const curve = r.card.perception!.learningCurve;
      expect(curve.map((c) => c.frames)).toEqual([0, 640, 1280]);
      // Untrained, the peaks land anywhere on the table (~27 cm off); 1,280 fresh frames must cut
      // that by a fifth at least (this seed: 26.5 → 21.9 → 18.3 cm; the mean of 80 block errors
      // varies by ~2 cm). The training looks are wide, so the first few hundred frames move it little.
      expect(curve[0].meanCm).toBeGreaterThan(15);
      expect(curve[2].meanCm).toBeLessThan(0.8 * curve[0].meanCm);
      expect(r.card.metrics.meanErrorCm).toBeCloseTo(curve[2].meanCm, 6);
      expect(r.card.kind).toBe('pose');
      expect(r.card.execution).toBeUndefined();
    } finally {
      choice?.dispose();
    }
  }, 300_000);
});
