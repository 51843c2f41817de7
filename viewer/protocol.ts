/**
 * The viewer's wire protocol (`simreal.viewer.v1`): what the `simreal view` server and the page
 * say to each other over one WebSocket. Pure (zod and the bridge protocol only), so the page and
 * the server import the same file.
 *
 * - JSON text messages, a zod union on `op` each way: `ViewerServerMessage` (server → page) and
 *   `ViewerClientMessage` (page → server). Hub messages relayed from a bridge travel inside
 *   `{ op: 'hub', msg }` and are checked against the bridge's own `HubMessageSchema`.
 * - Binary messages are bridge frames (48-byte `SRBF` header, see bridge/protocol/frame.ts). In
 *   `sim` mode the server sends two tensor channels with robot handle 0:
 *   - channel 0, poses: float64 `[1 + bodies, 8]`. Row 0 is the moment
 *     `[time, step, reward, flags, stepsPerSecond, episode, seed, speed]` (flags: bit 0 success,
 *     bit 1 fail, bit 2 paused, bit 3 episode over); each further row is one body
 *     `[id, px, py, pz, qx, qy, qz, qw]` (z up, metres, quaternion xyzw).
 *   - channel 1, contacts: float32 `[1 + n, 6]`. Row 0 is `[n, 0, 0, 0, 0, 0]`; each further
 *     row one contact point and its normal `[px, py, pz, nx, ny, nz]` (world frame).
 *   In `bridge` and `replay` modes binary messages are the robots' frames, unchanged.
 */
import { z } from 'zod';
import { HubMessageSchema, RobotInfoSchema, encodeFrame, writeFrameHeader, FRAME_HEADER_BYTES } from '../bridge/protocol.ts';
import type { Frame, HubMessage } from '../bridge/protocol.ts';
import type { SimState } from '../sim/state.ts';

export const VIEWER_SUBPROTOCOL = 'simreal.viewer.v1';
export const VIEWER_PROTOCOL_VERSION = 1;
/** Path of the WebSocket endpoint on the viewer server. */
export const VIEWER_WS_PATH = '/ws';

export const MODES = ['sim', 'bridge', 'replay'] as const;
export type ViewerMode = (typeof MODES)[number];

export const CHANNEL_POSES = 0;
export const CHANNEL_CONTACTS = 1;
/** Robot handle the sim's own frames carry (bridge hubs number robots from 1). */
export const SIM_HANDLE = 0;
export const POSE_COLUMNS = 8;
export const CONTACT_COLUMNS = 6;

export const FLAG_SUCCESS = 1;
export const FLAG_FAIL = 2;
export const FLAG_PAUSED = 4;
export const FLAG_DONE = 8;

/** Largest speed factor the page may ask for (0 = as fast as the CPU allows). */
export const MAX_SPEED = 16;

// ---------------------------------------------------------------------------------------------
// SimState, as it crosses the socket once per episode (the per-frame poses are binary)
// ---------------------------------------------------------------------------------------------

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const Vec3 = z.tuple([finite, finite, finite]);
const Quat = z.tuple([finite, finite, finite, finite]);

export const ShapeSpecSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('box'), halfExtents: Vec3 }),
  z.object({ type: z.literal('sphere'), radius: finite }),
  z.object({ type: z.literal('cylinder'), radius: finite, halfHeight: finite }),
  z.object({ type: z.literal('plane') }),
]);

export const BodyStateSchema = z.object({
  id: z.int().min(0).max(65535),
  name: z.string().max(64),
  kind: z.enum(['table', 'block', 'distractor', 'palm', 'finger', 'link']),
  shape: ShapeSpecSchema,
  position: Vec3,
  quaternion: Quat,
});

export const SimStateSchema = z.object({
  time: finite,
  step: z.int().min(0),
  task: z.string().max(64),
  robot: z.enum(['mount', 'so101']).optional(),
  bodies: z.array(BodyStateSchema).max(1024),
  gripper: z.object({ position: Vec3, yaw: finite, width: finite, grip: finite }),
  goals: z.array(Vec3).max(64),
});

// ---------------------------------------------------------------------------------------------
// Server → page
// ---------------------------------------------------------------------------------------------

export const ScenarioEntrySchema = z.object({
  /** Path as the server names it (relative to where `simreal view` runs). */
  path: z.string().max(500),
  id: z.string().max(64),
  description: z.string().max(500).optional(),
});
export type ScenarioEntry = z.infer<typeof ScenarioEntrySchema>;

export const HelloSchema = z.object({
  op: z.literal('hello'),
  protocol: z.literal(VIEWER_SUBPROTOCOL),
  mode: z.enum(MODES),
  /** Changes each time the server process starts (the page notices a restart). */
  server: z.string().max(64),
  /** Frames per second the server streams at. */
  streamHz: finite,
  /** Scenarios the picker offers (sim mode). */
  scenarios: z.array(ScenarioEntrySchema).max(1000),
  /** What drives the robot in sim mode: `expert` or `policy:<dir>`. */
  driver: z.string().max(500),
  /** Bridge mode: the hub's URL and the role this viewer holds there. */
  bridge: z.object({ url: z.string().max(500), role: z.enum(['viewer', 'controller']) }).optional(),
});

/** Sent after each reset or scenario change: everything the page needs to build the scene. */
export const EpisodeSchema = z.object({
  op: z.literal('episode'),
  /** Increases with every reset; pose frames carry it so stale ones can be dropped. */
  episode: z.int().min(0),
  seed: z.int().min(0).max(0xffffffff),
  scenario: ScenarioEntrySchema,
  taskId: z.string().max(64),
  maxSteps: z.int().min(1),
  controlHz: finite,
  /** The scenario's `visual` block (absent: the renderer's defaults). */
  visual: z.unknown().optional(),
  state: SimStateSchema,
});

export const StatusSchema = z.object({
  op: z.literal('status'),
  paused: z.boolean(),
  /** Speed factor; 0 means as fast as possible. */
  speed: finite,
  autoReset: z.boolean(),
  contacts: z.boolean(),
  /** What the driver is doing (e.g. the expert's stage). */
  stage: z.string().max(64).optional(),
});

/** Replay mode: the recording's span and where playback stands (ms since the Unix epoch). */
export const TimelineSchema = z.object({
  op: z.literal('timeline'),
  file: z.string().max(500),
  startMs: finite,
  endMs: finite,
  t: finite,
  playing: z.boolean(),
  speed: finite,
  robots: z.array(z.string().max(64)).max(1000),
  messages: z.int().min(0),
});

/** Bridge and replay modes: the robots known and, for each, its hub state. */
export const RobotsSchema = z.object({
  op: z.literal('robots'),
  robots: z.array(RobotInfoSchema).max(10_000),
  /** Whether e-stop requests from this page will be honoured. */
  canEstop: z.boolean(),
});

/** The connection to the bridge hub (bridge mode). */
export const LinkSchema = z.object({
  op: z.literal('link'),
  connected: z.boolean(),
  message: z.string().max(500),
});

/** A hub message relayed unchanged (bridge and replay modes). */
export const HubRelaySchema = z.object({ op: z.literal('hub'), msg: HubMessageSchema });

export const NoticeSchema = z.object({
  op: z.literal('notice'),
  level: z.enum(['info', 'warn', 'error']),
  message: z.string().max(1000),
});

export const ViewerServerMessageSchema = z.discriminatedUnion('op', [
  HelloSchema, EpisodeSchema, StatusSchema, TimelineSchema, RobotsSchema, LinkSchema, HubRelaySchema, NoticeSchema,
]);
export type ViewerServerMessage = z.infer<typeof ViewerServerMessageSchema>;
export type ServerMessageOf<O extends ViewerServerMessage['op']> = Extract<ViewerServerMessage, { op: O }>;

// ---------------------------------------------------------------------------------------------
// Page → server
// ---------------------------------------------------------------------------------------------

export const ViewerClientMessageSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('pause') }),
  z.object({ op: z.literal('resume') }),
  /** Advance `n` control steps (pauses first). */
  z.object({ op: z.literal('step'), n: z.int().min(1).max(1000).default(1) }),
  /** New episode; without a seed, the current one again. */
  z.object({ op: z.literal('reset'), seed: z.int().min(0).max(0xffffffff).optional() }),
  /** Switch scenario by its path in the hello's list. */
  z.object({ op: z.literal('scenario'), path: z.string().max(500), seed: z.int().min(0).max(0xffffffff).optional() }),
  z.object({ op: z.literal('speed'), value: finite.min(0).max(MAX_SPEED) }),
  z.object({ op: z.literal('autoReset'), on: z.boolean() }),
  z.object({ op: z.literal('contacts'), on: z.boolean() }),
  /** Replay: jump to a time (ms since the Unix epoch). */
  z.object({ op: z.literal('seek'), t: finite }),
  z.object({ op: z.literal('play') }),
  /** Bridge: raise the robot's e-stop (needs the controller token). */
  z.object({ op: z.literal('estop'), robot: z.string().max(64), reason: z.string().max(200).default('viewer e-stop') }),
]);
export type ViewerClientMessage = z.infer<typeof ViewerClientMessageSchema>;
export type ViewerClientInput = z.input<typeof ViewerClientMessageSchema>;

export type ParseResult<M> = { ok: true; msg: M } | { ok: false; message: string };

function parseWith<M>(schema: z.ZodType<M>, text: string): ParseResult<M> {
  if (text.length > 1 << 22) return { ok: false, message: 'message too large' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'not valid JSON' };
  }
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, msg: r.data };
  const i = r.error.issues[0];
  return { ok: false, message: `${i.path.join('.') || '(message)'}: ${i.message}`.slice(0, 300) };
}

/** Page side: a server text message → a validated message (never throws). */
export function parseServerMessage(text: string): ParseResult<ViewerServerMessage> {
  return parseWith(ViewerServerMessageSchema, text);
}

/** Server side: a page text message → a validated message (never throws). */
export function parseClientMessage(text: string): ParseResult<ViewerClientMessage> {
  if (text.length > 4096) return { ok: false, message: 'message too large' };
  return parseWith(ViewerClientMessageSchema, text);
}

export function encodeServerMessage(msg: ViewerServerMessage): string {
  return JSON.stringify(msg);
}

export function encodeClientMessage(msg: ViewerClientInput): string {
  return JSON.stringify(msg);
}

export function relayHub(msg: HubMessage): string {
  return JSON.stringify({ op: 'hub', msg });
}

// ---------------------------------------------------------------------------------------------
// Pose and contact frames
// ---------------------------------------------------------------------------------------------

/** The scalars of one streamed moment. */
export interface Moment {
  time: number;
  step: number;
  reward: number;
  success: boolean;
  fail: boolean;
  paused: boolean;
  done: boolean;
  stepsPerSecond: number;
  episode: number;
  seed: number;
  speed: number;
}

/**
 * Encodes a pose frame. `poses` holds `bodies × 8` numbers `[id, px, py, pz, qx, qy, qz, qw]`.
 * Returns a new buffer (a socket may still hold the previous one).
 */
export function encodePoseFrame(m: Moment, poses: Float64Array, bodies: number, seq: number): Uint8Array {
  const rows = 1 + bodies;
  const out = new Uint8Array(FRAME_HEADER_BYTES + rows * POSE_COLUMNS * 8);
  writeFrameHeader(out, { kind: 'tensor', dtype: 'float64', shape: [rows, POSE_COLUMNS], handle: SIM_HANDLE, channel: CHANNEL_POSES, seq, t: Date.now(), format: null });
  const v = new Float64Array(out.buffer, FRAME_HEADER_BYTES, rows * POSE_COLUMNS);
  const flags = (m.success ? FLAG_SUCCESS : 0) | (m.fail ? FLAG_FAIL : 0) | (m.paused ? FLAG_PAUSED : 0) | (m.done ? FLAG_DONE : 0);
  v[0] = m.time; v[1] = m.step; v[2] = m.reward; v[3] = flags;
  v[4] = m.stepsPerSecond; v[5] = m.episode; v[6] = m.seed; v[7] = m.speed;
  v.set(poses.subarray(0, bodies * POSE_COLUMNS), POSE_COLUMNS);
  return out;
}

/** Encodes a contact frame from `n × 6` numbers (point, normal). */
export function encodeContactFrame(points: Float32Array, n: number, seq: number): Uint8Array {
  const data = new Float32Array((1 + n) * CONTACT_COLUMNS);
  data[0] = n;
  data.set(points.subarray(0, n * CONTACT_COLUMNS), CONTACT_COLUMNS);
  return encodeFrame({ kind: 'tensor', dtype: 'float32', shape: [1 + n, CONTACT_COLUMNS], handle: SIM_HANDLE, channel: CHANNEL_CONTACTS, seq, t: Date.now(), format: null }, data);
}

/** Reads a pose frame's moment into `out`; returns the body rows as a view, or null if the frame is not a pose frame. */
export function readPoseFrame(frame: Frame, out: Moment): Float64Array | null {
  if (frame.kind !== 'tensor' || frame.dtype !== 'float64' || frame.channel !== CHANNEL_POSES || frame.shape.length !== 2 || frame.shape[1] !== POSE_COLUMNS) return null;
  const p = frame.payload;
  const all = p.byteOffset % 8 === 0 ? new Float64Array(p.buffer, p.byteOffset, p.byteLength / 8) : new Float64Array(p.slice().buffer);
  const flags = all[3];
  out.time = all[0]; out.step = all[1]; out.reward = all[2];
  out.success = (flags & FLAG_SUCCESS) !== 0; out.fail = (flags & FLAG_FAIL) !== 0;
  out.paused = (flags & FLAG_PAUSED) !== 0; out.done = (flags & FLAG_DONE) !== 0;
  out.stepsPerSecond = all[4]; out.episode = all[5]; out.seed = all[6]; out.speed = all[7];
  return all.subarray(POSE_COLUMNS);
}

/** A contact frame's points as `n × 6` numbers, or null if the frame is not a contact frame. */
export function readContactFrame(frame: Frame): Float32Array | null {
  if (frame.kind !== 'tensor' || frame.dtype !== 'float32' || frame.channel !== CHANNEL_CONTACTS || frame.shape.length !== 2 || frame.shape[1] !== CONTACT_COLUMNS) return null;
  const p = frame.payload;
  const all = p.byteOffset % 4 === 0 ? new Float32Array(p.buffer, p.byteOffset, p.byteLength / 4) : new Float32Array(p.slice().buffer);
  const n = Math.min(all[0] | 0, frame.shape[0] - 1);
  return all.subarray(CONTACT_COLUMNS, CONTACT_COLUMNS * (1 + n));
}

export type { SimState };
