/**
 * The hub's configuration and every default it has, in one place. All of it is validated by zod at
 * construction; contradictory settings (an empty workspace box, a drop threshold above the hard
 * buffer limit, …) throw a `BridgeConfigError` naming the field and the fix.
 *
 * Safety defaults (override with a JSON file or options; a robot may only tighten them):
 *
 * | limit                | default                     | meaning                                        |
 * | -------------------- | --------------------------- | ---------------------------------------------- |
 * | workspace            | x, y ∈ [-0.4, 0.4], z ∈ [0, 0.5] m | box the end-effector target must stay in (table frame) |
 * | yaw                  | [-π, π] rad                 | allowed end-effector yaw                       |
 * | maxStep.linear       | 0.05 m                      | largest target change per command              |
 * | maxStep.angular      | 0.5 rad                     | largest yaw change per command                 |
 * | maxStep.grip         | 2 (no limit)                | largest grip change per command                |
 * | maxVelocity.linear   | 1.0 m/s                     | commanded speed (token bucket, one step deep)  |
 * | maxVelocity.angular  | 6.0 rad/s                   | commanded yaw rate                             |
 * | commandTimeoutMs     | 250 ms                      | watchdog: no command this long → hold          |
 * | poseTimeoutMs        | 250 ms, and per robot at most `poseTimeoutPeriods` (4) of its control periods, never below 50 ms | older pose → commands refused and a moving robot held (`stale_pose`) |
 *
 * The pose timeout a robot gets is min(poseTimeoutMs, max(50 ms, poseTimeoutPeriods × 1000 /
 * controlHz)): 200 ms for a 20 Hz robot, 133 ms at 30 Hz, 50 ms at 100 Hz and above (timers and a
 * busy machine jitter by milliseconds, so never less). A robot may declare a tighter one.
 *
 * Connection defaults per role (messages and bytes per second are token buckets one second deep):
 *
 * | role       | max message | messages/s | bytes/s  |
 * | ---------- | ----------- | ---------- | -------- |
 * | robot      | 8 MiB       | 4000       | 256 MiB  |
 * | controller | 64 KiB      | 2500       | 4 MiB    |
 * | viewer     | 64 KiB      | 50         | 256 KiB  |
 */
import { z } from 'zod';
import { SafetyLimitsSchema, ConnectionLimitsSchema, ROLES } from './protocol.ts';
import type { SafetyLimits, RobotLimits, Role, ConnectionLimits } from './protocol.ts';

export class BridgeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BridgeConfigError';
  }
}

export const DEFAULT_SAFETY_LIMITS: SafetyLimits = {
  workspace: { min: [-0.4, -0.4, 0.0], max: [0.4, 0.4, 0.5] },
  yaw: [-Math.PI, Math.PI],
  maxStep: { linear: 0.05, angular: 0.5, grip: 2 },
  maxVelocity: { linear: 1.0, angular: 6.0 },
  commandTimeoutMs: 250,
  poseTimeoutMs: 250,
};

/** The shortest pose timeout the hub uses, whatever the control rate (timer and scheduling jitter). */
export const MIN_POSE_TIMEOUT_MS = 50;

export const DEFAULT_CONNECTION_LIMITS: Record<Role, ConnectionLimits> = {
  robot: { maxMessageBytes: 8 << 20, messagesPerSecond: 4000, bytesPerSecond: 256 << 20 },
  controller: { maxMessageBytes: 64 << 10, messagesPerSecond: 2500, bytesPerSecond: 4 << 20 },
  viewer: { maxMessageBytes: 64 << 10, messagesPerSecond: 50, bytesPerSecond: 256 << 10 },
};

const SafetyLimitsPatch = z.object({
  workspace: z.object({ min: z.tuple([z.number(), z.number(), z.number()]), max: z.tuple([z.number(), z.number(), z.number()]) }).optional(),
  yaw: z.tuple([z.number(), z.number()]).optional(),
  maxStep: SafetyLimitsSchema.shape.maxStep.partial().optional(),
  maxVelocity: SafetyLimitsSchema.shape.maxVelocity.partial().optional(),
  commandTimeoutMs: SafetyLimitsSchema.shape.commandTimeoutMs.optional(),
  poseTimeoutMs: SafetyLimitsSchema.shape.poseTimeoutMs.optional(),
});

export const HubConfigSchema = z
  .object({
    limits: SafetyLimitsPatch.default({}),
    connection: z.object({
      robot: ConnectionLimitsSchema.partial().optional(),
      controller: ConnectionLimitsSchema.partial().optional(),
      viewer: ConnectionLimitsSchema.partial().optional(),
    }).default({}),
    backpressure: z.object({
      /** A viewer (or a controller's observation stream) with more than this queued skips frames. */
      dropAboveBytes: z.number().int().positive().default(4 << 20),
      /** A peer with more than this queued is not reading at all: it is disconnected. */
      disconnectAboveBytes: z.number().int().positive().default(64 << 20),
    }).default({ dropAboveBytes: 4 << 20, disconnectAboveBytes: 64 << 20 }),
    /** Error replies a connection may provoke: a bucket of `burst`, refilled at `perSecond`; past it, the hub closes the connection (1008). */
    errorBudget: z.object({ perSecond: z.number().positive().default(50), burst: z.number().int().positive().default(200) }).default({ perSecond: 50, burst: 200 }),
    /** WebSocket ping interval; a peer that misses one pong is dropped. 0 disables. */
    heartbeatMs: z.number().int().min(0).max(600_000).default(5000),
    maxConnections: z.number().int().positive().max(100_000).default(1024),
    /**
     * Connections per role, each its own pool (their sum may not exceed maxConnections), so that
     * viewers, however many, never take the places of robots or controllers.
     */
    roleConnections: z.object({
      robot: z.number().int().positive().max(100_000).default(256),
      controller: z.number().int().positive().max(100_000).default(224),
      viewer: z.number().int().positive().max(100_000).default(512),
    }).default({ robot: 256, controller: 224, viewer: 512 }),
    /** Connections one credential may hold per role (a robot's own credential: 2, a restart's overlap). */
    tokenConnections: z.number().int().positive().max(100_000).default(128),
    /** A connection must complete its WebSocket upgrade (and TLS handshake) within this long. */
    handshakeTimeoutMs: z.number().int().min(50).max(60_000).default(3000),
    /** Connections still in their handshake at once; past it the oldest is closed. */
    maxPendingHandshakes: z.number().int().positive().max(100_000).default(128),
    /** Failed authentications per remote address: a bucket of `burst`, refilled at `perSecond`; past it, 429. */
    authFailures: z.object({ perSecond: z.number().positive().default(2), burst: z.number().int().positive().default(20) }).default({ perSecond: 2, burst: 20 }),
    /**
     * Commands per robot that may wait for an ack, and commands per robot whose deltas may wait to
     * show up in its reported pose; past either, commands are refused (`window_full`), never forgotten.
     */
    maxPendingCommands: z.number().int().positive().max(65536).default(1024),
    /** A robot's pose timeout is at most this many of its control periods (see the table above). */
    poseTimeoutPeriods: z.number().positive().max(1000).default(4),
    /** Robots the hub keeps (connected, or departed and not yet forgotten); past it, `register` gets `hub_full`. */
    maxRobots: z.number().int().positive().max(100_000).default(256),
    /** Largest `features` a robot may declare, in bytes of JSON (refused with `too_large`). */
    maxFeatureBytes: z.number().int().min(256).max(1 << 20).default(16 << 10),
    /** Robots per page of the list (`welcome`, `list_robots`). */
    robotPageSize: z.number().int().positive().max(1000).default(24),
    /**
     * How long a departed robot keeps its place (handle, e-stop latch), so a restart finds it; then
     * it is forgotten. A robot whose e-stop is latched is kept until the e-stop is cleared.
     */
    departedRobotMs: z.number().int().min(0).max(86_400_000).default(60_000),
  })
  .strict();
export type HubConfigInput = z.input<typeof HubConfigSchema>;

export interface HubConfig {
  limits: SafetyLimits;
  connection: Record<Role, ConnectionLimits>;
  backpressure: { dropAboveBytes: number; disconnectAboveBytes: number };
  errorBudget: { perSecond: number; burst: number };
  heartbeatMs: number;
  maxConnections: number;
  roleConnections: Record<Role, number>;
  tokenConnections: number;
  handshakeTimeoutMs: number;
  maxPendingHandshakes: number;
  authFailures: { perSecond: number; burst: number };
  maxPendingCommands: number;
  poseTimeoutPeriods: number;
  maxRobots: number;
  maxFeatureBytes: number;
  robotPageSize: number;
  departedRobotMs: number;
}

/** Largest hub message a client of this project parses (1 MiB): a page of the robot list must fit. */
export const MAX_CLIENT_MESSAGE_CHARS = 1 << 20;
/** Bytes a robot entry takes beyond its features (ids, names, limits, state), at most. */
const ROBOT_INFO_OVERHEAD_BYTES = 2048;

function checkLimits(l: SafetyLimits, where: string): void {
  const axes = ['x', 'y', 'z'];
  for (let i = 0; i < 3; i++) {
    if (!(l.workspace.min[i] < l.workspace.max[i])) throw new BridgeConfigError(`${where}: workspace.min.${axes[i]} (${l.workspace.min[i]}) must be below workspace.max.${axes[i]} (${l.workspace.max[i]})`);
  }
  if (!(l.yaw[0] < l.yaw[1])) throw new BridgeConfigError(`${where}: yaw range [${l.yaw[0]}, ${l.yaw[1]}] is empty; give [min, max] with min < max`);
}

/** Validates options (a parsed JSON file or code) into a complete configuration, or throws. */
export function resolveHubConfig(input: HubConfigInput = {}): HubConfig {
  const parsed = HubConfigSchema.safeParse(input);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new BridgeConfigError(`bridge config ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const c = parsed.data;
  const d = DEFAULT_SAFETY_LIMITS;
  const limits: SafetyLimits = {
    workspace: c.limits.workspace ?? d.workspace,
    yaw: c.limits.yaw ?? d.yaw,
    maxStep: { ...d.maxStep, ...c.limits.maxStep },
    maxVelocity: { ...d.maxVelocity, ...c.limits.maxVelocity },
    commandTimeoutMs: c.limits.commandTimeoutMs ?? d.commandTimeoutMs,
    poseTimeoutMs: c.limits.poseTimeoutMs ?? d.poseTimeoutMs,
  };
  const full = SafetyLimitsSchema.safeParse(limits);
  if (!full.success) throw new BridgeConfigError(`bridge config limits.${full.error.issues[0].path.join('.')}: ${full.error.issues[0].message}`);
  checkLimits(limits, 'bridge config limits');
  if (limits.poseTimeoutMs < limits.commandTimeoutMs) {
    // A pose that expires before the watchdog does would refuse commands the watchdog still allows.
    throw new BridgeConfigError(`bridge config: limits.poseTimeoutMs (${limits.poseTimeoutMs}) must be at least limits.commandTimeoutMs (${limits.commandTimeoutMs})`);
  }
  const connection = {} as Record<Role, ConnectionLimits>;
  for (const role of ROLES) {
    const merged = { ...DEFAULT_CONNECTION_LIMITS[role], ...c.connection[role] };
    if (merged.maxMessageBytes > merged.bytesPerSecond) {
      throw new BridgeConfigError(`bridge config connection.${role}: maxMessageBytes (${merged.maxMessageBytes}) exceeds bytesPerSecond (${merged.bytesPerSecond}), so one message could never pass the rate limit`);
    }
    connection[role] = merged;
  }
  if (c.backpressure.dropAboveBytes >= c.backpressure.disconnectAboveBytes) {
    throw new BridgeConfigError(`bridge config backpressure: dropAboveBytes (${c.backpressure.dropAboveBytes}) must be below disconnectAboveBytes (${c.backpressure.disconnectAboveBytes})`);
  }
  if (c.backpressure.disconnectAboveBytes < 2 * connection.robot.maxMessageBytes) {
    throw new BridgeConfigError(`bridge config backpressure.disconnectAboveBytes (${c.backpressure.disconnectAboveBytes}) must hold at least two of the largest robot messages (${connection.robot.maxMessageBytes} bytes each)`);
  }
  const pools = ROLES.reduce((a, r) => a + c.roleConnections[r], 0);
  if (pools > c.maxConnections) {
    throw new BridgeConfigError(`bridge config: roleConnections (${ROLES.map((r) => `${r} ${c.roleConnections[r]}`).join(', ')}) add up to ${pools}, more than maxConnections (${c.maxConnections}); each role's pool must be its own`);
  }
  if (c.robotPageSize * (c.maxFeatureBytes + ROBOT_INFO_OVERHEAD_BYTES) > MAX_CLIENT_MESSAGE_CHARS / 2) {
    throw new BridgeConfigError(`bridge config: robotPageSize (${c.robotPageSize}) × maxFeatureBytes (${c.maxFeatureBytes}) would make a page of the robot list larger than half a client's 1 MiB message limit; lower one of them`);
  }
  return {
    limits,
    connection,
    backpressure: c.backpressure,
    errorBudget: c.errorBudget,
    heartbeatMs: c.heartbeatMs,
    maxConnections: c.maxConnections,
    roleConnections: c.roleConnections,
    tokenConnections: c.tokenConnections,
    handshakeTimeoutMs: c.handshakeTimeoutMs,
    maxPendingHandshakes: c.maxPendingHandshakes,
    authFailures: c.authFailures,
    maxPendingCommands: c.maxPendingCommands,
    poseTimeoutPeriods: c.poseTimeoutPeriods,
    maxRobots: c.maxRobots,
    maxFeatureBytes: c.maxFeatureBytes,
    robotPageSize: c.robotPageSize,
    departedRobotMs: c.departedRobotMs,
  };
}

/** The pose timeout for a robot running at `controlHz` (see the table at the top). */
export function poseTimeoutFor(limitMs: number, controlHz: number, periods: number): number {
  return Math.min(limitMs, Math.max(MIN_POSE_TIMEOUT_MS, Math.ceil((periods * 1000) / controlHz)));
}

/**
 * The limits the hub enforces for one robot: the hub's, tightened by whatever the robot declares.
 * Returns an error string when the two cannot both hold (e.g. disjoint workspace boxes).
 */
export function intersectLimits(hub: SafetyLimits, robot: RobotLimits | undefined): { ok: true; limits: SafetyLimits } | { ok: false; error: string } {
  if (!robot) return { ok: true, limits: hub };
  const ws = robot.workspace;
  const min: [number, number, number] = [0, 0, 0];
  const max: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    min[i] = ws ? Math.max(hub.workspace.min[i], ws.min[i]) : hub.workspace.min[i];
    max[i] = ws ? Math.min(hub.workspace.max[i], ws.max[i]) : hub.workspace.max[i];
  }
  const yaw: [number, number] = robot.yaw ? [Math.max(hub.yaw[0], robot.yaw[0]), Math.min(hub.yaw[1], robot.yaw[1])] : [hub.yaw[0], hub.yaw[1]];
  const limits: SafetyLimits = {
    workspace: { min, max },
    yaw,
    maxStep: {
      linear: Math.min(hub.maxStep.linear, robot.maxStep?.linear ?? Infinity),
      angular: Math.min(hub.maxStep.angular, robot.maxStep?.angular ?? Infinity),
      grip: Math.min(hub.maxStep.grip, robot.maxStep?.grip ?? Infinity),
    },
    maxVelocity: {
      linear: Math.min(hub.maxVelocity.linear, robot.maxVelocity?.linear ?? Infinity),
      angular: Math.min(hub.maxVelocity.angular, robot.maxVelocity?.angular ?? Infinity),
    },
    commandTimeoutMs: Math.min(hub.commandTimeoutMs, robot.commandTimeoutMs ?? Infinity),
    poseTimeoutMs: Math.min(hub.poseTimeoutMs, robot.poseTimeoutMs ?? Infinity),
  };
  try {
    checkLimits(limits, 'hub limits ∩ robot limits');
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  return { ok: true, limits };
}
