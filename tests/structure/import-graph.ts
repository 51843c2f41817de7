/**
 * The project's import graph, read from the source, and the rules it must keep (DESIGN.md,
 * "Dependencies point one way"). Every relative module reference counts as an edge: `import` and
 * `export … from` (type-only ones too: a cycle of types still ties two files together), dynamic
 * `import('…')`, `import.meta.resolve('…')` and `new URL('….ts', import.meta.url)` (how worker
 * threads are started). Package imports and data files (a scenario read as JSON) are not edges.
 * Comments and the text of other strings are skipped, so an example in a comment never counts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** File (repo-relative, forward slashes) → the files it references. */
export type ImportGraph = Map<string, string[]>;

/**
 * The source as code alone: comments blanked out, the text of template literals blanked out (their
 * `${…}` code kept), and each quoted string replaced by `"@n"`, its text being `strings[n]`. So a
 * reference written in a comment or inside some other string never looks like an import.
 */
export function codeOnly(src: string): { code: string; strings: string[] } {
  const strings: string[] = [];
  let out = '';
  let i = 0;
  // The last significant character outside comments: decides whether `/` starts a regex.
  let prev = '';
  const regexAfter = new Set(['', '(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^']);
  const templateDepth: number[] = [];
  let braces = 0;
  while (i < src.length) {
    const c = src[i], d = src[i + 1];
    if (c === '/' && d === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && d === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      out += `"@${strings.length}"`;
      strings.push(src.slice(i + 1, j));
      i = j + 1;
      prev = c;
      continue;
    }
    if (c === '`' || (c === '}' && templateDepth.length > 0 && templateDepth[templateDepth.length - 1] === braces)) {
      // A template literal, or its continuation after a `${…}` substitution.
      if (c === '}') templateDepth.pop();
      let j = i + 1;
      for (;;) {
        if (j >= src.length) break;
        if (src[j] === '\\') {
          j += 2;
          continue;
        }
        if (src[j] === '`') {
          j++;
          break;
        }
        if (src[j] === '$' && src[j + 1] === '{') {
          j += 2;
          templateDepth.push(braces);
          break;
        }
        j++;
      }
      out += src.slice(i, j).replace(/[^\n]/g, ' ');
      i = j;
      prev = '`';
      continue;
    }
    if (c === '/' && (regexAfter.has(prev) || /(^|[^\w$])(return|typeof|case|of|in)\s*$/.test(out.slice(-12)))) {
      let j = i + 1, inClass = false;
      while (j < src.length && src[j] !== '\n') {
        if (src[j] === '\\') {
          j += 2;
          continue;
        }
        if (src[j] === '[') inClass = true;
        else if (src[j] === ']') inClass = false;
        else if (src[j] === '/' && !inClass) break;
        j++;
      }
      out += src.slice(i, j + 1);
      i = j + 1;
      prev = '/';
      continue;
    }
    if (c === '{') braces++;
    if (c === '}') braces--;
    if (!/\s/.test(c)) prev = /[\w$]/.test(c) ? 'w' : c;
    out += c;
    i++;
  }
  return { code: out, strings };
}

// Each names the string that holds the specifier ("@n", see codeOnly).
const STATIC = /(?:^|[;\n}])\s*(?:import|export)\s+(?:type\s+)?(?:[\w$*{},\s]+?\s+from\s+)?"@(\d+)"/g;
const DYNAMIC = /\bimport\s*\(\s*"@(\d+)"\s*\)/g;
const RESOLVE = /\bimport\.meta\.resolve\s*\(\s*"@(\d+)"\s*\)/g;
const URL_REF = /\bnew\s+URL\s*\(\s*"@(\d+)"\s*,\s*import\.meta\.url\s*\)/g;

/** The relative module specifiers a source file references, in order of appearance. */
export function moduleReferences(src: string): string[] {
  const { code, strings } = codeOnly(src);
  const found: Array<[number, string]> = [];
  for (const re of [STATIC, DYNAMIC, RESOLVE, URL_REF]) {
    for (const m of code.matchAll(re)) {
      const spec = strings[Number(m[1])];
      // Data (a scenario imported as JSON, a folder named by URL) is not a dependency between modules.
      if (!/\.(ts|js|mjs)$/.test(spec)) continue;
      if (spec.startsWith('./') || spec.startsWith('../')) found.push([m.index, spec]);
    }
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, s]) => s);
}

function sourceFiles(root: string, dir: string, out: string[]): void {
  const abs = join(root, dir);
  if (!existsSync(abs)) return;
  for (const name of readdirSync(abs).sort()) {
    const rel = `${dir}/${name}`;
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(join(root, rel)).isDirectory()) sourceFiles(root, rel, out);
    else if (/\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
}

/**
 * Reads every .ts/.js file under `folders` (relative to `root`) and resolves its relative
 * references. A reference that names no file is an error: the graph would be silently wrong.
 */
export function readImportGraph(root: string, folders: readonly string[]): ImportGraph {
  const files: string[] = [];
  for (const f of folders) sourceFiles(root, f, files);
  const graph: ImportGraph = new Map();
  const missing: string[] = [];
  for (const file of files) {
    const targets: string[] = [];
    for (const spec of moduleReferences(readFileSync(join(root, file), 'utf8'))) {
      const target = relative(root, resolve(root, dirname(file), spec)).split('\\').join('/');
      if (!existsSync(join(root, target)) || statSync(join(root, target)).isDirectory()) missing.push(`${file} → ${spec}`);
      else if (!targets.includes(target)) targets.push(target);
    }
    graph.set(file, targets);
  }
  if (missing.length) throw new Error(`references to no file:\n  ${missing.join('\n  ')}`);
  return graph;
}

/** Every import cycle (strongly connected component of more than one file, or a file importing itself), each as a closed path. */
export function findCycles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(scc);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  // One readable cycle per component, in name order: the shortest path from its first file back to itself.
  return components.map((scc) => {
    const inScc = new Set(scc);
    const start = [...scc].sort()[0];
    const prevOf = new Map<string, string>();
    const queue = [start];
    while (queue.length) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!inScc.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let u = v; u !== start; u = prevOf.get(u)!) path.splice(1, 0, u);
          return [...path, start];
        }
        if (!prevOf.has(w)) {
          prevOf.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  }).sort((a, b) => a[0].localeCompare(b[0]));
}

/**
 * What a top-level folder may reference outside itself: whole folders (`may`), or, for a folder
 * named in `only`, just the files a test accepts (`viewer/` reads the bridge's protocol and client
 * side, never its hub or robots).
 */
export interface LayerRule {
  may: readonly string[];
  only?: Readonly<Record<string, { allows: (file: string) => boolean; says: string }>>;
}

/** The first folder of a repo-relative path. */
export function partOf(file: string): string {
  return file.split('/')[0];
}

/** Each edge that breaks a rule, as a sentence naming both files and the rule. */
export function layerViolations(graph: ImportGraph, rules: Readonly<Record<string, LayerRule>>): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    const from = partOf(file);
    const rule = rules[from];
    if (!rule) continue;
    for (const target of targets) {
      const to = partOf(target);
      if (to === from) continue;
      const limited = rule.only?.[to];
      if (limited) {
        if (!limited.allows(target)) out.push(`${file} imports ${target}: ${from}/ may import only ${limited.says} of ${to}/`);
      } else if (!rule.may.includes(to)) {
        out.push(`${file} imports ${target}: ${from}/ may import ${rule.may.length ? rule.may.map((p) => `${p}/`).join(', ') : 'no other part'}`);
      }
    }
  }
  return out;
}
