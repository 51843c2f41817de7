import { describe, it, expect, afterEach } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { ControllerClient } from '../../bridge/controller-client.ts';
import { readRecording } from '../../bridge/mcap/reader.ts';

const cli = fileURLToPath(new URL('../../bin/simreal.js', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => { for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL'); });

function run(args: string[]): { child: ChildProcess; line: (re: RegExp) => Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  for (const s of [child.stdout!, child.stderr!]) readline.createInterface({ input: s }).on('line', (l) => { lines.push(l); for (const w of waiters.splice(0)) w(); });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = async (re: RegExp): Promise<string> => {
    const t0 = Date.now();
    for (;;) {
      const hit = lines.find((l) => re.test(l));
      if (hit) return hit;
      if (Date.now() - t0 > 20_000) throw new Error(`no line matching ${re}; got ${JSON.stringify(lines.slice(-8))}`);
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
    }
  };
  return { child, line, exit };
}

describe('simreal bridge / robot so101 (CLI)', () => {
  it('starts the hub with a fresh token, records, drives a dry-run SO-101, and shuts down on SIGINT', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-cli-'));
    const tokenFile = path.join(dir, 'cfg', 'token');
    const rec = path.join(dir, 's.mcap');
    const hub = run(['bridge', '--port', '0', '--token-file', tokenFile, '--record', rec]);
    const url = (await hub.line(/listening on (ws:\/\/\S+)/)).match(/(ws:\/\/\S+)/)![1];
    expect(await hub.line(/token: /)).toContain(`${tokenFile} (new)`);
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    const keyFile = path.join(dir, 'cfg', 'robot-key');
    expect(await hub.line(/robot key: /)).toContain(`${keyFile} (new)`);
    // The arm's credential, written on the hub's machine and handed to the robot.
    const cred = path.join(dir, 'arm.token');
    const minted = spawnSync(process.execPath, [cli, 'robot', 'token', '--id', 'arm', '--robot-key-file', keyFile, '--out', cred], { encoding: 'utf8' });
    expect(minted.status).toBe(0);
    expect(fs.statSync(cred).mode & 0o777).toBe(0o600);
    const arm = run(['robot', 'so101', '--dry-run', '--bridge', url, '--robot-token-file', cred, '--id', 'arm', '--form', 'ee_target']);
    await arm.line(/SO-101 \(simulated bus\) connected/);
    const token = fs.readFileSync(tokenFile, 'utf8').trim();
    const c = await ControllerClient.connect({ url, token, name: 'cli-test' });
    const info = await c.waitForRobot('arm');
    expect(info.model).toBe('so101');
    await c.lease('arm');
    const obs = await new Promise<{ state: Record<string, number[]> }>((resolve) => c.once('observation', resolve));
    const p = obs.state['ee.pose'];
    const ack = await c.command('arm', [p[0] + 0.01, p[1], p[2], p[3], 0]);
    expect(ack.sent[0]).toBeCloseTo(p[0] + 0.01, 9);
    expect(ack.applied[0]).toBeCloseTo(p[0] + 0.01, 2);
    await c.close();
    arm.child.kill('SIGINT');
    expect(await arm.exit).toBe(0);
    hub.child.kill('SIGINT');
    expect(await hub.exit).toBe(0);
    const ops = new Set<string>();
    for await (const m of readRecording(rec)) ops.add(`${m.dir}.${m.op}`);
    expect(ops).toContain('in.command');
    expect(ops).toContain('out.ack');
  });

  it('explains bad input with exit code 2', () => {
    const r = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    const a = r(['bridge', '--port', 'abc']);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--port expects an integer/);
    const b = r(['bridge', '--port', '0', '--tls-cert', 'x.pem']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/both --tls-cert and --tls-key/);
    const c = r(['robot', 'so101', '--bridge', 'ws://127.0.0.1:1']);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/--serial/);
    const d = r(['bench', 'bridge', '--phases', 'warp']);
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/unknown phase/);
    // Robots no longer connect with the main token; the message says what to do instead.
    const e = r(['robot', 'so101', '--dry-run', '--bridge', 'ws://127.0.0.1:1', '--token-file', 'x']);
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/own credential.*simreal robot token --id so101/);
  });
});
