/**
 * Small file-system helpers for crash-safe datasets: atomic replacement (write a temporary file,
 * fsync it, rename it over the target, fsync the folder) and listings of chunked files.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TEMP_SUFFIX } from './format.ts';

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse to fsync a folder; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `text` to `path` atomically (readers see the old or the new content, never a mix). */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = path + TEMP_SUFFIX;
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 4)}\n`);
}

/** Flushes a file written by another process (ffmpeg) to the disk. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Renames a finished temporary file into place and makes the rename durable. */
export function commitFile(tmp: string, path: string): void {
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

export interface ChunkFile {
  chunk: number;
  file: number;
  /** Path relative to the dataset root. */
  rel: string;
}

/** `<root>/<sub>/chunk-CCC/file-FFF<suffix>` files, ordered by (chunk, file). */
export function listChunkFiles(root: string, sub: string, suffix = '.parquet'): ChunkFile[] {
  const base = join(root, sub);
  if (!existsSync(base)) return [];
  const out: ChunkFile[] = [];
  for (const c of readdirSync(base, { withFileTypes: true })) {
    const cm = /^chunk-(\d+)$/.exec(c.name);
    if (!c.isDirectory() || !cm) continue;
    for (const f of readdirSync(join(base, c.name))) {
      const fm = /^file-(\d+)(.*)$/.exec(f);
      if (!fm || fm[2] !== suffix) continue;
      out.push({ chunk: Number(cm[1]), file: Number(fm[1]), rel: `${sub}/${c.name}/${f}` });
    }
  }
  return out.sort((a, b) => a.chunk - b.chunk || a.file - b.file);
}

/** Removes leftover temporary files (of an interrupted write) under the given folders. */
export function removeTempFiles(root: string, subs: string[]): string[] {
  const removed: string[] = [];
  const walk = (dir: string, rel: string, depth: number): void => {
    if (!existsSync(dir) || depth > 3) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, `${rel}/${e.name}`, depth + 1);
      else if (e.name.endsWith(TEMP_SUFFIX)) {
        rmSync(p, { force: true });
        removed.push(`${rel}/${e.name}`);
      }
    }
  };
  for (const s of subs) walk(join(root, s), s, 0);
  return removed;
}
