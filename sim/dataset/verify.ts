/**
 * `simreal dataset info --verify`: checks a whole dataset and names the file and what is wrong.
 *
 * Checks: meta/info.json present, valid JSON and schema, codebase v3.0; meta/stats.json and
 * meta/tasks.parquet readable; every episodes table readable, episode indices contiguous from 0
 * (a gap or duplicate is named), row ranges contiguous, totals equal to info.json; every data
 * file referred to and present, its footer intact, all features present as columns, every row
 * group decodable (a truncated or corrupted file is named), row counts equal to the episodes'
 * lengths, episode_index / frame_index / index / task_index consistent with the metadata, and
 * the file's SHA-256 equal to the one recorded at commit (simreal datasets), so that a changed
 * byte that still decodes is found too.
 * Memory: one row group at a time.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetInfo } from './format.ts';
import { CHECKSUM_COLUMN, CODEBASE_VERSION, DATA_DIR, DatasetError, EPISODES_DIR, STATS_PATH, TASKS_PATH, TEMP_SUFFIX, dataFilePath } from './format.ts';
import { listChunkFiles } from './files.ts';
import type { EpisodeMetaRow } from './meta.ts';
import { readEpisodesTable, readInfo, readStats, readTasks } from './meta.ts';
import { columnNames, fileSha256, openParquet, readRows, rowGroupRanges } from './parquet.ts';

export interface VerifyReport {
  ok: boolean;
  /** Each: "<file>: <what is wrong>". */
  problems: string[];
  /** Not errors: e.g. temporary files an interrupted generation left (resume removes them). */
  notes: string[];
  checked: { episodes: number; frames: number; dataFiles: number; rowGroups: number };
}

const MAX_PROBLEMS = 50;

function walkTemp(root: string, notes: string[]): void {
  for (const sub of [DATA_DIR, 'meta']) {
    for (const f of [...listChunkFiles(root, sub === 'meta' ? EPISODES_DIR : sub, '.parquet' + TEMP_SUFFIX)]) {
      notes.push(`${f.rel}: left by an interrupted write, not part of the dataset (generate --resume removes it)`);
    }
  }
}

export async function verifyDataset(root: string): Promise<VerifyReport> {
  const problems: string[] = [];
  const notes: string[] = [];
  const checked = { episodes: 0, frames: 0, dataFiles: 0, rowGroups: 0 };
  const report = (): VerifyReport => ({ ok: problems.length === 0, problems, notes, checked });
  const problem = (err: unknown, file?: string): void => {
    if (problems.length >= MAX_PROBLEMS) return;
    if (err instanceof DatasetError) problems.push(err.message);
    else problems.push(file ? `${file}: ${(err as Error).message ?? String(err)}` : String((err as Error).message ?? err));
  };

  let info: DatasetInfo;
  try {
    info = readInfo(root);
  } catch (err) {
    problem(err);
    return report();
  }
  if (info.codebase_version !== CODEBASE_VERSION) problems.push(`meta/info.json: codebase_version is ${info.codebase_version}, expected ${CODEBASE_VERSION}`);
  walkTemp(root, notes);

  try {
    const stats = readStats(root);
    if (!stats && info.total_episodes > 0) problems.push(`${STATS_PATH}: missing`);
  } catch (err) {
    problem(err);
  }
  let tasks: string[] = [];
  if (existsSync(join(root, TASKS_PATH))) {
    try {
      tasks = await readTasks(root);
      if (tasks.length !== info.total_tasks) problems.push(`${TASKS_PATH}: holds ${tasks.length} tasks, meta/info.json says total_tasks ${info.total_tasks}`);
    } catch (err) {
      problem(err);
    }
  } else if (info.total_tasks > 0) problems.push(`${TASKS_PATH}: missing (meta/info.json says total_tasks ${info.total_tasks})`);

  // Episodes tables.
  const byFile = new Map<string, EpisodeMetaRow[]>();
  let expectEpisode = 0, expectFrom = 0;
  for (const mf of listChunkFiles(root, EPISODES_DIR)) {
    let rows: EpisodeMetaRow[];
    try {
      rows = await readEpisodesTable(root, mf.rel);
    } catch (err) {
      problem(err, mf.rel);
      continue;
    }
    for (const r of rows) {
      if (r.episode_index !== expectEpisode) {
        problems.push(r.episode_index > expectEpisode
          ? `${mf.rel}: episode index gap: episode ${r.episode_index} follows ${expectEpisode - 1} (${r.episode_index - expectEpisode === 1 ? `episode ${expectEpisode} is` : `episodes ${expectEpisode}..${r.episode_index - 1} are`} missing)`
          : `${mf.rel}: episode ${r.episode_index} appears again after episode ${expectEpisode - 1} (duplicate or out of order)`);
        expectEpisode = r.episode_index;
      }
      if (r.length < 1 || r.to - r.from !== r.length) problems.push(`${mf.rel}: episode ${r.episode_index} has length ${r.length} but rows ${r.from}..${r.to}`);
      if (r.from !== expectFrom) problems.push(`${mf.rel}: episode ${r.episode_index} starts at frame ${r.from}, expected ${expectFrom}`);
      for (const t of r.tasks) if (tasks.length && !tasks.includes(t)) problems.push(`${mf.rel}: episode ${r.episode_index} has task "${t}", which ${TASKS_PATH} lacks`);
      const rel = dataFilePath(info, r.dataChunk, r.dataFile);
      if (!byFile.has(rel)) byFile.set(rel, []);
      byFile.get(rel)!.push(r);
      expectEpisode = r.episode_index + 1;
      expectFrom = r.to;
      checked.episodes++;
      checked.frames += r.length;
    }
  }
  if (checked.episodes !== info.total_episodes) problems.push(`meta/info.json: total_episodes is ${info.total_episodes} but ${EPISODES_DIR} holds ${checked.episodes} episodes`);
  if (checked.frames !== info.total_frames) problems.push(`meta/info.json: total_frames is ${info.total_frames} but the episodes add up to ${checked.frames} frames`);

  // Data files.
  const onDisk = new Set(listChunkFiles(root, DATA_DIR).map((f) => f.rel));
  for (const rel of onDisk) if (!byFile.has(rel)) problems.push(`${rel}: no episode refers to this data file (left by an interrupted commit?)`);
  const features = Object.entries(info.features).filter(([, f]) => f.dtype !== 'video').map(([k]) => k);
  for (const [rel, episodes] of byFile) {
    if (problems.length >= MAX_PROBLEMS) break;
    if (!onDisk.has(rel)) {
      problems.push(`${rel}: missing, but episodes ${episodes[0].episode_index}..${episodes.at(-1)!.episode_index} are stored in it`);
      continue;
    }
    checked.dataFiles++;
    const sums = new Set(episodes.map((e) => e.extras[CHECKSUM_COLUMN]).filter((v) => v !== undefined));
    if (sums.size > 1) problems.push(`${rel}: its episodes record ${sums.size} different checksums`);
    else if (sums.size === 1) {
      const want = [...sums][0];
      const got = await fileSha256(join(root, rel));
      if (got !== want) {
        problems.push(`${rel}: corrupted: its SHA-256 is ${got.slice(0, 12)}…, the episodes table recorded ${String(want).slice(0, 12)}… when it was written`);
      }
    }
    try {
      const src = await openParquet(join(root, rel), rel);
      try {
        const cols = columnNames(src.metadata);
        const missing = features.filter((f) => !cols.includes(f));
        if (missing.length) throw new DatasetError(`lacks the columns ${missing.join(', ')} that meta/info.json declares`, rel);
        const expectRows = episodes.reduce((a, e) => a + e.length, 0);
        if (src.rows !== expectRows) throw new DatasetError(`holds ${src.rows} rows but its episodes (${episodes[0].episode_index}..${episodes.at(-1)!.episode_index}) add up to ${expectRows}`, rel);
        // Expected per row: walk episodes alongside row groups.
        let ei = 0, t = 0;
        for (const [start, end] of rowGroupRanges(src.metadata)) {
          const rows = await readRows(src, undefined, start, end, rel);
          checked.rowGroups++;
          for (let i = 0; i < rows.length; i++) {
            const r = rows[i];
            const e = episodes[ei];
            const got = { ep: Number(r.episode_index), frame: Number(r.frame_index), index: Number(r.index), task: Number(r.task_index) };
            if (got.ep !== e.episode_index || got.frame !== t || got.index !== e.from + t) {
              throw new DatasetError(`row ${start + i} has episode_index ${got.ep}, frame_index ${got.frame}, index ${got.index}; expected ${e.episode_index}, ${t}, ${e.from + t}`, rel);
            }
            if (tasks.length && !(got.task >= 0 && got.task < tasks.length)) throw new DatasetError(`row ${start + i} has task_index ${got.task}, but there are ${tasks.length} tasks`, rel);
            if (++t === e.length) {
              ei++;
              t = 0;
            }
          }
        }
      } finally {
        await src.close();
      }
    } catch (err) {
      problem(err, rel);
    }
  }
  return report();
}
