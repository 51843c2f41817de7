/**
 * Charts for the run report and the figures drawn from it: Apache ECharts' server-side SVG
 * renderer, one palette and font, no animation, so an SVG opens anywhere with no script.
 */
import * as echarts from 'echarts';
import type { EChartsOption } from 'echarts';

export const PALETTE = ['#2f6fb0', '#d9822b', '#3a9a5b', '#b8443b', '#7d5ba6', '#8c6d46'];

/** Renders one chart to an SVG string (no DOM, no animation). */
export function chartSvg(option: EChartsOption, width = 640, height = 320): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  chart.setOption({ animation: false, color: PALETTE, textStyle: { fontFamily: 'DejaVu Sans, Arial, sans-serif' }, ...option });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

