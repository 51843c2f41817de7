import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as http from 'node:http';
import { sourceFromFlags } from '../../cli/view.ts';
import type { ViewFlags } from '../../cli/view.ts';
import { UserError } from '../../cli/errors.ts';
import { SimSource } from '../../viewer/server/sim-source.ts';
import { expertDriver } from '../../viewer/server/action-source.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const flags = (extra: Partial<ViewFlags> = {}): ViewFlags => ({ seed: '0', tokenFile: '/nonexistent/token', port: '0', host: '127.0.0.1', speed: '1', hz: '60', autoReset: true, ...extra });

describe('simreal view: flags', () => {
  it('needs exactly one thing to show', async () => {
    await expect(sourceFromFlags(undefined, flags())).rejects.toThrow(/needs something to show/);
    await expect(sourceFromFlags('scenarios/stack-3.json', flags({ replay: 'x.mcap' }))).rejects.toThrow(/one thing at a time/);
    await expect(sourceFromFlags(undefined, flags({ bridge: 'ws://a:1', replay: 'x.mcap' }))).rejects.toThrow(UserError);
  });

  it('names the bad value and the fix', async () => {
    await expect(sourceFromFlags('scenarios/stack-3.json', flags({ seed: '-1' }))).rejects.toThrow(/--seed expects an integer/);
    await expect(sourceFromFlags('scenarios/stack-3.json', flags({ speed: '99' }))).rejects.toThrow(/--speed/);
    await expect(sourceFromFlags('scenarios/stack-3.json', flags({ hz: '0' }))).rejects.toThrow(/--hz/);
    await expect(sourceFromFlags('scenarios/nope.json', flags())).rejects.toThrow(/cannot read the file/);
    await expect(sourceFromFlags(undefined, flags({ bridge: 'http://x' }))).rejects.toThrow(/ws:\/\/ or wss:\/\//);
    await expect(sourceFromFlags(undefined, flags({ bridge: 'ws://127.0.0.1:1' }))).rejects.toThrow(/token file .* does not exist/);
    await expect(sourceFromFlags(undefined, flags({ replay: '/nonexistent/s.mcap' }))).rejects.toThrow(/does not exist/);
    await expect(sourceFromFlags(undefined, flags({ policy: 'models/x', bridge: 'ws://127.0.0.1:1' }))).rejects.toThrow(/--policy drives a simulation/);
  });

  it('--policy: checks the model directory, then hands it to the policy loader', async () => {
    await expect(sourceFromFlags('scenarios/stack-3.json', flags({ policy: '/nonexistent/model' }))).rejects.toThrow(/does not exist/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-model-'));
    try {
      await expect(sourceFromFlags('scenarios/stack-3.json', flags({ policy: dir }))).rejects.toThrow(/model-card\.json is missing/);
      const seen: string[] = [];
      const { source, what } = await sourceFromFlags('scenarios/stack-3.json', flags({ policy: dir }), async (d) => {
        seen.push(d);
        return { ...expertDriver(), name: `policy:${d}` };
      });
      expect(seen).toEqual([dir]);
      expect(source).toBeInstanceOf(SimSource);
      expect(what).toContain(`policy:${dir}`);
      expect(source.hello().driver).toBe(`policy:${dir}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints the URL of a page that serves, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['bin/simreal.js', 'view', 'scenarios/stack-3.json', '--port', '0', '--seed', '5', '--paused'], { cwd: ROOT });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const t0 = Date.now();
    while (!/^http:\/\/127\.0\.0\.1:\d+\/$/m.test(out)) {
      if (Date.now() - t0 > 30_000) throw new Error(`no URL printed: ${out} ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = out.trim().split('\n')[0];
    const status = await new Promise<number>((resolve, reject) => http.get(url, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject));
    expect(status).toBe(200);
    expect(err).toMatch(/stack-3\.json from seed 5, driven by expert/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('bench viewer refuses bad sizes', async () => {
    const child = spawn(process.execPath, ['bin/simreal.js', 'bench', 'viewer', '--sizes', '10x10'], { cwd: ROOT });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/--sizes expects WIDTHxHEIGHT/);
  });
});
