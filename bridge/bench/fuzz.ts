/**
 * Hostile input for the hub: a seeded generator of malformed and adversarial messages, and a
 * runner that fires them from attacker connections of every role while a legitimate controller
 * drives a legitimate (mock) robot, then checks that
 *   1. the hub answered every message with a reply (error, ok, pong, ack) or closed the
 *      connection with a reason (policy violation 1008, message too big 1009);
 *   2. the hub is still up: a fresh connection is welcomed and answers a ping;
 *   3. the robot never received a command outside its limits (workspace box, step, velocity).
 *
 * Categories: bad JSON, wrong types, unknown ops, huge payloads, binary garbage, floods, commands
 * and leases for robots one does not hold, spoofed robot messages, prototype-pollution shapes,
 * extreme actions from the lease holder.
 */
import { WebSocket } from 'ws';
import { Rng } from '../../sim/rng.ts';
import { SUBPROTOCOL, encodeFrame, parseMessage } from '../protocol.ts';
import type { ActionVector, SafetyLimits } from '../protocol.ts';
import { RobotClient } from '../robot-client.ts';
import { ControllerClient } from '../controller-client.ts';
import { MockRobot } from '../robots/mock.ts';

export type FuzzRole = 'controller' | 'viewer' | 'robot' | 'holder';
export interface FuzzCase {
  kind: string;
  role: FuzzRole;
  data: string | Uint8Array;
  /** Several copies sent back to back without waiting (a flood). */
  repeat?: number;
}

const OPS = ['register', 'observation', 'ack', 'lease', 'release', 'command', 'estop', 'reset', 'subscribe', 'unsubscribe', 'ping'];
const WEIRD_VALUES: unknown[] = [null, true, false, -1, 0, 1e308, -1e308, 2 ** 53 + 1, 0.5, '', 'x'.repeat(300), [], {}, [1, 2], { a: 1 }, '__proto__', '1e999', -0];

function randomString(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(1, 0x7e));
  return s;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(0, 255);
  return b;
}

function randomAction(rng: Rng): number[] {
  return [0, 0, 0, 0, 0].map(() => rng.pick([rng.uniform(-1, 1), rng.uniform(-1e6, 1e6), rng.uniform(-5, 5), 0, 1e300, -1e300]));
}

export interface FuzzContext {
  robot: string;
  handle: number;
}

/** One hostile message (or flood) drawn from `rng`. */
export function fuzzCase(rng: Rng, ctx: FuzzContext): FuzzCase {
  const role = rng.pick<FuzzRole>(['controller', 'viewer', 'robot', 'controller']);
  const r = rng.next();
  const seq = rng.int(0, 2 ** 31);
  if (r < 0.1) {
    const kind = 'bad_json';
    const variants = [
      () => randomString(rng, rng.int(0, 200)),
      () => JSON.stringify({ op: 'command', robot: ctx.robot, seq, action: [0, 0, 0, 0, 0] }).slice(0, rng.int(1, 40)),
      () => '{'.repeat(rng.int(1, 5000)),
      () => '['.repeat(20000) + ']'.repeat(20000),
      () => rng.pick(['null', '[]', '"op"', '1e999', 'true', '{"op":}', '{"op":"ping",}', "{'op':'ping'}", 'NaN', '{"op":"ping"}garbage']),
    ];
    return { kind, role, data: rng.pick(variants)() };
  }
  if (r < 0.25) {
    const op = rng.pick(OPS);
    const base: Record<string, unknown> = { op, robot: ctx.robot, seq, action: randomAction(rng), id: seq, reason: 'fuzz', features: {}, state: {}, t: 1 };
    const keys = Object.keys(base).filter((k) => k !== 'op');
    for (let i = 0, n = rng.int(1, 3); i < n; i++) base[rng.pick(keys)] = rng.pick(WEIRD_VALUES);
    if (rng.bool(0.3)) base.action = [0, 0, 0, 0, 0, 0].slice(0, rng.int(0, 6)).map(() => rng.pick(WEIRD_VALUES));
    // Make sure it is actually invalid: a string where a number must be.
    if (op === 'ping' || op === 'subscribe' || op === 'unsubscribe' || op === 'lease' || op === 'release' || op === 'reset' || op === 'estop') base.robot = rng.pick([5, null, '', '../etc', 'x'.repeat(100), ['r']]);
    return { kind: 'wrong_types', role, data: JSON.stringify(base) };
  }
  if (r < 0.35) {
    const op = rng.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'eval', 'system', 'exec', randomString(rng, rng.int(1, 40)), 'Command', 'COMMAND', ' ping', 'ping ', '']);
    return { kind: 'unknown_op', role, data: JSON.stringify({ op, robot: ctx.robot }) };
  }
  if (r < 0.42) {
    const shapes = [
      `{"op":"subscribe","robot":"*","__proto__":{"polluted":true}}`,
      `{"op":"ping","constructor":{"prototype":{"polluted":true}}}`,
      `{"op":"observation","robot":"${ctx.robot}","seq":1,"t":1,"state":{"__proto__":[1,2,3,4]}}`,
      `{"op":"register","robot":"evil","features":{"observation":{"__proto__":{"kind":"state","dtype":"float64","shape":[4]}},"action":{"form":"ee_target"},"controlHz":10}}`,
      `{"op":"register","robot":"${ctx.robot}","features":{"observation":{"ee.pose":{"kind":"state","dtype":"float64","shape":[5]}},"action":{"form":"ee_target"},"controlHz":10}}`,
    ];
    return { kind: 'pollution_or_spoof', role: rng.bool(0.5) ? 'robot' : 'controller', data: rng.pick(shapes) };
  }
  if (r < 0.47) {
    const v = rng.int(0, 3);
    const payload = v === 0
      ? JSON.stringify({ op: 'ping', pad: 'A'.repeat(rng.int(70_000, 500_000)) }) // above the role limit: refused
      : v === 1
        ? JSON.stringify({ op: 'ping', pad: 'A'.repeat(rng.int(2_000_000, 3_000_000)) }) // above the socket cap: closed (1009)
        : JSON.stringify({ op: 'subscribe', robot: '*', channels: Array.from({ length: rng.int(65, 3000) }, (_, i) => `c${i}`) });
    return { kind: 'huge_payload', role: rng.pick(['controller', 'viewer']), data: payload };
  }
  if (r < 0.59) {
    const variants = [
      () => randomBytes(rng, rng.int(0, 600)),
      () => {
        // A frame header that lies: wrong handle, shape, kind or length.
        const f = encodeFrame({ kind: 'image', dtype: 'uint8', shape: [4, 4, 3], handle: rng.pick([ctx.handle, 0, 99999]), channel: rng.int(0, 3), seq: 1, t: 1, format: 'rgb8' }, new Uint8Array(48));
        const cut = rng.int(0, 2);
        if (cut === 1) f[rng.int(0, 47)] ^= 0xff;
        return cut === 2 ? f.subarray(0, rng.int(0, f.length - 1)) : f;
      },
    ];
    return { kind: 'binary_garbage', role: rng.pick(['robot', 'controller', 'viewer']), data: rng.pick(variants)() };
  }
  if (r < 0.592) {
    return { kind: 'flood', role: rng.pick(['controller', 'viewer']), data: JSON.stringify({ op: 'ping', id: seq }), repeat: rng.int(100, 300) };
  }
  if (r < 0.75) {
    const variants = [
      () => JSON.stringify({ op: 'command', robot: ctx.robot, seq, action: randomAction(rng).map((v) => Math.max(-1e6, Math.min(1e6, v))) }),
      () => JSON.stringify({ op: 'lease', robot: ctx.robot, id: seq }),
      () => JSON.stringify({ op: 'reset', robot: ctx.robot, id: seq }),
      () => JSON.stringify({ op: 'release', robot: ctx.robot, id: seq }),
      () => JSON.stringify({ op: 'command', robot: 'ghost-' + rng.int(0, 9), seq, action: [0, 0, 0, 0, 0] }),
      () => JSON.stringify({ op: 'ack', robot: ctx.robot, seq, applied: [0, 0, 0, 0, 0] }),
      () => JSON.stringify({ op: 'observation', robot: ctx.robot, seq, t: 1, state: { 'ee.pose': [9, 9, 9, 0, 0] } }),
    ];
    return { kind: 'not_yours', role: rng.pick(['controller', 'viewer', 'robot']), data: rng.pick(variants)() };
  }
  // The lease holder sends extreme but well-formed commands: they must be clamped, never refused for size.
  const action = randomAction(rng).map((v) => Math.max(-1e6, Math.min(1e6, v)));
  return { kind: 'extreme_command', role: 'holder', data: JSON.stringify({ op: 'command', robot: ctx.robot, seq: 0, action }) };
}

// ---------------------------------------------------------------------------------------------

export interface FuzzReport {
  messages: number;
  answered: number;
  coveredByClose: number;
  unanswered: number;
  closes: Record<string, number>;
  byKind: Record<string, number>;
  commandsToRobot: number;
  violations: string[];
  hubUp: boolean;
  reconnects: number;
  seconds: number;
}

const REPLY_OPS = new Set(['error', 'ok', 'pong', 'ack']);
let attackerRobots = 0;

/** An attacker connection: sends raw frames and counts replies. */
class Attacker {
  ws: WebSocket | null = null;
  replies = 0;
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];
  readonly role: 'controller' | 'viewer' | 'robot';
  private readonly url: string;
  private readonly token: string;
  private readonly robotToken: (id: string) => string;
  private robotId = '';

  constructor(url: string, token: string, role: 'controller' | 'viewer' | 'robot', robotToken: (id: string) => string) {
    this.url = url;
    this.token = token;
    this.role = role;
    this.robotToken = robotToken;
  }

  async open(): Promise<void> {
    const u = new URL(this.url);
    u.searchParams.set('role', this.role);
    u.searchParams.set('name', `fuzz-${this.role}`);
    // An attacker robot has a credential of its own (for its own id, never the target's).
    if (this.role === 'robot') this.robotId = `fuzz-bot-${++attackerRobots}`;
    const token = this.role === 'robot' ? this.robotToken(this.robotId) : this.token;
    const ws = new WebSocket(u, [SUBPROTOCOL], { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false, maxPayload: 64 << 20 });
    this.ws = ws;
    this.replies = 0;
    this.closed = null;
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve()); // welcome
      ws.once('error', reject);
    });
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const p = parseMessage((data as Buffer).toString('utf8'), { from: 'hub' });
      if (p.ok && REPLY_OPS.has(p.msg.op)) {
        this.replies++;
        this.wake();
      }
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    if (this.role === 'robot') {
      // A registered attacker robot of its own, so its frames reach frame validation.
      ws.send(JSON.stringify({ op: 'register', robot: this.robotId, features: { observation: { 'ee.pose': { kind: 'state', dtype: 'float64', shape: [4] }, cam: { kind: 'image', dtype: 'uint8', shape: [4, 4, 3], format: 'rgb8' } }, action: { form: 'ee_target' }, controlHz: 10 } }));
      await this.waitReplies(1, 2000);
      this.replies = 0;
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `n` replies have arrived or the socket closed (false on timeout). */
  async waitReplies(n: number, timeoutMs: number): Promise<boolean> {
    const t0 = performance.now();
    while (this.replies < n && !this.closed) {
      const left = timeoutMs - (performance.now() - t0);
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return true;
  }

  close(): void {
    this.ws?.terminate();
  }
}

export interface FuzzOptions {
  url: string;
  /** The hub's main token (controllers, viewers). */
  token: string;
  /** The credential of robot `id` (the target robot and each attacker robot have their own). */
  robotToken: (id: string) => string;
  messages: number;
  seed: number;
  /** The limits the hub enforces for the fuzz robot (to check what the robot received). */
  limits: SafetyLimits;
  log?: (line: string) => void;
}

/**
 * Runs the fuzz set against a running hub. Connects its own legitimate robot (`fuzz-target`,
 * a MockRobot) and controller (the lease holder), plus attackers.
 */
export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const t0 = performance.now();
  const rng = new Rng(o.seed);
  const robotId = 'fuzz-target';
  const robot = new MockRobot({ form: 'ee_delta_normalized', maxDelta: [0.05, 0.05, 0.05, 0.5], initialPose: [0, 0, 0.2, 0, -1], controlHz: 50 });
  const robotClient = new RobotClient({ url: o.url, token: o.robotToken(robotId), id: robotId, robot, observationHz: 500, backoff: { initialMs: 20, maxMs: 200 } });
  const received: Array<{ t: number; before: ActionVector; after: ActionVector }> = [];
  robotClient.on('command', (cmd) => {
    const rec = robot.commands[robot.commands.length - 1];
    received.push({ t: cmd.t, before: rec.before, after: rec.after });
  });
  await robotClient.start();
  await robotClient.waitRegistered(5000);
  const holder = await ControllerClient.connect({ url: o.url, token: o.token, name: 'fuzz-holder', timeoutMs: 3000 });
  const info = await holder.waitForRobot(robotId);
  await holder.lease(robotId);
  await new Promise<void>((resolve) => holder.once('observation', () => resolve()));
  const ctx: FuzzContext = { robot: robotId, handle: info.handle };

  const attackers = {
    controller: new Attacker(o.url, o.token, 'controller', o.robotToken),
    viewer: new Attacker(o.url, o.token, 'viewer', o.robotToken),
    robot: new Attacker(o.url, o.token, 'robot', o.robotToken),
  };
  for (const a of Object.values(attackers)) await a.open();

  const report: FuzzReport = { messages: 0, answered: 0, coveredByClose: 0, unanswered: 0, closes: {}, byKind: {}, commandsToRobot: 0, violations: [], hubUp: false, reconnects: 0, seconds: 0 };

  for (let i = 0; i < o.messages; ) {
    const c = fuzzCase(rng, ctx);
    const count = Math.min(c.repeat ?? 1, o.messages - i);
    i += count;
    report.messages += count;
    report.byKind[c.kind] = (report.byKind[c.kind] ?? 0) + count;
    if (c.role === 'holder') {
      // Well-formed commands from the lease holder: each must be acked (clamped) or refused.
      const msg = JSON.parse(c.data as string) as { action: ActionVector };
      try {
        await holder.command(robotId, msg.action);
        report.answered++;
      } catch (e) {
        if ((e as { code?: string }).code === 'timeout') report.unanswered++;
        else report.answered++;
      }
      continue;
    }
    const a = attackers[c.role];
    if (a.closed || !a.ws || a.ws.readyState !== a.ws.OPEN) {
      await a.open();
      report.reconnects++;
    }
    const before = a.replies;
    for (let k = 0; k < count; k++) a.ws!.send(c.data, { binary: typeof c.data !== 'string' });
    const ok = await a.waitReplies(before + count, 3000);
    const got = a.replies - before;
    report.answered += Math.min(got, count);
    if (got < count) {
      // 1008 carries a text reason; 1009 ("message too big") is its own reason, set by ws itself.
      if (a.closed && ((a.closed.code === 1008 && a.closed.reason.length > 0) || a.closed.code === 1009)) {
        report.coveredByClose += count - got;
        const key = `${a.closed.code} ${a.closed.reason || 'message too big'}`;
        report.closes[key] = (report.closes[key] ?? 0) + 1;
      } else {
        report.unanswered += count - got;
        o.log?.(ok ? `a ${c.kind} message from a ${c.role} ended the connection without a reason (${a.closed?.code})` : `no answer to a ${c.kind} message from a ${c.role} within 3 s`);
      }
    }
  }

  // The hub is still up: a fresh connection is welcomed and answers a ping.
  try {
    const probe = await ControllerClient.connect({ url: o.url, token: o.token, name: 'fuzz-probe', timeoutMs: 3000 });
    await probe.ping();
    report.hubUp = probe.robots.get(robotId)?.state.connected === true;
    await probe.close();
  } catch (e) {
    report.violations.push(`hub not answering after the fuzz: ${(e as Error).message}`);
  }

  // Every command the robot executed stayed within the limits.
  report.commandsToRobot = received.length;
  const L = o.limits;
  const tol = 1e-9;
  let tokens = L.maxStep.linear;
  let lastT: number | null = null;
  for (const [k, c] of received.entries()) {
    const { before, after } = c;
    for (let i = 0; i < 3; i++) {
      const lo = Math.min(L.workspace.min[i], before[i]);
      const hi = Math.max(L.workspace.max[i], before[i]);
      if (after[i] < lo - tol || after[i] > hi + tol) report.violations.push(`command ${k}: ${'xyz'[i]} = ${after[i]} outside the workspace`);
    }
    const step = Math.hypot(after[0] - before[0], after[1] - before[1], after[2] - before[2]);
    if (step > L.maxStep.linear + tol) report.violations.push(`command ${k}: linear step ${step} > ${L.maxStep.linear}`);
    if (Math.abs(after[3] - before[3]) > L.maxStep.angular + tol) report.violations.push(`command ${k}: yaw step ${Math.abs(after[3] - before[3])} > ${L.maxStep.angular}`);
    if (after[4] < -1 - tol || after[4] > 1 + tol) report.violations.push(`command ${k}: grip ${after[4]} outside [-1, 1]`);
    // Velocity: replay the hub's bucket with the hub's timestamps.
    if (lastT !== null) tokens = Math.min(L.maxStep.linear, tokens + ((c.t - lastT) / 1000) * L.maxVelocity.linear);
    lastT = c.t;
    if (step > tokens + 1e-6) report.violations.push(`command ${k}: linear step ${step} exceeds the velocity budget ${tokens}`);
    tokens = Math.max(0, tokens - step);
  }

  for (const a of Object.values(attackers)) a.close();
  await holder.close();
  await robotClient.stop();
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
