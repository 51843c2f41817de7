/**
 * Charts of robustness sweeps (policy/eval/sweep.ts): success with its 95 % Wilson interval
 * against one physics parameter, the training range shaded green, the held-out range orange, the
 * nominal value a dashed line. `sweepChart` draws one parameter (the run report's "where it
 * breaks" section); `sweepFigure` draws every swept parameter as small multiples in one SVG
 * (the figure in README). Drawn by ECharts' server-side SVG renderer like the report's other charts.
 */
import type { EChartsOption } from 'echarts';
import type { ParameterSweep, SweepResult } from '../../policy/eval/sweep.ts';
import { INTEGER_PARAMETERS, PARAMETER_UNITS } from '../../sim/robustness.ts';
import { chartSvg } from './charts.ts';

const TRAIN = 'rgba(58, 154, 91, 0.18)';
const HELDOUT = 'rgba(217, 130, 43, 0.22)';
const LINE = '#2f6fb0';

interface Cell {
  left: number;
  top: number;
  width: number;
  height: number;
}

type ApiLike = { value(i: number): number; coord(v: [number, number]): [number, number] };

/** Shaded spans of a range; zero-width intervals (and integer parameters) get half a unit on each side. */
function spans(s: ParameterSweep, parts: Array<[number, number]>): Array<[number, number]> {
  const values = s.points.map((p) => p.value);
  const pad = INTEGER_PARAMETERS.has(s.parameter) ? 0.5 : (Math.max(...values) - Math.min(...values)) * 0.006;
  return parts.map(([a, b]) => (INTEGER_PARAMETERS.has(s.parameter) || a === b ? [a - pad, b + pad] : [a, b]));
}

function label(x: number): string {
  return Number(x.toPrecision(3)).toString();
}

/** The grid, axes and series of one parameter's chart, placed in `cell` as grid number `i`. */
function parts(s: ParameterSweep, i: number, cell: Cell, titleSize: number): { grid: object; xAxis: object; yAxis: object; series: object[]; title: object } {
  const values = s.points.map((p) => p.value);
  const lo = Math.min(...values), hi = Math.max(...values);
  const pad = INTEGER_PARAMETERS.has(s.parameter) ? 0.5 : (hi - lo) * 0.03;
  const area = (list: Array<[number, number]>, color: string): object[] => list.map(([a, b]) => [{ xAxis: a, itemStyle: { color } }, { xAxis: b }]);
  return {
    title: { text: `${s.parameter} (${PARAMETER_UNITS[s.parameter]})`, left: cell.left + cell.width / 2, top: cell.top - titleSize - 8, textAlign: 'center', textStyle: { fontSize: titleSize, fontWeight: 'normal' } },
    grid: { left: cell.left, top: cell.top, width: cell.width, height: cell.height },
    xAxis: {
      type: 'value', gridIndex: i, min: lo - pad, max: hi + pad, axisLine: { onZero: false },
      axisLabel: { fontSize: 9, formatter: (v: number) => label(v), hideOverlap: true, showMinLabel: false, showMaxLabel: false }, splitLine: { show: false },
      ...(INTEGER_PARAMETERS.has(s.parameter) ? { minInterval: 1 } : {}),
    },
    yAxis: { type: 'value', gridIndex: i, min: 0, max: 100, interval: 25, axisLabel: { fontSize: 9 }, splitLine: { lineStyle: { color: '#eee' } } },
    series: [
      {
        type: 'line', xAxisIndex: i, yAxisIndex: i, data: s.points.map((p) => [p.value, 100 * p.success.rate]), symbolSize: 4,
        lineStyle: { color: LINE, width: 1.5 }, itemStyle: { color: LINE },
        markArea: { silent: true, data: [...area(spans(s, s.train), TRAIN), ...area(spans(s, s.heldout), HELDOUT)] },
        markLine: { silent: true, symbol: 'none', label: { show: false }, lineStyle: { type: 'dashed', color: '#555', width: 1 }, data: [{ xAxis: s.nominal }] },
      },
      {
        type: 'custom', xAxisIndex: i, yAxisIndex: i, data: s.points.map((p) => [p.value, 100 * p.success.low, 100 * p.success.high]), z: 3,
        renderItem: (_params: unknown, api: ApiLike) => {
          const a = api.coord([api.value(0), api.value(1)]), b = api.coord([api.value(0), api.value(2)]);
          const style = { stroke: LINE, lineWidth: 1, opacity: 0.7 };
          return {
            type: 'group',
            children: [
              { type: 'line', shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] }, style },
              { type: 'line', shape: { x1: a[0] - 2.5, y1: a[1], x2: a[0] + 2.5, y2: a[1] }, style },
              { type: 'line', shape: { x1: b[0] - 2.5, y1: b[1], x2: b[0] + 2.5, y2: b[1] }, style },
            ],
          };
        },
      },
    ],
  };
}

/** One parameter's chart (success % against its value), `width` × `height` pixels. */
export function sweepChart(s: ParameterSweep, width = 300, height = 210): string {
  const p = parts(s, 0, { left: 38, top: 30, width: width - 52, height: height - 58 }, 12);
  return chartSvg({ title: p.title, grid: p.grid, xAxis: p.xAxis, yAxis: p.yAxis, series: p.series } as EChartsOption, width, height);
}

/** Every swept parameter of `r` as small multiples in one SVG, with a title and a key. */
export function sweepFigure(r: SweepResult, columns = 4, cellWidth = 250, cellHeight = 190): string {
  const n = r.sweeps.length;
  const rows = Math.ceil(n / columns);
  const head = 62;
  const width = columns * cellWidth, height = head + rows * cellHeight + 10;
  const pieces = r.sweeps.map((s, i) => parts(s, i, {
    left: (i % columns) * cellWidth + 40,
    top: head + Math.floor(i / columns) * cellHeight + 24,
    width: cellWidth - 58,
    height: cellHeight - 56,
  }, 11));
  const title = {
    text: `Where it breaks: ${r.model === 'scripted expert' ? 'scripted expert' : `${r.kind} policy`} on ${r.scenario}, success % per parameter value (${r.episodes} episodes each, others nominal)`,
    subtext: 'green: training range · orange: held-out range · dashed: nominal value · bars: 95 % Wilson interval',
    left: 'center', top: 6, textStyle: { fontSize: 14 }, subtextStyle: { fontSize: 11 },
  };
  return chartSvg({
    title: [title, ...pieces.map((p) => p.title)],
    grid: pieces.map((p) => p.grid),
    xAxis: pieces.map((p) => p.xAxis),
    yAxis: pieces.map((p) => p.yAxis),
    series: pieces.flatMap((p) => p.series),
  } as EChartsOption, width, height);
}

const escHtml = (t: string): string => t.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/**
 * The report's "where it breaks" section: one small chart per swept parameter, and the lowest
 * success inside each training range, so a reader sees at once which parameter a policy is
 * fragile to.
 */
export function sweepSection(s: SweepResult | null): string {
  if (!s) return '';
  const weakest = s.sweeps
    .map((p) => ({ p, low: p.points.filter((x) => x.region === 'train').reduce((m, x) => Math.min(m, x.success.rate), Infinity) }))
    .filter((x) => Number.isFinite(x.low))
    .sort((a, b) => a.low - b.low)
    .slice(0, 3)
    .map((x) => `${x.p.parameter} (${(100 * x.low).toFixed(0)} %)`);
  return `<h2>Where it breaks</h2>
<p>Success of ${escHtml(s.model)} on ${escHtml(s.scenario)} as one physics parameter at a time moves across and beyond its training range (shaded green; held-out range orange; dashed: nominal value), every other parameter at its nominal value: ${s.episodes} seeded episodes per value, bars are 95 % Wilson intervals. Lowest success inside a training range: ${escHtml(weakest.join(', '))}.</p>
<div class="charts">${s.sweeps.map((p) => `<figure id="sweep-${p.parameter}">${sweepChart(p)}</figure>`).join('')}</div>
`;
}
