/**
 * The hub's own CPU cost per message, without sockets: a BridgeHub is handed stand-in WebSockets
 * (they count what they are sent and send nothing), and one control cycle per robot — the
 * robot's observation, the controller's command, the robot's ack — is fed to it again and again.
 * CPU time (process.cpuUsage) over wall time, so a busy machine slows it less than it slows a
 * latency measurement; what it leaves out is the kernel's share of real sockets.
 *
 * It uses only the hub's public API, so the same file measures any version of the hub.
 */
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { BridgeHub } from '../hub/hub.ts';

class StandInSocket extends EventEmitter {
  readonly OPEN = 1;
  readonly CLOSED = 3;
  readyState = 1;
  bufferedAmount = 0;
  sent = 0;
  last: string | Buffer = '';
  /** Refusals received, by code. */
  readonly errors = new Map<string, number>();
  send(data: string | Buffer): void {
    this.sent++;
    this.last = data;
    if (typeof data === 'string' && data.startsWith('{"op":"error"')) {
      const code = (JSON.parse(data) as { code: string }).code;
      this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    }
  }
  ping(): void {}
  close(): void {
    this.readyState = this.CLOSED;
  }
  terminate(): void {
    this.readyState = this.CLOSED;
  }
}

export interface HubCostResult {
  robots: number;
  cycles: number;
  /** CPU microseconds per message handled, over all three kinds. */
  us_per_message: number;
  /** CPU microseconds per control cycle (observation + command + ack, with their forwarding). */
  us_per_cycle: number;
  /** What one core could handle at that cost: messages in + out per second. */
  messages_per_s_per_core: number;
}

const features = {
  observation: { 'ee.pose': { kind: 'state', dtype: 'float64', shape: [5], names: ['x', 'y', 'z', 'yaw', 'grip'] } },
  action: { form: 'ee_delta_normalized', maxDelta: [0.02, 0.02, 0.02, 0.2], poseKey: 'ee.pose' },
  // A slow declared rate gives a long pose timeout: a busy machine may pause this process between
  // an observation and the command after it, and the run measures cost, not staleness.
  controlHz: 1,
};

export function measureHubCost(options: { robots?: number; cycles?: number } = {}): HubCostResult {
  const robots = options.robots ?? 16;
  const cycles = options.cycles ?? 2000;
  const fast = { messagesPerSecond: 1e6, bytesPerSecond: 1e9 };
  const hub = new BridgeHub({ config: { heartbeatMs: 0, connection: { robot: fast, controller: fast }, limits: { commandTimeoutMs: 10_000, poseTimeoutMs: 10_000 } } });
  const feed = (ws: StandInSocket, msg: object): void => { ws.emit('message', Buffer.from(JSON.stringify(msg)), false); };
  const arms = Array.from({ length: robots }, (_, i) => {
    const id = `arm-${i}`;
    const robot = new StandInSocket();
    const ctl = new StandInSocket();
    (hub.handleConnection as (ws: WebSocket, peer: { role: 'robot' | 'controller'; name?: string }) => void)(robot as unknown as WebSocket, { role: 'robot', name: id });
    hub.handleConnection(ctl as unknown as WebSocket, { role: 'controller', name: `ctl-${i}` });
    feed(robot, { op: 'register', id: 1, robot: id, features });
    feed(ctl, { op: 'lease', id: 1, robot: id });
    feed(ctl, { op: 'subscribe', id: 2, robot: id, channels: [] });
    return { id, robot, ctl, obsSeq: 0, ctlSeq: 0, pose: [0, 0, 0.2, 0, -1] };
  });
  // Every message built before the clock starts: the hub's seq for robot i's k-th command is k.
  const warm = 200;
  const total = warm + cycles;
  const t = Date.now();
  const script = arms.map((a) => Array.from({ length: total }, (_, j) => {
    const k = j + 1;
    const action = [k % 2 ? 0.05 : -0.05, 0, 0, 0, 0];
    return {
      obs: Buffer.from(JSON.stringify({ op: 'observation', robot: a.id, seq: k, t, ...(k > 1 ? { cmdSeq: k - 1 } : {}), state: { 'ee.pose': a.pose } })),
      cmd: Buffer.from(JSON.stringify({ op: 'command', robot: a.id, seq: k, action })),
      ack: Buffer.from(JSON.stringify({ op: 'ack', robot: a.id, seq: k, applied: action, t })),
    };
  }));
  const run = (from: number, to: number): void => {
    for (let j = from; j < to; j++) {
      for (let i = 0; i < arms.length; i++) {
        const a = arms[i];
        const m = script[i][j];
        a.robot.emit('message', m.obs, false);
        a.ctl.emit('message', m.cmd, false);
        a.robot.emit('message', m.ack, false);
      }
    }
  };
  run(0, warm); // the JIT warms up
  const errorsBefore = hub.stats.errorsSent;
  const before = { cpu: process.cpuUsage(), inMsgs: hub.stats.messagesIn, sent: arms.reduce((s, a) => s + a.robot.sent + a.ctl.sent, 0) };
  run(warm, total);
  const cpu = process.cpuUsage(before.cpu);
  const us = cpu.user + cpu.system;
  const messagesIn = hub.stats.messagesIn - before.inMsgs;
  const messagesOut = arms.reduce((s, a) => s + a.robot.sent + a.ctl.sent, 0) - before.sent;
  if (hub.stats.errorsSent !== errorsBefore) {
    const codes = new Map<string, number>();
    for (const a of arms) for (const ws of [a.robot, a.ctl]) for (const [c, n] of ws.errors) codes.set(c, (codes.get(c) ?? 0) + n);
    throw new Error(`the hub refused ${hub.stats.errorsSent - errorsBefore} messages of the cost run (${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')})`);
  }
  void hub.close();
  return {
    robots, cycles,
    us_per_message: Math.round((us / messagesIn) * 100) / 100,
    us_per_cycle: Math.round((us / (cycles * robots)) * 100) / 100,
    messages_per_s_per_core: Math.round(((messagesIn + messagesOut) / us) * 1e6),
  };
}
