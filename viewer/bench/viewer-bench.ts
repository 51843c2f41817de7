/**
 * `simreal bench viewer`: frame timing of the viewer page in headless Chromium. A synthetic
 * source streams 10 blocks (plus table and gripper) at 30 Hz; for each viewport size the page's
 * requestAnimationFrame deltas are collected for a few seconds. Reported, not asserted: here
 * Chromium draws WebGL 2 on SwiftShader, i.e. on the CPU, so the numbers measure this machine's
 * cores far more than the viewer.
 */
import type { Browser } from 'playwright-core';
import { startViewerServer } from '../server/server.ts';
import { launchChromium, chromiumPath } from './chromium.ts';
import { SyntheticSource } from './synthetic-source.ts';

export interface ViewerBenchOptions {
  blocks?: number;
  hz?: number;
  /** Seconds measured per viewport (after warm-up). Default 8. */
  seconds?: number;
  /** Viewports, e.g. [[1280, 720], [640, 360]]. */
  sizes?: Array<[number, number]>;
  log?: (line: string) => void;
}

export interface ViewerBenchRow {
  viewport: string;
  frames: number;
  fps: number;
  rafMs: { mean: number; p50: number; p95: number; p99: number; max: number };
  /** Frames longer than 50 ms. */
  longFrames: number;
  /** Frames the page drew (it draws when a state update or the camera changed the picture). */
  drawsPerSecond: number;
  updates: { sent: number; received: number; perSecond: number };
}

export interface ViewerBenchResult {
  bench: 'viewer';
  browser: string;
  chromium: string;
  renderer: string;
  backend: string;
  blocks: number;
  bodies: number;
  updateHz: number;
  seconds: number;
  rows: ViewerBenchRow[];
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

export async function benchViewer(options: ViewerBenchOptions = {}): Promise<ViewerBenchResult> {
  const blocks = options.blocks ?? 10;
  const hz = options.hz ?? 30;
  const seconds = options.seconds ?? 8;
  const sizes = options.sizes ?? [[1280, 720], [640, 360]];
  const source = new SyntheticSource({ blocks, hz });
  const viewer = await startViewerServer({ source });
  let browser: Browser | null = null;
  try {
    browser = await launchChromium();
    const rows: ViewerBenchRow[] = [];
    let renderer = '', backend = '';
    for (const [w, h] of sizes) {
      const page = await browser.newPage({ viewport: { width: w, height: h } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(viewer.url);
      await page.waitForFunction(() => {
        const v = (window as unknown as { simrealViewer?: { poseFrames: number; stage: { frames: number } } }).simrealViewer;
        return !!v && v.poseFrames > 5 && v.stage.frames > 3;
      }, null, { timeout: 120_000 });
      // Warm-up: shader compilation and texture uploads are behind us; measure from here.
      await page.waitForTimeout(1000);
      const before = await page.evaluate(() => {
        const v = (window as unknown as { simrealViewer: { rafCount: number; poseFrames: number; stage: { frames: number } } }).simrealViewer;
        return { raf: v.rafCount, pose: v.poseFrames, draws: v.stage.frames };
      });
      const sent0 = source.sent;
      await page.waitForTimeout(seconds * 1000);
      const after = await page.evaluate((from: number) => {
        const v = (window as unknown as { simrealViewer: { rafCount: number; poseFrames: number; rafDeltas: Float64Array; backend: string; stage: { frames: number } } }).simrealViewer;
        const n = Math.min(v.rafCount - from, v.rafDeltas.length);
        const out: number[] = [];
        for (let i = v.rafCount - n; i < v.rafCount; i++) out.push(v.rafDeltas[i % v.rafDeltas.length]);
        const gl = document.createElement('canvas').getContext('webgl2');
        const ext = gl?.getExtension('WEBGL_debug_renderer_info');
        const renderer = gl ? String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : 'none';
        return { raf: v.rafCount, pose: v.poseFrames, draws: v.stage.frames, deltas: out, backend: v.backend, renderer };
      }, before.raf);
      const sent = source.sent - sent0;
      if (errors.length) throw new Error(`the page failed during the benchmark: ${errors[0]}`);
      renderer = after.renderer;
      backend = after.backend;
      const d = Float64Array.from(after.deltas).sort();
      const total = d.reduce((a, b) => a + b, 0);
      const received = after.pose - before.pose;
      rows.push({
        viewport: `${w}x${h}`,
        frames: d.length,
        fps: r2(d.length / (total / 1000)),
        rafMs: { mean: r2(total / d.length), p50: r2(quantile(d, 0.5)), p95: r2(quantile(d, 0.95)), p99: r2(quantile(d, 0.99)), max: r2(d[d.length - 1]) },
        longFrames: d.filter((x) => x > 50).length,
        drawsPerSecond: r2((after.draws - before.draws) / (total / 1000)),
        updates: { sent, received, perSecond: r2(received / seconds) },
      });
      options.log?.(`${w}x${h}: ${rows[rows.length - 1].fps} fps, ${rows[rows.length - 1].updates.perSecond} updates/s received`);
      await page.close();
    }
    return {
      bench: 'viewer',
      browser: browser.version(),
      chromium: chromiumPath(),
      renderer,
      backend,
      blocks,
      bodies: blocks + 4,
      updateHz: hz,
      seconds,
      rows,
    };
  } finally {
    await browser?.close();
    await viewer.close();
  }
}

export function formatViewerBench(r: ViewerBenchResult): string {
  const lines = [
    `viewer bench: Chromium ${r.browser} (${r.backend} on ${r.renderer}), ${r.blocks} blocks (${r.bodies} bodies), updates at ${r.updateHz} Hz, ${r.seconds} s per viewport`,
    'viewport     fps  draws/s  rAF ms mean   p50    p95    p99    max   >50ms  updates/s',
  ];
  for (const row of r.rows) {
    const m = row.rafMs;
    lines.push(`${row.viewport.padEnd(10)} ${row.fps.toFixed(1).padStart(6)} ${row.drawsPerSecond.toFixed(1).padStart(8)} ${m.mean.toFixed(1).padStart(10)} ${m.p50.toFixed(1).padStart(6)} ${m.p95.toFixed(1).padStart(6)} ${m.p99.toFixed(1).padStart(6)} ${m.max.toFixed(1).padStart(6)} ${String(row.longFrames).padStart(7)} ${row.updates.perSecond.toFixed(1).padStart(10)}`);
  }
  return lines.join('\n');
}
