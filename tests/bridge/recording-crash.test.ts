import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { McapRecorder } from '../../bridge/mcap/recorder.ts';
import { recoverRecording, RecoverError } from '../../bridge/mcap/recover.ts';
import { readRecording } from '../../bridge/mcap/reader.ts';
import { readBothWays, runRecordingCrashBench } from '../../bridge/bench/recording-crash.ts';
import { ROOT, runCli } from '../cli/run-cli.ts';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-crash-'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ping(i: number, t: number): { dir: 'in'; op: string; robot: null; t: number; text: string } {
  return { dir: 'in', op: 'ping', robot: null, t, text: JSON.stringify({ op: 'ping', id: i }) };
}

describe('crash-safe recordings', () => {
  it('puts the open chunk on disk every flush interval, while the recorder is still open', async () => {
    const dir = tmp();
    const file = path.join(dir, 'live.mcap');
    const rec = await McapRecorder.open(file, { flushIntervalMs: 50 });
    expect(fs.statSync(file).size).toBeGreaterThan(0); // magic and header at once
    for (let i = 0; i < 20; i++) rec.record(ping(i, 1000 + i));
    await sleep(200);
    // What a kill -9 would leave now: the bytes the OS has.
    fs.copyFileSync(file, path.join(dir, 'snapshot.mcap'));
    for (let i = 20; i < 40; i++) rec.record(ping(i, 1000 + i));
    const r = await recoverRecording(path.join(dir, 'snapshot.mcap'), path.join(dir, 'fixed.mcap'));
    expect(r.status).toBe('recovered');
    expect(r.messages).toBe(20);
    const ids: number[] = [];
    for await (const m of readRecording(path.join(dir, 'fixed.mcap'))) ids.push((m.json as { id: number }).id);
    expect(ids).toEqual([...Array(20).keys()]);
    await rec.close();
    // The closed file is complete: recover leaves it alone and writes nothing.
    const whole = await recoverRecording(file, path.join(dir, 'again.mcap'));
    expect(whole).toMatchObject({ status: 'complete', messages: 40 });
    expect(fs.existsSync(path.join(dir, 'again.mcap'))).toBe(false);
  });

  it('recovers a valid prefix from a recording cut at any byte', async () => {
    const dir = tmp();
    const full = path.join(dir, 'full.mcap');
    const rec = await McapRecorder.open(full, { chunkSize: 300, flushIntervalMs: 60_000 });
    for (let i = 0; i < 60; i++) rec.record(ping(i, 1000 + i));
    await rec.close();
    const bytes = fs.readFileSync(full);
    let recovered = 0;
    let refused = 0;
    let last = -1;
    for (let cut = 0; cut < bytes.length; cut += 11) {
      const broken = path.join(dir, 'broken.mcap');
      const fixed = path.join(dir, 'fixed.mcap');
      fs.writeFileSync(broken, bytes.subarray(0, cut));
      fs.rmSync(fixed, { force: true });
      try {
        const r = await recoverRecording(broken, fixed);
        if (r.status === 'complete') continue;
        const both = await readBothWays(fixed);
        expect(both.indexed).toBe(r.messages);
        expect(both.streamed).toBe(r.messages);
        expect(both.footer).toBe(true);
        // A prefix, never fewer messages for a longer file.
        expect(r.messages).toBeGreaterThanOrEqual(last);
        last = r.messages;
        const ids: number[] = [];
        for await (const m of readRecording(fixed)) ids.push((m.json as { id: number }).id);
        expect(ids).toEqual([...Array(r.messages).keys()]);
        recovered++;
      } catch (e) {
        expect(e).toBeInstanceOf(RecoverError);
        expect(fs.existsSync(fixed)).toBe(false); // nothing half-written left behind
        refused++;
      }
    }
    expect(recovered).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(0);
    expect(last).toBeGreaterThanOrEqual(50);
  });

  it('recording recover: clear errors for empty and foreign files, and a refusal to overwrite', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'empty.mcap'), '');
    fs.writeFileSync(path.join(dir, 'text.mcap'), 'hello, this is not MCAP at all\n');
    const empty = await runCli(['recording', 'recover', path.join(dir, 'empty.mcap')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/empty \(0 bytes\).*nothing to recover/);
    const text = await runCli(['recording', 'recover', path.join(dir, 'text.mcap')]);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/is not an MCAP file/);
    expect(text.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const rec = await McapRecorder.open(path.join(dir, 'a.mcap'), { flushIntervalMs: 20 });
    for (let i = 0; i < 5; i++) rec.record(ping(i, 1000 + i));
    await rec.flush();
    fs.copyFileSync(path.join(dir, 'a.mcap'), path.join(dir, 'cut.mcap'));
    await rec.close();
    const ok = await runCli(['recording', 'recover', path.join(dir, 'cut.mcap')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/recovered 5 messages on 1 channel in 1 chunk from 1970-01-01T00:00:01\.000Z/);
    expect(fs.existsSync(path.join(dir, 'cut.recovered.mcap'))).toBe(true);
    const again = await runCli(['recording', 'recover', path.join(dir, 'cut.mcap')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/cut\.recovered\.mcap exists; choose another --out or add --overwrite/);
  });

  it('kill -9 of `simreal bridge --record` at random moments: recovered files are valid and lose at most one flush interval', async () => {
    const flushMs = 500;
    const r = await runRecordingCrashBench({
      trials: 3, minSeconds: 1, maxSeconds: 2.5, flushMs, seed: 7,
      bridgeArgv: ({ file, tokenFile, flushMs: ms }) => ({
        command: process.execPath,
        args: [path.join(ROOT, 'bin/simreal.js'), 'bridge', '--port', '0', '--quiet', '--token-file', tokenFile, '--record', file, '--record-flush', String(ms)],
      }),
    });
    const results = r.results as Array<{ lost_window_ms: number; commands_acked: number; commands_recorded: number; messages_recovered: number; indexed_reader_ok: boolean; stream_reader_ok: boolean }>;
    expect(results).toHaveLength(3);
    for (const t of results) {
      expect(t.indexed_reader_ok).toBe(true);
      expect(t.stream_reader_ok).toBe(true);
      expect(t.commands_acked).toBeGreaterThan(50);
      expect(t.commands_recorded).toBeGreaterThan(0);
      // The hub's arrival time of the oldest lost command, measured against the kill: within
      // one interval plus the time the flush itself takes to reach the file (a loaded machine).
      expect(t.lost_window_ms).toBeLessThanOrEqual(flushMs + 150);
    }
  }, 120_000);
});
