/**
 * The run report: one static HTML file a person can read, with every chart drawn at build time
 * by Apache ECharts' server-side SVG renderer and the montage inlined, so it opens anywhere with
 * no network and no script.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EChartsOption } from 'echarts';
import { formatMachineSpeed } from '../../policy/machine-speed.ts';
import type { RunSummary } from './summary.ts';
import { PALETTE, chartSvg } from './charts.ts';
import { sweepSection } from './sweep-charts.ts';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '–');

function successChart(s: RunSummary): string {
  const rows = s.success;
  const labels = rows.map((r) => r.label);
  // Each label breaks within its own category's band, with a margin: the SVG renderer measures
  // text without a canvas, a little short, so labels as wide as the band ran into each other.
  const width = 760, grid = { left: 60, right: 20, top: 40, bottom: 90 };
  const band = (width - grid.left - grid.right) / Math.max(1, labels.length);
  return chartSvg({
    title: { text: 'Success rate with 95 % Wilson interval', left: 'center', textStyle: { fontSize: 14 } },
    grid,
    xAxis: { type: 'category', data: labels, axisLabel: { interval: 0, width: Math.max(40, Math.floor(band) - 24), overflow: 'break', fontSize: 11 } },
    yAxis: { type: 'value', min: 0, max: 100, name: '%' },
    series: [
      {
        type: 'bar',
        data: rows.map((r, i) => ({ value: Number.isFinite(r.rate.rate) ? 100 * r.rate.rate : 0, itemStyle: { color: PALETTE[i % PALETTE.length] } })),
        barWidth: '45%',
        label: { show: true, position: 'insideBottom', formatter: (p: { value: unknown }) => `${Number(p.value).toFixed(0)}%`, color: '#fff', fontSize: 11 },
      },
      {
        type: 'custom',
        name: '95 % CI',
        data: rows.map((r, i) => [i, 100 * r.rate.low, 100 * r.rate.high]),
        renderItem: (_params: unknown, api: { value(i: number): number; coord(v: [number, number]): [number, number]; size(v: [number, number]): [number, number] }) => {
          const x = api.value(0);
          const lo = api.coord([x, api.value(1)]), hi = api.coord([x, api.value(2)]);
          const w = api.size([1, 0])[0] * 0.12;
          const style = { stroke: '#222', lineWidth: 1.5 };
          return {
            type: 'group',
            children: [
              { type: 'line', shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style },
              { type: 'line', shape: { x1: lo[0] - w, y1: lo[1], x2: lo[0] + w, y2: lo[1] }, style },
              { type: 'line', shape: { x1: hi[0] - w, y1: hi[1], x2: hi[0] + w, y2: hi[1] }, style },
            ],
          };
        },
        z: 10,
      },
    ],
  } as EChartsOption, width, 360);
}

function trainingChart(s: RunSummary): string {
  const series = s.training.flatMap((t) => [
    { name: `${t.model} train`, type: 'line' as const, showSymbol: false, data: t.epochs.map((e) => [e.epoch, e.loss]) },
    { name: `${t.model} validation`, type: 'line' as const, showSymbol: false, lineStyle: { type: 'dashed' as const }, data: t.epochs.map((e) => [e.epoch, e.valLoss]) },
  ]);
  return chartSvg({
    title: { text: 'Training curves', left: 'center', textStyle: { fontSize: 14 } },
    legend: { bottom: 0, textStyle: { fontSize: 11 } },
    grid: { left: 60, right: 20, top: 40, bottom: 60 },
    xAxis: { type: 'value', name: 'epoch', minInterval: 1 },
    yAxis: { type: 'log', name: 'loss' },
    series,
  });
}

function trajectoryChart(s: RunSummary): string | null {
  const tr = s.trajectory;
  if (!tr || tr.points.length === 0) return null;
  const nBlocks = tr.points[0].blocks.length;
  const xs = tr.points.flatMap((p) => [p.tcp[0], ...p.blocks.map((b) => b[0])]);
  const ys = tr.points.flatMap((p) => [p.tcp[1], ...p.blocks.map((b) => b[1])]);
  const pad = 0.03;
  const lo = Math.min(Math.min(...xs), Math.min(...ys)) - pad, hi = Math.max(Math.max(...xs), Math.max(...ys)) + pad;
  const series: unknown[] = [
    { name: 'gripper', type: 'line', showSymbol: false, data: tr.points.map((p) => [p.tcp[0], p.tcp[1]]), lineStyle: { width: 1.5 } },
  ];
  for (let b = 0; b < nBlocks; b++) {
    series.push({
      name: `block ${b}`,
      type: 'line',
      data: tr.points.map((p) => [p.blocks[b][0], p.blocks[b][1]]),
      showSymbol: false,
      lineStyle: { width: 2.5, opacity: 0.8 },
      markPoint: { symbol: 'rect', symbolSize: 10, data: [{ coord: [tr.points[0].blocks[b][0], tr.points[0].blocks[b][1]], name: 'start' }], label: { show: false } },
    });
  }
  return chartSvg({
    title: { text: `Top-down view, seed ${tr.seed} (${tr.success ? 'success' : 'failure'})`, subtext: tr.label, left: 'center', textStyle: { fontSize: 14 } },
    legend: { bottom: 0 },
    grid: { left: 70, right: 30, top: 60, bottom: 70 },
    xAxis: { type: 'value', name: 'x (m)', nameLocation: 'middle', nameGap: 28, min: lo, max: hi, axisLine: { onZero: false }, axisLabel: { formatter: (v: number) => v.toFixed(2) } },
    yAxis: { type: 'value', name: 'y (m)', nameLocation: 'middle', nameGap: 42, min: lo, max: hi, axisLine: { onZero: false }, axisLabel: { formatter: (v: number) => v.toFixed(2) } },
    series,
  } as EChartsOption, 480, 480);
}

function latencyChart(s: RunSummary): string | null {
  const b = s.bridge;
  if (!b || b.histogram.counts.length === 0) return null;
  const step = b.histogram.edgesMs[1] ?? 1;
  const digits = step >= 1 ? 0 : step >= 0.1 ? 1 : 2;
  const labels = b.histogram.counts.map((_, i) => b.histogram.edgesMs[i].toFixed(digits));
  return chartSvg({
    title: { text: `Bridge command round trips (p50 ${b.roundTripMs.p50.toFixed(2)} ms, p99 ${b.roundTripMs.p99.toFixed(2)} ms)`, left: 'center', textStyle: { fontSize: 14 } },
    grid: { left: 60, right: 20, top: 40, bottom: 50 },
    // About eight labels: every bin's edge would overlap.
    xAxis: { type: 'category', data: labels, name: 'ms', axisLabel: { fontSize: 10, interval: Math.max(0, Math.ceil(labels.length / 8) - 1) } },
    yAxis: { type: 'value', name: 'commands' },
    series: [{ type: 'bar', data: b.histogram.counts, barCategoryGap: '5%' }],
  });
}

/** Histogram of values in `bins` equal bins from 0 to the 99.5th percentile (the tail in the last bin). */
export function histogram(values: number[], bins = 30): { edgesMs: number[]; counts: number[] } {
  if (values.length === 0) return { edgesMs: [], counts: [] };
  const sorted = [...values].sort((a, b) => a - b);
  const top = sorted[Math.min(sorted.length - 1, Math.floor(0.995 * sorted.length))] || sorted[sorted.length - 1] || 1;
  const width = top / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor(v / width))]++;
  return { edgesMs: counts.map((_, i) => i * width), counts };
}

/** The run through the emulated robot's camera: its latency and stale steps, or why it did not run. */
function perceptionParagraph(s: RunSummary): string {
  const p = s.perception;
  if (!p) {
    const why = s.notes.find((n) => n.startsWith('No run through the camera: '));
    return why ? `<p class="muted" id="perception">${esc(why)}</p>` : '';
  }
  const ms = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : '–');
  const c = p.cameraToActionMs, e = p.estimateMs;
  return `<p id="perception">Through ${esc(p.camera)} (calibration ${esc(p.calibration)}) and the pose estimator: camera to action (frame capture → command sent) p50 ${ms(c.p50)}, p99 ${ms(c.p99)}, max ${ms(c.max)} over ${p.commands} commands; ` +
    `the estimator p50 ${ms(e.p50)}, p99 ${ms(e.p99)} a frame; ${p.staleSteps} of ${p.steps} steps stale (their frame older than the step before), ${p.waitedOut} acted at the frame wait's end; ` +
    `frames: ${p.frames.received} received, ${p.frames.estimated} estimated, ${p.frames.superseded} replaced by a newer one first${p.cameraHolds.length ? `; held the robot ${p.cameraHolds.length} time(s) for the camera (${esc(p.cameraHolds[0])})` : ''}.</p>`;
}

/** A PNG next to the report as a data: URL, so the report opens anywhere on its own. */
function inlinePng(dir: string, file: string): string {
  return `data:image/png;base64,${readFileSync(join(dir, file)).toString('base64')}`;
}

/** The camera frames the policy acted on, estimates and truth drawn (inlined, as the montage). */
function cameraFramesFigure(dir: string, s: RunSummary): string {
  if (!s.cameraFrames) return '';
  const src = inlinePng(dir, s.cameraFrames);
  return `<figure id="camera-frames"><img class="montage" alt="camera frames with the estimated blocks" src="${src}"><figcaption class="muted">What the emulated robot's camera sent while the policy acted through it (one frame in each of the first episodes): the pose estimator's blocks in orange, the true blocks the emulated robot reports in green.</figcaption></figure>`;
}

function table(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** Writes `report.html` into `dir` (where the montage PNG, if any, already is). Returns its path. */
export function writeReport(dir: string, s: RunSummary): string {
  const montage = s.montage ? inlinePng(dir, s.montage) : null;
  const successRows = s.success.map((r) => [
    esc(r.label),
    pct(r.rate.rate),
    `${pct(r.rate.low)} – ${pct(r.rate.high)}`,
    `${r.rate.successes}/${r.rate.trials}`,
    esc(r.stages ? Object.entries(r.stages).map(([k, v]) => `${k}: ${pct(v)}`).join(', ') : ''),
    esc(r.causes ? Object.entries(r.causes).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ') : ''),
  ]);
  const stageRows = s.stages.map((st) => [esc(st.name), st.skipped ? 'skipped' : st.cached ? 'reused' : `${st.seconds.toFixed(1)} s`, `<code>${esc(st.output)}</code>`]);
  const traj = trajectoryChart(s), lat = latencyChart(s);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>simreal run: ${esc(s.scenario.id)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: DejaVu Sans, Arial, sans-serif; margin: 2em auto; max-width: 1000px; color: #1c1c1c; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; } th, td { border: 1px solid #ddd; padding: 0.35em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } code, pre { font-family: DejaVu Sans Mono, monospace; font-size: 0.9em; } pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; } .muted { color: #666; } img.montage { max-width: 100%; image-rendering: pixelated; border: 1px solid #ccc; }
</style></head><body>
<h1>simreal run: ${esc(s.scenario.id)} <span class="muted">(${esc(s.scenario.task)})</span></h1>
<p class="muted">${esc(s.created)} · ${s.seconds.toFixed(0)} s${s.machine.mlpWasmSamplesPerSec ? ` on a machine that trains ${esc(formatMachineSpeed(s.machine.mlpWasmSamplesPerSec))}` : ''} · backend ${esc(s.backend.name)} on ${esc(s.backend.device)} · ${esc(s.machine.cpu)} ×${s.machine.cores} · Node ${esc(s.machine.node)} · code ${esc(s.codeVersion)}${s.gitCommit ? ` (git ${esc(s.gitCommit)})` : ''}</p>
<h2>Success</h2>
${table(['policy and conditions', 'success', '95 % interval', 'episodes', 'per stage', 'failures'], successRows)}
<figure id="chart-success">${successChart(s)}</figure>
${sweepSection(s.sweep ?? null)}${s.pose ? `<h2>Pose estimator</h2><p>Mean error ${s.pose.meanCm.toFixed(2)} cm, median ${s.pose.medianCm.toFixed(2)} cm over ${s.pose.frames} held-out frames${s.pose.ablationMeanCm !== null ? `; trained without randomization: mean ${s.pose.ablationMeanCm.toFixed(2)} cm` : ''}.</p>` : ''}
<h2>Training</h2>
${table(['model', 'epochs', 'samples/s', 'time'], s.training.map((t) => [esc(t.model), String(t.epochs.length), t.samplesPerSec.toFixed(0), `${t.seconds.toFixed(1)} s`]))}
<div class="charts"><figure id="chart-training">${trainingChart(s)}</figure></div>
<h2>What the policy saw, and what it did</h2>
${montage ? `<figure><img class="montage" alt="randomized training frames" src="${montage}"><figcaption class="muted">Randomized renders of the scenario (the look varies, the geometry does not).</figcaption></figure>` : `<p class="muted">${esc(s.notes.find((n) => n.startsWith('No montage: ')) ?? 'No frames rendered.')}</p>`}
<div class="charts">${traj ? `<figure id="chart-trajectory">${traj}</figure>` : ''}${lat ? `<figure id="chart-latency">${lat}</figure>` : ''}</div>
${s.bridge ? `<p>${s.bridge.commands} commands through the bridge, ${s.bridge.clamped} clamped by its safety limits${Object.keys(s.bridge.clampReasons).length ? ` (${esc(Object.entries(s.bridge.clampReasons).map(([k, v]) => `${k} ${v}`).join(', '))})` : ''}; round trip p50 ${s.bridge.roundTripMs.p50.toFixed(2)} ms, p99 ${s.bridge.roundTripMs.p99.toFixed(2)} ms, max ${s.bridge.roundTripMs.max.toFixed(2)} ms.</p>` : ''}
${perceptionParagraph(s)}${cameraFramesFigure(dir, s)}
<h2>Stages</h2>
${table(['stage', 'time', 'output'], stageRows)}
<h2>Reproduce</h2>
<pre>${s.commands.map(esc).join('\n')}</pre>
${s.notes.length ? `<h2>Notes</h2><ul>${s.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
  const path = join(dir, 'report.html');
  writeFileSync(path, html);
  return path;
}
