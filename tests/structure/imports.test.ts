/**
 * The folder boundaries, checked from the source (DESIGN.md, "Dependencies point one way"):
 *
 *   bin → cli → workflows → { viewer, policy, bridge } → sim
 *
 * - no file-level import cycles;
 * - sim/ imports none of the other parts;
 * - policy/ and bridge/ sit side by side above sim/: each imports only sim/;
 * - viewer/ imports sim/ and the bridge's protocol and client side (its pages the protocol alone),
 *   never policy/ or workflows/: a policy reaches the viewer as a driver that cli/ hands it;
 * - workflows/ (joining several parts) imports no cli/; nothing below cli/ imports cli/.
 *
 * The checker itself is tested on small made-up graphs, so a broken rule is known to fail.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, layerViolations, moduleReferences, readImportGraph } from './import-graph.ts';
import type { ImportGraph, LayerRule } from './import-graph.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PARTS = ['bin', 'cli', 'workflows', 'viewer', 'policy', 'bridge', 'sim'] as const;

/** The bridge as a client sees it: the wire protocol, the controller client, recordings. */
const BRIDGE_CLIENT_SIDE = /^bridge\/(protocol\.ts|protocol\/[^/]+\.ts|controller-client\.ts|mcap\/reader\.ts)$/;
const BRIDGE_PROTOCOL = /^bridge\/(protocol\.ts|protocol\/[^/]+\.ts)$/;

export const RULES: Record<(typeof PARTS)[number], LayerRule> = {
  bin: { may: ['cli'] },
  cli: { may: ['workflows', 'viewer', 'policy', 'bridge', 'sim'] },
  workflows: { may: ['viewer', 'policy', 'bridge', 'sim'] },
  viewer: {
    may: ['sim', 'bridge'],
    only: { bridge: { allows: (f) => BRIDGE_CLIENT_SIDE.test(f), says: 'the protocol, controller-client.ts and mcap/reader.ts' } },
  },
  policy: { may: ['sim'] },
  bridge: { may: ['sim'] },
  sim: { may: [] },
};

/** The browser page is bundled on its own: it may read the bridge's protocol and nothing else of it. */
const PAGE_RULES: Record<string, LayerRule> = {
  viewer: { may: ['sim', 'bridge'], only: { bridge: { allows: (f) => BRIDGE_PROTOCOL.test(f), says: 'the protocol' } } },
};

const graph = readImportGraph(ROOT, PARTS);

describe('the import graph of the source', () => {
  it('reads every part and the references between them', () => {
    // A sanity check that the reader sees the graph at all (not a rule): the CLI reaches every part.
    for (const p of PARTS) expect([...graph.keys()].some((f) => f.startsWith(`${p}/`)), p).toBe(true);
    expect(graph.get('bin/simreal.js')).toEqual(['bin/node-version.js', 'cli/main.ts']);
    expect(graph.get('sim/generate/generate.ts')).toContain('sim/generate/worker.ts');
  });

  it('has no import cycles', () => {
    expect(findCycles(graph).map((c) => c.join(' → '))).toEqual([]);
  });

  it('keeps every part to the parts below it', () => {
    expect(layerViolations(graph, RULES)).toEqual([]);
  });

  it('keeps the browser page to the bridge protocol', () => {
    const page: ImportGraph = new Map([...graph].filter(([f]) => f.startsWith('viewer/app/')));
    expect(layerViolations(page, PAGE_RULES)).toEqual([]);
  });
});

describe('the checker', () => {
  const g = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

  it('finds cycles, long and short, and none where there are none', () => {
    expect(findCycles(g({ 'a/x.ts': ['a/y.ts'], 'a/y.ts': ['a/z.ts'], 'a/z.ts': [] }))).toEqual([]);
    expect(findCycles(g({ 'a/x.ts': ['a/y.ts'], 'a/y.ts': ['a/z.ts'], 'a/z.ts': ['a/x.ts'] }))).toEqual([['a/x.ts', 'a/y.ts', 'a/z.ts', 'a/x.ts']]);
    expect(findCycles(g({ 'a/x.ts': ['a/x.ts'] }))).toEqual([['a/x.ts', 'a/x.ts']]);
    const two = findCycles(g({ 'a/p.ts': ['b/q.ts'], 'b/q.ts': ['a/p.ts'], 'c/r.ts': ['c/s.ts', 'a/p.ts'], 'c/s.ts': ['c/r.ts'] }));
    expect(two.map((c) => c.join(' '))).toEqual(['a/p.ts b/q.ts a/p.ts', 'c/r.ts c/s.ts c/r.ts']);
  });

  it('names each edge that points the wrong way', () => {
    const bad = g({
      'sim/a.ts': ['policy/b.ts'],
      'policy/b.ts': ['sim/c.ts', 'bridge/hub/hub.ts'],
      'viewer/d.ts': ['bridge/protocol.ts', 'bridge/hub/server.ts', 'workflows/e.ts'],
      'workflows/e.ts': ['cli/f.ts', 'policy/b.ts'],
    });
    expect(layerViolations(bad, RULES)).toEqual([
      'sim/a.ts imports policy/b.ts: sim/ may import no other part',
      'policy/b.ts imports bridge/hub/hub.ts: policy/ may import sim/',
      'viewer/d.ts imports bridge/hub/server.ts: viewer/ may import only the protocol, controller-client.ts and mcap/reader.ts of bridge/',
      'viewer/d.ts imports workflows/e.ts: viewer/ may import sim/, bridge/',
      'workflows/e.ts imports cli/f.ts: workflows/ may import viewer/, policy/, bridge/, sim/',
    ]);
  });

  it('reads every kind of reference and skips comments and strings', () => {
    const src = [
      "import type { A } from './a.ts';",
      "import {\n  b,\n  type C,\n} from '../b.ts';",
      "export * from './c.ts';",
      "export { d } from './d.ts';",
      "import './e.ts';",
      "const f = await import('./f.ts');",
      "const g = import.meta.resolve('./g.ts');",
      "new Worker(new URL('./h.ts', import.meta.url));",
      "import * as tf from '@tensorflow/tfjs';",
      "// import { x } from './comment.ts';",
      "/* const y = await import('./block-comment.ts'); */",
      "const s = \"import('./in-a-string.ts')\"; const r = /'/; const t = `import('./in-a-template.ts') ${1}`;",
      "const url = 'ws://localhost'; import { i } from './i.ts';",
    ].join('\n');
    expect(moduleReferences(src)).toEqual(['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts', './f.ts', './g.ts', './h.ts', './i.ts']);
  });
});
