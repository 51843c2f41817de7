// Naming blocks the way the tasks do, measuring errors, and the camera effects of training frames.
import { describe, expect, it } from 'vitest';
import type { TaskConfig } from '../../sim/scenario.ts';
import type { Vec3 } from '../../sim/state.ts';
import { Rng } from '../../sim/rng.ts';
import { nameByRule, nameByTracking } from '../../policy/perception/identity.ts';
import { blockErrors, summarizeErrors } from '../../policy/perception/measure.ts';
import jpeg from 'jpeg-js';
import { augment, gaussianBlur, jpegArtefacts } from '../../policy/perception/augment.ts';

const stack = { id: 'StackBlocks-v1', blocks: 3 } as TaskConfig;
const grasp = { id: 'Grasp-v1', distractors: 3 } as unknown as TaskConfig;

describe('block names', () => {
  it('numbers stack blocks left to right, and finds the grasp target in the middle of its ring', () => {
    expect(nameByRule(stack, [[0.1, 0, 0], [-0.1, 0.05, 0], [0, -0.1, 0]])).toEqual([1, 2, 0]);
    const ring: Vec3[] = [[0.2, 0.1, 0.025], [0.1, 0.1, 0.025], [0.1, 0.2, 0.025], [0.0, 0.1, 0.025], [0.1, 0.0, 0.025]];
    // Detection 1 is the target (the middle); the rest follow by x (ties by index).
    expect(nameByRule(grasp, ring)).toEqual([1, 3, 2, 4, 0]);
  });

  it('carries names from one estimate to the next along the smallest motion', () => {
    const prev: Vec3[] = [[0, 0, 0.025], [0.1, 0, 0.025], [0.2, 0, 0.025]];
    // Block 1 lifted and moved over block 0; detections arrive in another order.
    const now: Vec3[] = [[0.2, 0.005, 0.025], [0.01, 0, 0.075], [0.0, 0.0, 0.025]];
    expect(nameByTracking(prev, now)).toEqual([2, 1, 0]);
  });
});

describe('errors', () => {
  it('matches interchangeable blocks by least error and names the grasp target by its ring', () => {
    const truth: Vec3[] = [[0, 0, 0.025], [0.1, 0, 0.025]];
    expect(blockErrors(stack, [[0.1, 0.01, 0.025], [0, 0, 0.045]], truth).map((e) => +e.toFixed(6))).toEqual([0.02, 0.01]);
    // A missing detection counts as a guess at the table centre.
    expect(blockErrors(stack, [[0.1, 0, 0.025]], truth)[0]).toBeCloseTo(0.025, 9);
    const g: Vec3[] = [[0.1, 0.1, 0.025], [0.2, 0.1, 0.025], [0.0, 0.1, 0.025], [0.1, 0.2, 0.025]];
    const est: Vec3[] = [g[3], g[1], [0.1, 0.11, 0.025], g[2]];
    expect(blockErrors(grasp, est, g)[0]).toBeCloseTo(0.01, 9);
  });

  it('summarizes with bootstrap intervals that contain the estimate and repeat for the same errors', () => {
    const errors = Array.from({ length: 200 }, (_, i) => (i % 10) / 100);
    const s = summarizeErrors(errors);
    expect(s.frames).toBe(200);
    expect(s.meanCm.value).toBeCloseTo(4.5, 9);
    expect(s.medianCm.value).toBeCloseTo(4.5, 9);
    // Linear interpolation between order statistics: position 0.9 · 199 = 179.1 → 8 + 0.1.
    expect(s.p90Cm.value).toBeCloseTo(8.1, 9);
    for (const st of [s.meanCm, s.medianCm, s.p90Cm]) {
      expect(st.low).toBeLessThanOrEqual(st.value);
      expect(st.high).toBeGreaterThanOrEqual(st.value);
    }
    expect(s.meanCm.high - s.meanCm.low).toBeGreaterThan(0.2);
    expect(summarizeErrors(errors)).toEqual(s);
  });
});

describe('camera effects', () => {
  const image = (): Uint8Array => {
    const img = new Uint8Array(64 * 64 * 3);
    for (let i = 0; i < img.length; i++) img[i] = (i * 37 + (i >> 7) * 11) & 255;
    return img;
  };
  const psnr = (a: Uint8Array, b: Uint8Array): number => {
    let se = 0;
    for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
    return 10 * Math.log10((255 * 255) / (se / a.length));
  };

  it('are drawn from the frame\'s generator: same seed, same image; another seed, another', () => {
    const a = image(), b = image(), c = image();
    augment(a, 64, 64, new Rng(5));
    augment(b, 64, 64, new Rng(5));
    augment(c, 64, 64, new Rng(6));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('blur keeps the mean and removes detail', () => {
    const flat = new Uint8Array(32 * 32 * 3);
    for (let i = 0; i < flat.length; i++) flat[i] = (Math.floor(i / 3) % 2) * 200;
    const before = flat.reduce((s, v) => s + v, 0);
    gaussianBlur(flat, 32, 32, 1.5);
    expect(Math.abs(flat.reduce((s, v) => s + v, 0) - before) / before).toBeLessThan(0.01);
    // Away from the clamped borders the stripes are gone.
    const inner: number[] = [];
    for (let y = 5; y < 27; y++) for (let x = 5; x < 27; x++) inner.push(flat[(y * 32 + x) * 3]);
    expect(Math.max(...inner) - Math.min(...inner)).toBeLessThan(10);
  });

  it('JPEG artefacts are what a real encoder-decoder round trip does to the image', () => {
    // A textured test image: smooth gradients, a sharp edge and fine noise.
    const w = 72, h = 56;
    const rng = new Rng(9);
    const img = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
      img[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(60 + 2 * x + c * 30 + (x > 40 ? 70 : 0) + 12 * rng.normal())));
    }
    for (const q of [30, 60, 90]) {
      const ours = Uint8Array.from(img);
      jpegArtefacts(ours, w, h, q, '444');
      const rgba = new Uint8Array(w * h * 4);
      for (let i = 0; i < w * h; i++) rgba.set([img[3 * i], img[3 * i + 1], img[3 * i + 2], 255], 4 * i);
      const dec = jpeg.decode(jpeg.encode({ data: rgba, width: w, height: h }, q).data, { useTArray: true });
      const real = new Uint8Array(w * h * 3);
      for (let i = 0; i < w * h; i++) real.set([dec.data[4 * i], dec.data[4 * i + 1], dec.data[4 * i + 2]], 3 * i);
      // Both lose the same detail: they agree far better than either agrees with the original.
      expect(psnr(ours, img)).toBeLessThan(q === 90 ? 45 : 38);
      expect(psnr(ours, real)).toBeGreaterThan(psnr(real, img) + 8);
    }
    // 4:2:0 loses more colour detail than 4:4:4 at the same quality.
    const a = Uint8Array.from(img), b = Uint8Array.from(img);
    jpegArtefacts(a, w, h, 90, '420');
    jpegArtefacts(b, w, h, 90, '444');
    expect(psnr(a, img)).toBeLessThan(psnr(b, img));
  });
});

describe('block tracking in closed loop', () => {
  const est = (p: Vec3) => ({ position: p, yaw: 0, size: 0.05, score: 0.9 });
  it('keeps a held block with the gripper while the fingers are stalled on it, and lets go when they open', async () => {
    const { BlockTracker } = await import('../../policy/perception/perceived-state.ts');
    const t = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig);
    // Start: block 0 on the left, block 1 on the right (named left to right).
    expect(t.name([est([0.1, 0, 0.025]), est([-0.1, 0, 0.025])]).map((b) => b.position[0])).toEqual([-0.1, 0.1]);
    // The gripper closes on block 1 (fingers stalled at 5 cm while commanded shut).
    const holding = { tcp: [0.1, 0.002, 0.03] as Vec3, width: 0.05, grip: 1 };
    // On their way in the fingers pass 5 cm too: only once they stop there do they hold the block.
    t.name([est([-0.1, 0, 0.025]), est([0.1, 0, 0.025])], { ...holding, width: 0.07 });
    t.name([est([-0.1, 0, 0.025]), est([0.1, 0, 0.025])], holding);
    expect(t.holding).toBeNull();
    t.name([est([-0.1, 0, 0.025]), est([0.1, 0, 0.025])], holding);
    expect(t.holding).toBe(1);
    // Lifted, carried and turned: the camera misplaces the block badly, the held estimate follows the tool.
    const lifted = { ...holding, tcp: [0.0, 0.05, 0.15] as Vec3, yaw: Math.PI / 2 + 0.3 };
    const named = t.name([est([-0.1, 0, 0.025]), est([0.3, 0.2, 0.025])], lifted);
    expect(named[0].position).toEqual([-0.1, 0, 0.025]);
    // Between the pads: under the tool centre point by as much as when the fingers closed
    // (block centre 0.025, tool 0.03), whatever the estimate said at the grasp.
    expect(named[1].position[0]).toBe(0.0);
    expect(named[1].position[1]).toBe(0.05);
    expect(named[1].position[2]).toBeCloseTo(0.145, 12);
    // It turns with the fingers (a cube's yaw repeats every quarter turn).
    expect(named[1].yaw).toBeCloseTo(0.3, 12);
    // Set down on block 0 and let go: it lies where the fingers left it, on block 0 (whatever the
    // half-hidden peak under the opening fingers says), and block 0 keeps its own track.
    const placed = { ...lifted, tcp: [-0.1, 0.005, 0.085] as Vec3 };
    t.name([est([-0.1, 0, 0.025]), est([-0.09, 0, 0.07])], placed);
    const open = t.name([est([-0.1, 0, 0.025]), est([-0.08, 0.03, 0.06])], { ...placed, width: 0.09, grip: -1 });
    expect(t.holding).toBeNull();
    [-0.1, 0.005, 0.075].forEach((v, k) => expect(open[1].position[k]).toBeCloseTo(v, 12));
    expect(open[0].position).toEqual([-0.1, 0, 0.025]);
    // Dropped clear of block 0, it lands on the table.
    const t2 = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig);
    t2.name([est([0.1, 0, 0.025]), est([-0.1, 0, 0.025])]);
    t2.name([est([-0.1, 0, 0.025]), est([0.1, 0, 0.025])], holding);
    t2.name([est([-0.1, 0, 0.025]), est([0.1, 0, 0.025])], holding);
    const air = { ...holding, tcp: [0.05, 0.1, 0.12] as Vec3 };
    t2.name([est([-0.1, 0, 0.025])], air);
    const dropped = t2.name([est([-0.1, 0, 0.025])], { ...air, width: 0.09, grip: -1 });
    [0.05, 0.1, 0.025].forEach((v, k) => expect(dropped[1].position[k]).toBeCloseTo(v, 12));
  });

  it('keeps a resting block where its estimates put it when frames misplace it, until they agree elsewhere', async () => {
    const { BlockTracker } = await import('../../policy/perception/perceived-state.ts');
    const t = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig);
    const open = { tcp: [0, 0, 0.2] as Vec3, width: 0.1, grip: -1 };
    for (let i = 0; i < 4; i++) t.name([est([-0.1, 0, 0.025]), est([0.1 + 0.001 * i, 0, 0.025])], open);
    // Peaks on the table texture 8 cm away, scattered, for many frames: the block stays put.
    for (let i = 0; i < 2 * BlockTracker.PERSIST; i++) {
      const named = t.name([est([-0.1, 0, 0.025]), est([0.18, 0.03 + (i % 2) * 0.05, 0.025])], open);
      expect(named[1].position[0]).toBeCloseTo(0.1015, 9);
      expect(named[1].position[1]).toBeCloseTo(0, 9);
    }
    // Estimates that agree with each other somewhere else for PERSIST frames: the block is there.
    let named = t.name([est([-0.1, 0, 0.025]), est([0.05, 0.1, 0.025])], open);
    for (let i = 1; i < BlockTracker.PERSIST; i++) {
      expect(named[1].position).toEqual([0.1015, 0, 0.025]);
      named = t.name([est([-0.1, 0, 0.025]), est([0.05, 0.1, 0.025])], open);
    }
    expect(named[1].position).toEqual([0.05, 0.1, 0.025]);
  });

  it('follows a block by a weaker peak near it when a stronger one lands elsewhere', async () => {
    const { BlockTracker } = await import('../../policy/perception/perceived-state.ts');
    const t = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig, 2);
    const open = { tcp: [0, 0.15, 0.2] as Vec3, width: 0.1, grip: -1 };
    const peak = (p: Vec3, score: number) => ({ position: p, yaw: 0, size: 0.05, score });
    t.name([peak([-0.1, 0, 0.025], 0.9), peak([0.1, 0, 0.025], 0.8), peak([0.18, -0.1, 0.025], 0.2)], open);
    // A texture outscores block 1, whose own peak comes third: block 1 still moves with its own.
    const named = t.name([peak([-0.1, 0, 0.025], 0.9), peak([0.15, -0.12, 0.025], 0.85), peak([0.11, 0, 0.025], 0.4)], open);
    expect(named[1].position[0]).toBeCloseTo(0.105, 12);
    expect(named[0].position).toEqual([-0.1, 0, 0.025]);
  });

  it('places the first estimate of an episode on the table: every task starts with its blocks resting', async () => {
    const { BlockTracker } = await import('../../policy/perception/perceived-state.ts');
    const t = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig, 2);
    // The network put block 0 5 cm up its ray; lifted at half its edge it lands 4 cm nearer the camera.
    const named = t.name([
      { position: [-0.1, 0.04, 0.075], resting: [-0.1, 0, 0.025], yaw: 0, size: 0.05, score: 0.9 },
      { position: [0.1, 0, 0.025], resting: [0.1, 0, 0.025], yaw: 0, size: 0.05, score: 0.8 },
    ]);
    expect(named.map((b) => b.position)).toEqual([[-0.1, 0, 0.025], [0.1, 0, 0.025]]);
  });

  it('moves a block the fingers pushed away once confident peaks clear of them agree, never for weak ones', async () => {
    const { BlockTracker } = await import('../../policy/perception/perceived-state.ts');
    const peak = (p: Vec3, score: number) => ({ position: p, yaw: 0, size: 0.05, score });
    const away = { tcp: [0, 0.15, 0.2] as Vec3, width: 0.1, grip: -1 };
    // The fingers hover over where block 0 was; it now lies 8 cm further left.
    const over = { tcp: [-0.1, 0, 0.1] as Vec3, width: 0.1, grip: -1 };
    for (const [score, moves] of [[0.3, false], [0.8, true]] as const) {
      const t = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig, 2);
      t.name([peak([-0.1, 0, 0.025], 0.9), peak([0.1, 0, 0.025], 0.8)], away);
      let named = t.name([peak([0.1, 0, 0.025], 0.8), peak([-0.18, 0, 0.025], score)], over);
      for (let i = 1; i < 2 * BlockTracker.PERSIST; i++) named = t.name([peak([0.1, 0, 0.025], 0.8), peak([-0.18, 0, 0.025], score)], over);
      expect(named[0].position).toEqual(moves ? [-0.18, 0, 0.025] : [-0.1, 0, 0.025]);
      expect(named[1].position).toEqual([0.1, 0, 0.025]);
    }
  });

  it('believes the fingers over the camera: a track they showed empty moves to the strongest peak elsewhere, for good', async () => {
    const { BlockTracker } = await import('../../policy/perception/perceived-state.ts');
    const peak = (p: Vec3, score: number) => ({ position: p, yaw: 0, size: 0.05, score });
    // The first frame puts block 0 on a texture at (-0.1, 0); the block itself is at (-0.2, 0.1), a weaker peak.
    const frame = [peak([-0.1, 0, 0.025], 0.9), peak([0.1, 0, 0.025], 0.8), peak([-0.2, 0.1, 0.025], 0.45)];
    const away = { tcp: [0, 0.15, 0.2] as Vec3, width: 0.1, grip: -1 };
    const t = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig, 2);
    t.name(frame, away);
    // Down at the texture, fingers open, then shut: they close on nothing.
    const down = { tcp: [-0.1, 0.005, 0.03] as Vec3, width: 0.1, grip: -1 };
    expect(t.name(frame, down)[0].position).toEqual([-0.1, 0, 0.025]);
    const shut = t.name(frame, { ...down, width: 0.004, grip: 1 });
    expect(shut[0].position).toEqual([-0.2, 0.1, 0.025]);
    expect(shut[1].position).toEqual([0.1, 0, 0.025]);
    // The texture's peak stays strongest, and near block 0's new track; it is never believed again.
    for (let i = 0; i < 2 * BlockTracker.PERSIST; i++) {
      const named = t.name([peak([-0.1, 0, 0.025], 0.95), peak([0.1, 0, 0.025], 0.8), peak([-0.2, 0.1, 0.025], 0.45)], away);
      expect(named[0].position).toEqual([-0.2, 0.1, 0.025]);
    }
  });

  it('takes fingers shut on a block, or shut in the air, as no evidence against it', async () => {
    const { BlockTracker } = await import('../../policy/perception/perceived-state.ts');
    const frame = [est([-0.1, 0, 0.025]), est([0.1, 0, 0.025]), { ...est([-0.2, 0.1, 0.025]), score: 0.45 }];
    for (const fingers of [
      { tcp: [-0.1, 0.005, 0.03] as Vec3, width: 0.05, grip: 1 }, // stalled on the block: holding it
      { tcp: [-0.1, 0.005, 0.09] as Vec3, width: 0.004, grip: 1 }, // shut above the block's top
    ]) {
      const t = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig, 2);
      t.name(frame, { tcp: [0, 0.15, 0.2] as Vec3, width: 0.1, grip: -1 });
      t.name(frame, { ...fingers, width: 0.1, grip: -1 });
      t.name(frame, fingers);
      const named = t.name(frame, fingers);
      const p = named[0].position;
      // Held: under the tool centre point, as far below as the track's centre at the grasp; else untouched.
      if (fingers.width > 0.02) [-0.1, 0.005, 0.025].forEach((v, k) => expect(p[k]).toBeCloseTo(v, 12));
      else expect(p).toEqual([-0.1, 0, 0.025]);
      expect(t.holding).toBe(fingers.width > 0.02 ? 0 : null);
    }
  });

  it('moves the base block when the carried block goes down through where its track put it', async () => {
    const { BlockTracker } = await import('../../policy/perception/perceived-state.ts');
    const peak = (p: Vec3, score: number) => ({ position: p, yaw: 0, size: 0.05, score });
    const frame = [peak([-0.1, 0, 0.025], 0.9), peak([0.1, 0, 0.025], 0.8), peak([-0.2, 0.1, 0.025], 0.45)];
    const t = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig, 2);
    t.name(frame, { tcp: [0, 0.15, 0.2] as Vec3, width: 0.1, grip: -1 });
    // Block 1 taken and carried over block 0's track.
    const held = { tcp: [0.1, 0, 0.03] as Vec3, width: 0.05, grip: 1 };
    t.name(frame, held);
    t.name(frame, held);
    expect(t.holding).toBe(1);
    // Block 1 has left its place: the camera sees the texture, the real block 0, and block 1 in the fingers.
    const carried = (tcp: Vec3) => [peak([-0.1, 0, 0.025], 0.9), peak(tcp, 0.7), peak([-0.2, 0.1, 0.025], 0.45)];
    // Set down where block 0's top would stop it (bottom at 0.05): block 0 stays.
    const onTop = t.name(carried([-0.1, 0, 0.08]), { ...held, tcp: [-0.1, 0, 0.08] });
    expect(onTop[0].position).toEqual([-0.1, 0, 0.025]);
    // Going on down to 2 cm above the table: nothing was there.
    const through = t.name(carried([-0.1, 0, 0.05]), { ...held, tcp: [-0.1, 0, 0.05] });
    expect(through[0].position).toEqual([-0.2, 0.1, 0.025]);
    expect(t.holding).toBe(1);
  });

  it('gives a block the edge the fingers felt when they stalled on it, and keeps it once let go', async () => {
    const { BlockTracker } = await import('../../policy/perception/perceived-state.ts');
    const t = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig, 2);
    const frame = () => [{ ...est([-0.1, 0, 0.025]), size: 0.05 }, { ...est([0.1, 0, 0.025]), size: 0.05 }];
    t.name(frame(), { tcp: [0, 0.15, 0.2] as Vec3, width: 0.1, grip: -1 });
    // The camera calls block 1 a 5 cm cube; the fingers stop on it at 5.7 cm.
    const holding = { tcp: [0.1, 0, 0.03] as Vec3, width: 0.057, grip: 1 };
    t.name(frame(), holding);
    expect(t.name(frame(), holding)[1].size).toBeCloseTo(0.057, 12);
    // Let go where it was and seen again by the camera: it keeps the felt edge; block 0 its estimate.
    const open = t.name(frame(), { ...holding, width: 0.09, grip: -1 });
    expect(t.holding).toBeNull();
    const later = t.name(frame(), { tcp: [0, 0.15, 0.2] as Vec3, width: 0.1, grip: -1 });
    expect(open[1].size).toBeCloseTo(0.057, 12);
    expect(later[1].size).toBeCloseTo(0.057, 12);
    expect(later[0].size).toBe(0.05);
  });

  it('does not move a block while the gripper is over it', async () => {
    const { BlockTracker } = await import('../../policy/perception/perceived-state.ts');
    const t = new BlockTracker({ id: 'StackBlocks-v1', blocks: 2 } as TaskConfig);
    const away = { tcp: [0, 0.15, 0.2] as Vec3, width: 0.1, grip: -1 };
    t.name([est([-0.1, 0, 0.025]), est([0.1, 0, 0.025])], away);
    // The fingers above block 0 carry something: its estimates there are not believed, even close ones.
    const over = { tcp: [-0.09, 0.01, 0.12] as Vec3, width: 0.1, grip: -1 };
    for (let i = 0; i < 2 * BlockTracker.PERSIST; i++) {
      expect(t.name([est([-0.08, 0.01, 0.025]), est([0.1, 0, 0.025])], over)[0].position).toEqual([-0.1, 0, 0.025]);
    }
    // Once the gripper has gone, close estimates update it again.
    expect(t.name([est([-0.098, 0, 0.025]), est([0.1, 0, 0.025])], away)[0].position[0]).toBeCloseTo(-0.099, 9);
  });
});
