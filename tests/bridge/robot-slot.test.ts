import { describe, it, expect, vi, afterEach } from 'vitest';
import { RobotSlot } from '../../bridge/hub/robot-slot.ts';
import type { SlotLink, SlotDeclaration } from '../../bridge/hub/robot-slot.ts';
import { DEFAULT_SAFETY_LIMITS } from '../../bridge/config.ts';
import type { ActionVector, HubMessage, Peer } from '../../bridge/protocol.ts';

/** A connection stands in as a plain object; the link records what the slot says. */
interface FakeConn {
  name: string;
}

function makeSlot(limits = DEFAULT_SAFETY_LIMITS): { slot: RobotSlot<FakeConn>; robot: FakeConn; toRobot: HubMessage[]; broadcast: HubMessage[]; states: number } {
  const toRobot: HubMessage[] = [];
  const broadcast: HubMessage[] = [];
  const counts = { states: 0 };
  const link: SlotLink = {
    toRobot: (m) => toRobot.push(m),
    broadcast: (m) => broadcast.push(m),
    stateChanged: () => { counts.states++; },
    log: () => {},
    countHold: () => {},
    countCommand: () => {},
  };
  const declaration: SlotDeclaration = {
    name: 'arm', model: 'mock', limits,
    features: {
      observation: { 'ee.pose': { kind: 'state', dtype: 'float64', shape: [5] } },
      action: { form: 'ee_delta', poseKey: 'ee.pose' },
      controlHz: 20,
    },
  };
  const robot = { name: 'robot-conn' };
  const slot = new RobotSlot<FakeConn>({ id: 'arm', handle: 1, declaration, conn: robot, link, maxPendingCommands: 64, now: () => Date.now() });
  return { slot, robot, toRobot, broadcast, get states() { return counts.states; } };
}

const peer = (session: string, name?: string): Peer => ({ role: 'controller', session, ...(name ? { name } : {}) });
const cmd = (seq: number, action: ActionVector) => ({ op: 'command' as const, robot: 'arm', seq, action });
const obs = (pose: number[], cmdSeq?: number) => ({ op: 'observation' as const, robot: 'arm', seq: 1, t: 1, state: { 'ee.pose': pose }, ...(cmdSeq !== undefined ? { cmdSeq } : {}) });

afterEach(() => vi.useRealTimers());

describe('RobotSlot (no sockets)', () => {
  it('registers holding, gives one lease at a time, and refuses commands before a pose', () => {
    const { slot, toRobot } = makeSlot();
    slot.registered();
    expect(toRobot[0]).toMatchObject({ op: 'hold', reason: 'registered' });
    const a = { conn: { name: 'a' }, peer: peer('s1', 'alice') };
    const b = { conn: { name: 'b' }, peer: peer('s2', 'bob') };
    expect(slot.lease(a)).toBeNull();
    expect(slot.lease(a)).toBeNull(); // idempotent for the holder
    expect(slot.lease(b)).toMatchObject({ code: 'lease_held', message: 'robot arm is leased by alice' });
    expect(slot.command(b.conn, cmd(1, [0, 0, 0, 0, 0]), 0)).toMatchObject({ code: 'not_leased' });
    expect(slot.command(a.conn, cmd(1, [0, 0, 0, 0, 0]), 0)).toMatchObject({ code: 'no_pose' });
    expect(slot.release(b.conn, 'x')).toMatchObject({ code: 'not_leased' });
    expect(slot.release(a.conn, 'alice released')).toBeNull();
    expect(slot.state.lease).toBeNull();
    expect(slot.lease(b)).toBeNull();
  });

  it('clamps a delta against the pose plus the deltas sent since, and matches acks', () => {
    const { slot, toRobot } = makeSlot({ ...DEFAULT_SAFETY_LIMITS, maxVelocity: { linear: 100, angular: 100 } });
    const a = { conn: { name: 'a' }, peer: peer('s1') };
    slot.lease(a);
    slot.observe(obs([0.35, 0, 0.2, 0, -1]), 1000);
    expect(slot.command(a.conn, cmd(1, [0.04, 0, 0, 0, 0]), 1000)).toBeNull();
    // Not yet in the pose: the anchor is 0.39, so only 1 cm more fits in the box.
    expect(slot.command(a.conn, cmd(2, [0.04, 0, 0, 0, 0]), 1001)).toBeNull();
    const sent = toRobot.filter((m) => m.op === 'command') as Array<Extract<HubMessage, { op: 'command' }>>;
    expect(sent[0].action[0]).toBeCloseTo(0.04, 12);
    expect(sent[1].action[0]).toBeCloseTo(0.01, 12);
    expect(sent[1].clamped).toContain('workspace');
    expect(slot.command(a.conn, cmd(2, [0, 0, 0, 0, 0]), 1002)).toMatchObject({ code: 'stale_seq' });
    const ack = slot.ack({ op: 'ack', robot: 'arm', seq: sent[0].seq, applied: [0.04, 0, 0, 0, 0] });
    expect('pending' in ack && ack.pending?.ctrlSeq).toBe(1);
    expect(slot.ack({ op: 'ack', robot: 'arm', seq: 999, applied: [0, 0, 0, 0, 0] })).toMatchObject({ code: 'unknown_command' });
    // A late ack for a command the hub did send (already acked, skipped, or its lease ended) is no fault.
    expect(slot.ack({ op: 'ack', robot: 'arm', seq: sent[0].seq, applied: [0.04, 0, 0, 0, 0] })).toEqual({ pending: null });
    // A pose older than poseTimeoutMs anchors nothing.
    expect(slot.command(a.conn, cmd(3, [0, 0, 0, 0, 0]), 1000 + DEFAULT_SAFETY_LIMITS.poseTimeoutMs + 1)).toMatchObject({ code: 'stale_pose' });
  });

  it('holds a moving robot when commands stop (watchdog), and says why', () => {
    vi.useFakeTimers();
    const { slot, toRobot, broadcast } = makeSlot({ ...DEFAULT_SAFETY_LIMITS, commandTimeoutMs: 50 });
    const a = { conn: { name: 'a' }, peer: peer('s1', 'alice') };
    slot.lease(a);
    // Poses keep coming (every 10 ms), commands stop after the first.
    const poses = setInterval(() => slot.observe(obs([0, 0, 0.2, 0, -1]), Date.now()), 10);
    slot.observe(obs([0, 0, 0.2, 0, -1]), Date.now());
    expect(slot.command(a.conn, cmd(1, [0.01, 0, 0, 0, 0]), Date.now())).toBeNull();
    expect(slot.state.holding).toBe(false);
    vi.advanceTimersByTime(49);
    expect(slot.state.holding).toBe(false);
    vi.advanceTimersByTime(2);
    expect(slot.state).toMatchObject({ holding: true, holdReason: 'watchdog' });
    expect(toRobot.at(-1)).toMatchObject({ op: 'hold', reason: 'watchdog' });
    expect(broadcast.at(-1)).toMatchObject({ op: 'status', code: 'watchdog', message: 'arm: no command from alice for 50 ms' });
    clearInterval(poses);
  });

  it('holds a moving robot whose pose stops coming (stale_pose), and refuses commands until a fresh one', () => {
    vi.useFakeTimers();
    const { slot, toRobot } = makeSlot({ ...DEFAULT_SAFETY_LIMITS, commandTimeoutMs: 1000, poseTimeoutMs: 100 });
    const a = { conn: { name: 'a' }, peer: peer('s1', 'alice') };
    slot.lease(a);
    slot.observe(obs([0, 0, 0.2, 0, -1]), Date.now());
    expect(slot.command(a.conn, cmd(1, [0.01, 0, 0, 0, 0]), Date.now())).toBeNull();
    vi.advanceTimersByTime(60);
    expect(slot.command(a.conn, cmd(2, [0.01, 0, 0, 0, 0]), Date.now())).toBeNull();
    vi.advanceTimersByTime(45);
    expect(slot.state).toMatchObject({ holding: true, holdReason: 'stale_pose' });
    expect(toRobot.at(-1)).toMatchObject({ op: 'hold', reason: 'stale_pose' });
    expect(slot.command(a.conn, cmd(3, [0.01, 0, 0, 0, 0]), Date.now())).toMatchObject({ code: 'stale_pose' });
    slot.observe(obs([0.01, 0, 0.2, 0, -1], 2), Date.now());
    expect(slot.command(a.conn, cmd(4, [0.01, 0, 0, 0, 0]), Date.now())).toBeNull();
    expect(slot.state.holding).toBe(false);
  });

  it('never drops an unreflected delta: refuses commands when the window is full (window_full)', () => {
    const { slot, toRobot } = makeSlot({ ...DEFAULT_SAFETY_LIMITS, maxVelocity: { linear: 1000, angular: 1000 } });
    const a = { conn: { name: 'a' }, peer: peer('s1') };
    slot.lease(a);
    const t = Date.now();
    slot.observe(obs([0, 0, 0.2, 0, -1]), t);
    const ackLast = (): void => {
      const m = toRobot.at(-1) as Extract<HubMessage, { op: 'command' }>;
      slot.ack({ op: 'ack', robot: 'arm', seq: m.seq, applied: m.action });
    };
    for (let i = 1; i <= 64; i++) {
      expect(slot.command(a.conn, cmd(i, [0.001, 0, 0, 0, 0]), t + i)).toBeNull();
      ackLast(); // acked (handed to the robot), but not yet in its pose
    }
    expect(slot.unreflected).toBe(64);
    expect(slot.command(a.conn, cmd(65, [0.001, 0, 0, 0, 0]), t + 65)).toMatchObject({ code: 'window_full' });
    // The pose reflects the first 10: 10 slots free again, and the anchor is pose + the other 54.
    const sent = toRobot.filter((m) => m.op === 'command') as Array<Extract<HubMessage, { op: 'command' }>>;
    slot.observe(obs([0.01, 0, 0.2, 0, -1], sent[9].seq), t);
    expect(slot.unreflected).toBe(54);
    // An older observation (it reflects less) does not move the anchor back.
    slot.observe(obs([0.005, 0, 0.2, 0, -1], sent[4].seq), t);
    expect(slot.unreflected).toBe(54);
    // A cmdSeq the hub never sent is not believed.
    slot.observe(obs([0.01, 0, 0.2, 0, -1], sent[63].seq + 1000), t);
    expect(slot.unreflected).toBe(54);
    for (let i = 66; i < 76; i++) {
      expect(slot.command(a.conn, cmd(i, [0.3, 0, 0, 0, 0]), t + i)).toBeNull();
      ackLast();
    }
    // Anchor 0.01 + 54 mm = 0.064; the box edge is 0.4, so ten 5 cm steps get there and no further.
    const last = toRobot.filter((m) => m.op === 'command').slice(-10) as Array<Extract<HubMessage, { op: 'command' }>>;
    const total = 0.064 + last.reduce((s, m) => s + m.action[0], 0);
    expect(total).toBeCloseTo(0.4, 9);
  });

  it('after a hold, waits for a pose that reflects every command sent before it (the robot may have dropped some)', () => {
    const { slot, toRobot } = makeSlot({ ...DEFAULT_SAFETY_LIMITS, maxVelocity: { linear: 1000, angular: 1000 } });
    const a = { conn: { name: 'a' }, peer: peer('s1') };
    slot.lease(a);
    const t = Date.now();
    slot.observe(obs([0.35, 0, 0.2, 0, -1]), t);
    // Three steps away from the +x wall are on their way when the hub tells the robot to hold.
    for (let i = 1; i <= 3; i++) expect(slot.command(a.conn, cmd(i, [-0.01, 0, 0, 0, 0]), t + i)).toBeNull();
    slot.hold('watchdog', 'test');
    // The robot dropped them: its pose is still 0.35, not 0.32. Counting them, the hub would let
    // the next command go 3 cm too far; it refuses until a pose reflects command 3.
    expect(slot.command(a.conn, cmd(4, [0.05, 0, 0, 0, 0]), t + 4)).toMatchObject({ code: 'stale_pose', message: expect.stringMatching(/told to hold/) });
    const sent = toRobot.filter((m) => m.op === 'command') as Array<Extract<HubMessage, { op: 'command' }>>;
    slot.observe(obs([0.35, 0, 0.2, 0, -1], sent[1].seq), t + 5);
    expect(slot.command(a.conn, cmd(5, [0.05, 0, 0, 0, 0]), t + 6)).toMatchObject({ code: 'stale_pose' });
    slot.observe(obs([0.35, 0, 0.2, 0, -1], sent[2].seq), t + 7);
    expect(slot.command(a.conn, cmd(6, [0.05, 0, 0, 0, 0]), t + 8)).toBeNull();
    const last = toRobot.filter((m) => m.op === 'command').at(-1) as Extract<HubMessage, { op: 'command' }>;
    expect(0.35 + last.action[0]).toBeCloseTo(0.4, 12);
  });

  it('latches the e-stop through a reconnect; its owner (or an operator) clears it, not the lease holder', () => {
    const { slot, robot, toRobot, broadcast } = makeSlot();
    const a = { conn: { name: 'a' }, peer: peer('s1') };
    slot.lease(a);
    slot.estop('hand in the workspace', peer('s2', 'bob'));
    slot.estop('second', peer('s3'));
    expect(slot.state.estop?.reason).toBe('hand in the workspace');
    expect(toRobot.at(-1)).toMatchObject({ op: 'estop' });
    expect(broadcast.some((m) => m.op === 'estop')).toBe(true);
    slot.observe(obs([0, 0, 0.2, 0, -1]), 0);
    expect(slot.command(a.conn, cmd(1, [0, 0, 0, 0, 0]), 0)).toMatchObject({ code: 'estop_latched' });
    // The robot drops and comes back: lease gone, e-stop still latched and re-sent.
    expect(slot.disconnect()?.conn).toBe(a.conn);
    expect(slot.state).toMatchObject({ connected: false, lease: null });
    slot.reconnect(robot, { name: 'arm', model: 'mock', limits: slot.limits, features: slot.features });
    toRobot.length = 0;
    slot.registered();
    expect(toRobot.map((m) => m.op)).toEqual(['hold', 'estop']);
    // Bob raised it: the lease holder may not clear it, bob or an operator may.
    slot.lease(a);
    expect(slot.reset(a.peer)).toMatchObject({ code: 'forbidden', message: 'the e-stop on arm was raised by bob; only bob or an operator may clear it' });
    expect(slot.reset(peer('s2', 'bob'))).toBeNull();
    expect(slot.state).toMatchObject({ estop: null, holding: true, holdReason: 'reset' });
    expect(slot.reset(peer('s2', 'bob'))).toMatchObject({ code: 'not_latched' });
    // An operator's, or the robot's own: operators only.
    slot.estop('stop', { role: 'controller', session: 's9', name: 'op', operator: true });
    expect(slot.reset(peer('s9'))).toMatchObject({ code: 'forbidden' }); // same session id, not an operator
    expect(slot.reset({ role: 'controller', session: 's10', operator: true })).toBeNull();
    slot.estop('overload', { role: 'robot', session: 's0' });
    expect(slot.reset(a.peer)).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/raised by the robot itself; only an operator/) });
    expect(slot.reset({ role: 'controller', session: 's10', operator: true })).toBeNull();
  });
});
