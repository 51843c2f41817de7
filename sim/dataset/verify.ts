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
 * byte that still decodes is found too. Video features: every episode has its segment columns,
 * every video file referred to exists and none is left over, the segments of a file follow each
 * other and each lasts length/fps, and (with ffprobe) each file's codec, size, frame rate and
 * frame count agree with meta/info.json and its episodes.
 * Memory: one row group at a time.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetInfo } from './format.ts';
import { CHECKSUM_COLUMN, CODEBASE_VERSION, DATA_DIR, DatasetError, EPISODES_DIR, STATS_PATH, TASKS_PATH, TEMP_SUFFIX, dataFilePath, videoFilePath } from './format.ts';
import { VideoToolMissingError, ffmpegAvailable, probeVideo } from './video.ts';
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
  const videoKeys = Object.entries(info.features).filter(([, f]) => f.dtype === 'video').map(([k]) => k);
  const byVideo = new Map<string, { key: string; segs: Array<{ episode: number; from: number; to: number; length: number }> }>();
  const byFile = new Map<string, EpisodeMetaRow[]>();
  // Episodes tables that could not be read: the files their episodes refer to are unknown, so no
  // file is called unreferenced (that would blame the data for the table's damage).
  const unreadableTables: string[] = [];
  let expectEpisode = 0, expectFrom = 0;
  for (const mf of listChunkFiles(root, EPISODES_DIR)) {
    let rows: EpisodeMetaRow[];
    try {
      rows = await readEpisodesTable(root, mf.rel);
    } catch (err) {
      problem(err, mf.rel);
      unreadableTables.push(mf.rel);
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
      for (const key of videoKeys) {
        const seg = r.videos?.[key];
        if (!seg) {
          problems.push(`${mf.rel}: episode ${r.episode_index} has no videos/${key}/… columns, but ${key} is a video feature`);
          continue;
        }
        const vrel = videoFilePath(info, key, seg.chunk, seg.file);
        if (!byVideo.has(vrel)) byVideo.set(vrel, { key, segs: [] });
        byVideo.get(vrel)!.segs.push({ episode: r.episode_index, from: seg.from, to: seg.to, length: r.length });
      }
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

  if (checked.episodes === 0 && unreadableTables.length === 0) problems.push(`${EPISODES_DIR}: the dataset holds no episode (a generation or merge that never committed one); generate or merge it again`);

  // Video files.
  if (videoKeys.length) {
    if (!info.video_path) problems.push('meta/info.json: video features are declared but video_path is not set');
    const canProbe = ffmpegAvailable();
    if (!canProbe) notes.push('video files were not decoded or probed: ffmpeg (with ffprobe) is not installed (apt-get install ffmpeg)');
    for (const key of videoKeys) {
      for (const vf of listChunkFiles(root, `videos/${key}`, '.mp4')) if (!byVideo.has(vf.rel) && unreadableTables.length === 0) problems.push(`${vf.rel}: no episode refers to this video file (left by an interrupted commit?)`);
      for (const vf of listChunkFiles(root, `videos/${key}`, '.mp4' + TEMP_SUFFIX)) notes.push(`${vf.rel}: left by an interrupted write, not part of the dataset (generate --resume removes it)`);
    }
    const tol = 0.5 / info.fps;
    for (const [vrel, { key, segs }] of byVideo) {
      if (problems.length >= MAX_PROBLEMS) break;
      if (!existsSync(join(root, vrel))) {
        problems.push(`${vrel}: missing, but episodes ${segs[0].episode}..${segs.at(-1)!.episode} are stored in it`);
        continue;
      }
      segs.sort((a, b) => a.from - b.from);
      let end = segs[0].from;
      for (const g of segs) {
        if (Math.abs(g.to - g.from - g.length / info.fps) > tol) problems.push(`${vrel}: episode ${g.episode} spans ${g.from}..${g.to} s, but its ${g.length} frames last ${g.length / info.fps} s at ${info.fps} fps`);
        if (Math.abs(g.from - end) > tol) problems.push(`${vrel}: episode ${g.episode} starts at ${g.from} s, where the previous episode in the file ended at ${end} s`);
        end = g.to;
      }
      if (!canProbe) continue;
      try {
        const p = probeVideo(join(root, vrel));
        const f = info.features[key];
        const want = (f.info ?? {}) as Record<string, unknown>;
        const [h, w] = f.shape;
        if (p.width !== w || p.height !== h) problems.push(`${vrel}: frames are ${p.width}x${p.height}, meta/info.json says ${w}x${h}`);
        if (want['video.codec'] !== undefined && p.codec !== want['video.codec']) problems.push(`${vrel}: codec ${p.codec}, meta/info.json says ${String(want['video.codec'])}`);
        if (Math.abs(p.fps - info.fps) > 1e-6) problems.push(`${vrel}: ${p.fps} frames/s, the dataset ${info.fps}`);
        const need = Math.round(end * info.fps);
        if (Number.isFinite(p.frames) && p.frames < need) problems.push(`${vrel}: holds ${p.frames} frames, but its episodes reach frame ${need} (truncated?)`);
      } catch (err) {
        if (err instanceof VideoToolMissingError) notes.push(err.message);
        else problems.push(`${vrel}: ${(err as Error).message}`);
      }
    }
  }

  // Data files.
  const onDisk = new Set(listChunkFiles(root, DATA_DIR).map((f) => f.rel));
  for (const rel of onDisk) {
    if (byFile.has(rel)) continue;
    if (unreadableTables.length) notes.push(`${rel}: not checked, its episodes may be in the unreadable ${unreadableTables.join(', ')}`);
    else problems.push(`${rel}: no episode refers to this data file (left by an interrupted commit?)`);
  }
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
