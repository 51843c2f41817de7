/**
 * Stage caching for `simreal run`: a stage's output lives in `<cache>/<stage>-<key>` and counts as
 * done only when its `stage.json` marker (written last, atomically) holds the same key. The key is
 * a content hash of the code version, the stage's inputs (scenario file contents, options) and
 * the keys of the stages it reads from, so a changed input or source file reruns exactly the
 * stages it affects.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Folders whose sources make up the "code version" of a run. */
const CODE_DIRS = ['sim', 'policy', 'bridge', 'workflows', 'cli', 'bin'];

function listFiles(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) listFiles(p, out);
    else if (/\.(ts|js|json)$/.test(name)) out.push(p);
  }
}

let cachedVersion: string | null = null;

/** SHA-256 (first 16 hex digits) over the project's source files and package-lock.json. */
export function codeVersion(): string {
  if (cachedVersion) return cachedVersion;
  const files: string[] = [];
  for (const d of CODE_DIRS) if (existsSync(join(ROOT, d))) listFiles(join(ROOT, d), files);
  if (existsSync(join(ROOT, 'package-lock.json'))) files.push(join(ROOT, 'package-lock.json'));
  const h = createHash('sha256');
  for (const f of files) {
    h.update(relative(ROOT, f));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  cachedVersion = h.digest('hex').slice(0, 16);
  return cachedVersion;
}

export function stageKey(stage: string, inputs: unknown): string {
  return createHash('sha256').update(JSON.stringify({ stage, code: codeVersion(), inputs })).digest('hex').slice(0, 16);
}

export interface StageMarker<R> {
  stage: string;
  key: string;
  seconds: number;
  finished: string;
  result: R;
}

export class StageCache {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  path(stage: string, key: string): string {
    return join(this.dir, `${stage}-${key}`);
  }

  /** The finished marker for (stage, key), or null. */
  done<R>(stage: string, key: string): StageMarker<R> | null {
    const file = join(this.path(stage, key), 'stage.json');
    if (!existsSync(file)) return null;
    try {
      const m = JSON.parse(readFileSync(file, 'utf8')) as StageMarker<R>;
      return m.key === key ? m : null;
    } catch {
      return null;
    }
  }

  /** A fresh, empty output folder for (stage, key): leftovers of an interrupted attempt are removed. */
  fresh(stage: string, key: string): string {
    const p = this.path(stage, key);
    rmSync(p, { recursive: true, force: true });
    mkdirSync(p, { recursive: true });
    return p;
  }

  finish<R>(stage: string, key: string, seconds: number, result: R): void {
    const p = this.path(stage, key);
    const marker: StageMarker<R> = { stage, key, seconds, finished: new Date().toISOString(), result };
    writeFileSync(join(p, 'stage.json.tmp'), `${JSON.stringify(marker, null, 2)}\n`);
    renameSync(join(p, 'stage.json.tmp'), join(p, 'stage.json'));
  }
}
