/**
 * `simreal bench recording`: what a `kill -9` of a recording bridge costs. Each trial starts the
 * bridge as its own process with `--record`, connects a mock robot with a camera (observations
 * and frames at 100 Hz) and a controller commanding it at 200 Hz, kills the bridge with SIGKILL
 * at a seeded random moment, recovers the file (`recoverRecording`) and checks it:
 *
 * - the recovered file opens in @mcap/core's indexed reader (summary, chunk indexes) and streams
 *   to its footer through the streaming reader with every CRC checked; both see the same messages;
 * - every command the hub acknowledged before the kill is either in the file or was sent within
 *   the last flush interval: `lost_window_ms` is the age, at the kill, of the oldest acknowledged
 *   command missing from the file (0 when none is missing), by the hub's own arrival time
 *   (`hubReceived` of its ack: the moment it was handed to the recorder).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { McapIndexedReader, McapStreamReader } from '@mcap/core';
import { Rng } from '../../sim/rng.ts';
import { robotToken } from '../hub/robot-credentials.ts';
import { loadOrCreateToken } from '../hub/token-file.ts';
import { RobotClient } from '../robot-client.ts';
import { ControllerClient } from '../controller-client.ts';
import { MockRobot } from '../robots/mock.ts';
import { recoverRecording } from '../mcap/recover.ts';
import { FileReadable } from '../mcap/file-readable.ts';

/** How to start a recording bridge process: argv after the executable, given its files. */
export type BridgeArgv = (o: { file: string; tokenFile: string; flushMs: number }) => { command: string; args: string[] };

export interface RecordingCrashOptions {
  trials?: number;
  /** The kill comes uniformly within [minSeconds, maxSeconds] after the bridge listens (default 1.5..6). */
  minSeconds?: number;
  maxSeconds?: number;
  /** The recorder's flush interval (default 1000 ms). */
  flushMs?: number;
  seed?: number;
  bridgeArgv: BridgeArgv;
  log?: (line: string) => void;
}

export interface CrashTrial {
  trial: number;
  kill_after_s: number;
  file_bytes: number;
  messages_recovered: number;
  chunks: number;
  commands_acked: number;
  commands_recorded: number;
  commands_lost: number;
  /** Age at the kill of the oldest acknowledged command missing from the file, ms. */
  lost_window_ms: number;
  /** Kill time minus the last recovered message's log time, ms. */
  last_message_age_ms: number;
  indexed_reader_ok: boolean;
  stream_reader_ok: boolean;
}

function waitForListening(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`bridge did not start within ${timeoutMs} ms: ${err.trim()}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (wss?:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bridge exited with ${code} before listening: ${err.trim()}`));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Reads a complete MCAP file with both of @mcap/core's readers; returns the message count each saw. */
export async function readBothWays(file: string): Promise<{ indexed: number; streamed: number; statistics: number; footer: boolean; commandSeqs: Set<number>; lastLogTimeNs: bigint }> {
  const fh = await fsp.open(file, 'r');
  let indexed = 0;
  let statistics = -1;
  const commandSeqs = new Set<number>();
  let lastLogTimeNs = 0n;
  try {
    const size = (await fh.stat()).size;
    const reader = await McapIndexedReader.Initialize({ readable: new FileReadable(fh, BigInt(size)) });
    statistics = Number(reader.statistics?.messageCount ?? -1n);
    const commandChannels = new Set([...reader.channelsById.values()].filter((c) => /^\/robots\/[^/]+\/in\/command$/.test(c.topic)).map((c) => c.id));
    for await (const m of reader.readMessages()) {
      indexed++;
      if (m.logTime > lastLogTimeNs) lastLogTimeNs = m.logTime;
      if (commandChannels.has(m.channelId)) commandSeqs.add((JSON.parse(Buffer.from(m.data).toString('utf8')) as { seq: number }).seq);
    }
  } finally {
    await fh.close();
  }
  const stream = new McapStreamReader({ validateCrcs: true });
  stream.append(fs.readFileSync(file));
  let streamed = 0;
  let footer = false;
  for (let rec; (rec = stream.nextRecord()); ) {
    if (rec.type === 'Message') streamed++;
    if (rec.type === 'Footer') footer = true;
  }
  return { indexed, streamed, statistics, footer: footer && stream.done(), commandSeqs, lastLogTimeNs };
}

async function runTrial(i: number, killAfterS: number, o: Required<Omit<RecordingCrashOptions, 'log' | 'seed' | 'trials' | 'minSeconds' | 'maxSeconds'>>, dir: string): Promise<CrashTrial> {
  const file = path.join(dir, `trial-${i}.mcap`);
  const tokenFile = path.join(dir, 'token');
  const token = loadOrCreateToken(tokenFile).token;
  const { command, args } = o.bridgeArgv({ file, tokenFile, flushMs: o.flushMs });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  let robotClient: RobotClient | null = null;
  let ctl: ControllerClient | null = null;
  const acked = new Map<number, number>(); // seq → the hub's clock when the command arrived (ms since the epoch)
  let killAt = 0;
  try {
    const url = await waitForListening(child, 30_000);
    const listeningAt = Date.now();
    const robot = new MockRobot({ camera: { width: 64, height: 48 }, log: false });
    // The bridge made its robot key beside its token file when it started.
    const robotCredential = robotToken(loadOrCreateToken(path.join(dir, 'robot-key')).token, 'crash');
    robotClient = new RobotClient({ url, token: robotCredential, id: 'crash', robot, observationHz: 100, backoff: { initialMs: 50, maxMs: 500 } });
    await robotClient.start();
    await robotClient.waitRegistered(10_000);
    ctl = await ControllerClient.connect({ url, token, name: 'crash-ctl', role: 'controller', timeoutMs: 5000 });
    ctl.on('ack', (m: { robot: string; seq: number; hubReceived: number }) => {
      if (m.robot === 'crash') acked.set(m.seq, m.hubReceived);
    });
    await ctl.lease('crash', { subscribe: false });
    const killTime = listeningAt + killAfterS * 1000;
    let next = Date.now();
    while (Date.now() < killTime) {
      ctl.sendCommand('crash', [0, 0, 0, 0, 1]);
      next += 5;
      await sleep(Math.max(0, next - Date.now()));
    }
    child.kill('SIGKILL');
    killAt = Date.now();
    await exited;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await robotClient?.stop().catch(() => undefined);
    await ctl?.close().catch(() => undefined);
  }
  const fileBytes = fs.statSync(file).size;
  const fixed = path.join(dir, `trial-${i}.recovered.mcap`);
  const r = await recoverRecording(file, fixed);
  const both = await readBothWays(fixed);
  let oldestLost = Infinity;
  let lost = 0;
  for (const [seq, hubReceived] of acked) {
    if (both.commandSeqs.has(seq)) continue;
    lost++;
    oldestLost = Math.min(oldestLost, hubReceived);
  }
  return {
    trial: i,
    kill_after_s: Math.round(killAfterS * 1000) / 1000,
    file_bytes: fileBytes,
    messages_recovered: r.messages,
    chunks: r.chunks,
    commands_acked: acked.size,
    commands_recorded: both.commandSeqs.size,
    commands_lost: lost,
    lost_window_ms: lost ? Math.round(killAt - oldestLost) : 0,
    last_message_age_ms: Math.round(killAt - Number(both.lastLogTimeNs) / 1e6),
    indexed_reader_ok: both.indexed === r.messages && both.statistics === r.messages,
    stream_reader_ok: both.streamed === r.messages && both.footer,
  };
}

export async function runRecordingCrashBench(options: RecordingCrashOptions): Promise<Record<string, unknown>> {
  const trials = options.trials ?? 20;
  const minS = options.minSeconds ?? 1.5;
  const maxS = options.maxSeconds ?? 6;
  if (!(minS > 0 && maxS >= minS)) throw new RangeError(`kill window must satisfy 0 < min <= max seconds, got ${minS}..${maxS}`);
  const flushMs = options.flushMs ?? 1000;
  const rng = new Rng(options.seed ?? 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-crash-'));
  const results: CrashTrial[] = [];
  try {
    for (let i = 0; i < trials; i++) {
      const t = await runTrial(i, rng.uniform(minS, maxS), { flushMs, bridgeArgv: options.bridgeArgv }, dir);
      results.push(t);
      options.log?.(`trial ${i + 1}/${trials}: killed after ${t.kill_after_s} s, ${t.file_bytes} bytes on disk, ${t.messages_recovered} messages recovered; ${t.commands_lost}/${t.commands_acked} acknowledged commands lost (oldest ${t.lost_window_ms} ms before the kill); readers ${t.indexed_reader_ok && t.stream_reader_ok ? 'ok' : 'FAILED'}`);
      fs.rmSync(path.join(dir, `trial-${i}.mcap`), { force: true });
      fs.rmSync(path.join(dir, `trial-${i}.recovered.mcap`), { force: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const windows = results.map((r) => r.lost_window_ms);
  return {
    bench: 'recording',
    trials,
    flush_interval_ms: flushMs,
    kill_window_s: [minS, maxS],
    seed: options.seed ?? 1,
    recovered_valid: results.filter((r) => r.indexed_reader_ok && r.stream_reader_ok).length,
    max_lost_window_ms: Math.max(0, ...windows),
    within_one_interval: results.filter((r) => r.lost_window_ms <= flushMs).length,
    max_last_message_age_ms: Math.max(...results.map((r) => r.last_message_age_ms)),
    messages_recovered_total: results.reduce((n, r) => n + r.messages_recovered, 0),
    commands_lost_total: results.reduce((n, r) => n + r.commands_lost, 0),
    results,
  };
}
