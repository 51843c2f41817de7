import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseMessage, CLIENT_OPS, HUB_OPS } from '../../bridge/protocol.ts';

const doc = fs.readFileSync(fileURLToPath(new URL('../../bridge/PROTOCOL.md', import.meta.url)), 'utf8');

describe('PROTOCOL.md', () => {
  it('has valid JSON examples, covering every op in both directions', () => {
    const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThan(15);
    const client = new Set<string>();
    const hub = new Set<string>();
    for (const b of blocks) {
      const c = parseMessage(b);
      const h = parseMessage(b, { from: 'hub' });
      expect(c.ok || h.ok, `${b.slice(0, 80)}: ${!c.ok ? c.error.message : ''} / ${!h.ok ? h.error.message : ''}`).toBe(true);
      if (c.ok) client.add(c.msg.op);
      if (h.ok) hub.add(h.msg.op);
    }
    expect([...client].sort()).toEqual([...CLIENT_OPS].sort());
    for (const op of HUB_OPS) if (op !== 'observation') expect(hub, op).toContain(op);
  });

  it('documents every error code', () => {
    for (const code of ['bad_json', 'stale_pose', 'unknown_command', 'limits_conflict']) expect(doc).toContain(`\`${code}\``);
  });
});
