/**
 * The fast path of the parser for the messages of the control loop — `command`, `ack` and
 * `observation`, both ways — which are most of what a hub and its clients parse.
 *
 * Each function checks a JSON value against exactly what the zod schema of messages.ts demands
 * (same patterns, bounds, finiteness) and builds the same output, in the schema's key order. It
 * only ever says yes to a message the schema would accept: on anything unusual (a wrong type, an
 * unknown field, a missing one) it returns null and the parser asks zod, which also writes the
 * error message. `exact` says the message carried no field beyond the schema's, so its text is an
 * exact rendering of the validated message and may be forwarded as it came.
 *
 * messages.ts stays the contract; tests/bridge/protocol.test.ts checks that both paths agree on
 * valid and invalid messages alike.
 */
import { ACTION_FORMS, CLAMP_REASONS, MAX_FEATURES, MAX_STATE_ELEMENTS } from './messages.ts';
import type { ActionVector, ClampReason, ClientMessageOf, HubMessageOf } from './messages.ts';

export interface Fast<M> {
  msg: M;
  /** The input had no field beyond the schema's. */
  exact: boolean;
}

const ROBOT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const FEATURE_KEY = /^[A-Za-z][A-Za-z0-9_./-]{0,63}$/;
const FORMS = new Set<string>(ACTION_FORMS);
const CLAMPS = new Set<string>(CLAMP_REASONS);

type Obj = Record<string, unknown>;

const isRobotId = (v: unknown): v is string => typeof v === 'string' && ROBOT_ID.test(v);
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e15;

function isAction(v: unknown): v is ActionVector {
  if (!Array.isArray(v) || v.length !== 5) return false;
  for (let i = 0; i < 5; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return false;
  }
  return true;
}

function isClamped(v: unknown): v is ClampReason[] {
  if (!Array.isArray(v) || v.length > CLAMP_REASONS.length) return false;
  for (const x of v) if (typeof x !== 'string' || !CLAMPS.has(x)) return false;
  return true;
}

/** The `state` of an observation: at most MAX_FEATURES keys, each an array of at most MAX_STATE_ELEMENTS finite numbers. */
function isState(v: unknown): v is Record<string, number[]> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) return false;
    if (++n > MAX_FEATURES || !FEATURE_KEY.test(k)) return false;
    const a = (v as Obj)[k];
    if (!Array.isArray(a) || a.length > MAX_STATE_ELEMENTS) return false;
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) return false;
    }
  }
  return true;
}

/** How many own keys `o` has (JSON.parse makes plain objects). */
function keyCount(o: Obj): number {
  let n = 0;
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) n++;
  return n;
}

// -------------------------------------------------------------------------------------------
// client → hub
// -------------------------------------------------------------------------------------------

function clientCommand(o: Obj): Fast<ClientMessageOf<'command'>> | null {
  if (!isRobotId(o.robot) || !isSeq(o.seq) || !isAction(o.action)) return null;
  let known = 4;
  const m: ClientMessageOf<'command'> = { op: 'command', robot: o.robot, seq: o.seq, action: [o.action[0], o.action[1], o.action[2], o.action[3], o.action[4]] };
  if (o.form !== undefined) {
    if (typeof o.form !== 'string' || !FORMS.has(o.form)) return null;
    m.form = o.form as ClientMessageOf<'command'>['form'];
    known++;
  }
  if (o.t !== undefined) {
    if (!isTime(o.t)) return null;
    m.t = o.t;
    known++;
  }
  return { msg: m, exact: keyCount(o) === known };
}

function clientAck(o: Obj): Fast<ClientMessageOf<'ack'>> | null {
  if (!isRobotId(o.robot) || !isSeq(o.seq) || !isAction(o.applied)) return null;
  let known = 4;
  const m: ClientMessageOf<'ack'> = { op: 'ack', robot: o.robot, seq: o.seq, applied: [o.applied[0], o.applied[1], o.applied[2], o.applied[3], o.applied[4]] };
  if (o.t !== undefined) {
    if (!isTime(o.t)) return null;
    m.t = o.t;
    known++;
  }
  return { msg: m, exact: keyCount(o) === known };
}

function observation(o: Obj): Fast<ClientMessageOf<'observation'>> | null {
  if (!isRobotId(o.robot) || !isSeq(o.seq) || !isTime(o.t) || !isState(o.state)) return null;
  let known = 5;
  const m: ClientMessageOf<'observation'> = { op: 'observation', robot: o.robot, seq: o.seq, t: o.t, state: o.state };
  if (o.cmdSeq !== undefined) {
    if (!isSeq(o.cmdSeq)) return null;
    // zod's output puts cmdSeq before state.
    const state = m.state;
    delete (m as Partial<typeof m>).state;
    m.cmdSeq = o.cmdSeq;
    m.state = state;
    known++;
  }
  return { msg: m, exact: keyCount(o) === known };
}

/** A `command`, `ack` or `observation` from a client, validated; null: ask the schema. */
export function fastClientMessage(o: Obj): Fast<ClientMessageOf<'command' | 'ack' | 'observation'>> | null {
  switch (o.op) {
    case 'command': return clientCommand(o);
    case 'ack': return clientAck(o);
    case 'observation': return observation(o);
    default: return null;
  }
}

// -------------------------------------------------------------------------------------------
// hub → client
// -------------------------------------------------------------------------------------------

function hubCommand(o: Obj): Fast<HubMessageOf<'command'>> | null {
  if (!isRobotId(o.robot) || !isSeq(o.seq) || typeof o.form !== 'string' || !FORMS.has(o.form) || !isAction(o.action) || !isClamped(o.clamped) || !isTime(o.t)) return null;
  const m: HubMessageOf<'command'> = { op: 'command', robot: o.robot, seq: o.seq, form: o.form as HubMessageOf<'command'>['form'], action: [o.action[0], o.action[1], o.action[2], o.action[3], o.action[4]], clamped: o.clamped.slice(), t: o.t };
  return { msg: m, exact: keyCount(o) === 7 };
}

function hubAck(o: Obj): Fast<HubMessageOf<'ack'>> | null {
  if (!isRobotId(o.robot) || !isSeq(o.seq) || !isAction(o.requested) || !isAction(o.sent) || !isAction(o.applied) || !isClamped(o.clamped) || !isTime(o.hubReceived) || !isTime(o.hubAcked)) return null;
  const v = (a: ActionVector): ActionVector => [a[0], a[1], a[2], a[3], a[4]];
  const m: HubMessageOf<'ack'> = { op: 'ack', robot: o.robot, seq: o.seq, requested: v(o.requested), sent: v(o.sent), applied: v(o.applied), clamped: o.clamped.slice(), hubReceived: o.hubReceived, hubAcked: o.hubAcked };
  return { msg: m, exact: keyCount(o) === 9 };
}

/** A `command`, `ack` or `observation` from the hub, validated; null: ask the schema. */
export function fastHubMessage(o: Obj): Fast<HubMessageOf<'command' | 'ack' | 'observation'>> | null {
  switch (o.op) {
    case 'command': return hubCommand(o);
    case 'ack': return hubAck(o);
    case 'observation': return observation(o);
    default: return null;
  }
}
