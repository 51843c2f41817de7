/**
 * What `simreal dataset info` reports: size, fps, features, tasks, the experts' success rate and
 * a summary (min/mean/max) of every sampled physics value of the randomization record.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listChunkFiles } from './files.ts';
import { DATA_DIR } from './format.ts';
import type { SimrealMeta } from './lerobot-sink.ts';
import { readSimrealMeta } from './lerobot-sink.ts';
import { DatasetReader } from './reader.ts';

export interface RangeSummary {
  min: number;
  mean: number;
  max: number;
  count: number;
}

export interface DatasetSummary {
  root: string;
  codebaseVersion: string;
  robotType: string | null;
  fps: number;
  episodes: number;
  frames: number;
  tasks: Array<{ index: number; task: string; episodes: number }>;
  features: Array<{ name: string; dtype: string; shape: number[]; names?: string[] }>;
  /** Expert success over episodes (null when the dataset has no simreal/success record). */
  success: { successes: number; episodes: number; rate: number } | null;
  /** Per sampled physics value (list values per component, e.g. `gravity[2]`). */
  randomization: Record<string, RangeSummary>;
  dataFiles: number;
  bytes: number;
  generation: SimrealMeta | null;
}

function folderBytes(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    let entries;
    try { entries = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else total += statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

export async function summarize(root: string): Promise<DatasetSummary> {
  const ds = await DatasetReader.open(root);
  try {
    const info = ds.info;
    const taskEpisodes = new Map<string, number>();
    let known = 0, successes = 0;
    const ranges: Record<string, { min: number; max: number; sum: number; count: number }> = {};
    const add = (key: string, v: number): void => {
      const r = (ranges[key] ??= { min: Infinity, max: -Infinity, sum: 0, count: 0 });
      r.min = Math.min(r.min, v);
      r.max = Math.max(r.max, v);
      r.sum += v;
      r.count++;
    };
    for (const e of ds.episodes) {
      for (const t of e.tasks) taskEpisodes.set(t, (taskEpisodes.get(t) ?? 0) + 1);
      if (e.success !== undefined) {
        known++;
        if (e.success) successes++;
      }
      for (const [k, v] of Object.entries(e.extras)) {
        if (!k.startsWith('simreal/physics/')) continue;
        const name = k.slice('simreal/physics/'.length);
        if (typeof v === 'number') add(name, v);
        else if (Array.isArray(v)) v.forEach((x, i) => add(`${name}[${i}]`, x));
      }
    }
    const randomization: Record<string, RangeSummary> = {};
    for (const [k, r] of Object.entries(ranges)) randomization[k] = { min: r.min, mean: r.sum / r.count, max: r.max, count: r.count };
    return {
      root,
      codebaseVersion: info.codebase_version,
      robotType: info.robot_type ?? null,
      fps: info.fps,
      episodes: info.total_episodes,
      frames: info.total_frames,
      tasks: ds.tasks.map((task, index) => ({ index, task, episodes: taskEpisodes.get(task) ?? 0 })),
      features: Object.entries(info.features).map(([name, f]) => ({
        name,
        dtype: f.dtype,
        shape: f.shape,
        ...(Array.isArray(f.names) ? { names: f.names } : {}),
      })),
      success: known === ds.episodes.length && known > 0 ? { successes, episodes: known, rate: successes / known } : null,
      randomization,
      dataFiles: listChunkFiles(root, DATA_DIR).length,
      bytes: folderBytes(root),
      generation: readSimrealMeta(root),
    };
  } finally {
    await ds.close();
  }
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 0.001 ? v.toExponential(3) : Number(v.toPrecision(4)).toString();
}

/** The human-readable report. */
export function formatSummary(s: DatasetSummary): string {
  const lines: string[] = [];
  const mb = (s.bytes / (1024 * 1024)).toFixed(1);
  lines.push(`${s.root}: LeRobotDataset ${s.codebaseVersion}, robot ${s.robotType ?? '-'}`);
  lines.push(`episodes ${s.episodes}, frames ${s.frames}, fps ${s.fps} (${(s.frames / s.fps).toFixed(1)} s), ${s.dataFiles} data file${s.dataFiles === 1 ? '' : 's'}, ${mb} MB`);
  if (s.generation) {
    const g = s.generation;
    lines.push(`generated from scenario ${g.scenario.id}, seed ${g.baseSeed}, randomization ${g.randomization}, DART noise ${g.dartNoise}, episodes ${g.firstIndex}..${g.firstIndex + s.episodes - 1}${g.shard ? `, shard ${g.shard.index}/${g.shard.count}` : ''}`);
  }
  lines.push(s.success ? `expert success: ${s.success.successes}/${s.success.episodes} = ${(100 * s.success.rate).toFixed(1)}%` : 'expert success: not recorded');
  lines.push('tasks:');
  for (const t of s.tasks) lines.push(`  ${t.index}: ${t.task} (${t.episodes} episodes)`);
  lines.push('features:');
  const w = Math.max(...s.features.map((f) => f.name.length));
  for (const f of s.features) {
    const names = f.names ? `  ${f.names.length > 6 ? `${f.names.slice(0, 6).join(', ')}, … (${f.names.length})` : f.names.join(', ')}` : '';
    lines.push(`  ${f.name.padEnd(w)}  ${f.dtype.padEnd(7)} [${f.shape.join(', ')}]${names}`);
  }
  const keys = Object.keys(s.randomization);
  if (keys.length) {
    lines.push('randomization (per episode: min / mean / max):');
    const kw = Math.max(...keys.map((k) => k.length));
    for (const k of keys) {
      const r = s.randomization[k];
      lines.push(`  ${k.padEnd(kw)}  ${fmt(r.min)} / ${fmt(r.mean)} / ${fmt(r.max)}`);
    }
  }
  return lines.join('\n');
}
