/**
 * Every JSON message of `simreal.bridge.v1`, as zod schemas (the wire contract) and the TypeScript
 * types derived from them. PROTOCOL.md describes each one in prose with an example.
 *
 * Two unions, discriminated on `op`: `ClientMessage` (what robots, controllers and viewers send to
 * the hub) and `HubMessage` (what the hub sends). Objects are parsed leniently about *extra* keys
 * (they are stripped, so a v1.1 peer can add optional fields) and strictly about everything else:
 * bounded strings, bounded arrays, finite numbers, identifier patterns.
 *
 * This module depends on zod and the camera file's schema (sim/camera/camera-file.ts, plain zod)
 * only: robots, browsers and the hub all import it.
 */
import { z } from 'zod';
import { CameraFileSchema } from '../../sim/camera/camera-file.ts';

// ---------------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------------

/** Robot ids: `emu-1`, `so101.left`; letters, digits, `_ . -`, up to 64 characters. */
export const RobotIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'robot id: 1-64 of [A-Za-z0-9_.-], starting with a letter or digit');
/** Feature keys: `ee.pose`, `joints`, `camera.front`. */
export const FeatureKeySchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_.\/-]{0,63}$/, 'feature key: 1-64 of [A-Za-z0-9_./-], starting with a letter');
/** Optional correlation id, echoed in the `ok`/`error` reply. */
export const CorrSchema = z.union([z.string().max(64), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]);
/** Sequence numbers are unsigned 32-bit. */
export const SeqSchema = z.number().int().min(0).max(0xffffffff);
/** Timestamps: milliseconds since the Unix epoch (fractions allowed), on the sender's clock. */
export const TimeSchema = z.number().min(0).max(1e15);
const ShortText = z.string().max(200);
const NameText = z.string().max(128);

export const ROLES = ['robot', 'controller', 'viewer'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

// ---------------------------------------------------------------------------------------------
// Features: what a robot observes and how it is commanded
// ---------------------------------------------------------------------------------------------

export const DTYPES = ['uint8', 'uint16', 'int16', 'int32', 'float32', 'float64'] as const;
export const DTypeSchema = z.enum(DTYPES);
export type DType = z.infer<typeof DTypeSchema>;

export const IMAGE_FORMATS = ['rgb8', 'rgba8', 'mono8', 'depth16mm', 'depth32f'] as const;
export const ImageFormatSchema = z.enum(IMAGE_FORMATS);
export type ImageFormat = z.infer<typeof ImageFormatSchema>;

/** Channels per pixel and element type of each image format. */
export const IMAGE_FORMAT_LAYOUT: Record<ImageFormat, { channels: number; dtype: DType }> = {
  rgb8: { channels: 3, dtype: 'uint8' },
  rgba8: { channels: 4, dtype: 'uint8' },
  mono8: { channels: 1, dtype: 'uint8' },
  depth16mm: { channels: 1, dtype: 'uint16' },
  depth32f: { channels: 1, dtype: 'float32' },
};

/** Most elements one binary frame may carry (a 4096×4096 RGBA image). */
export const MAX_FRAME_ELEMENTS = 4096 * 4096 * 4;
/** Most numbers one JSON `state` feature may carry. */
export const MAX_STATE_ELEMENTS = 256;

export const FeatureSpecSchema = z
  .object({
    /** `state`: small vectors sent in JSON `observation` messages; `image`/`tensor`: binary frames. */
    kind: z.enum(['state', 'image', 'tensor']),
    dtype: DTypeSchema,
    /** Images are [height, width, channels]; state vectors are [n]. */
    shape: z.array(z.number().int().min(1).max(65535)).max(4),
    names: z.array(z.string().max(64)).max(MAX_STATE_ELEMENTS).optional(),
    format: ImageFormatSchema.optional(),
    hz: z.number().positive().max(10000).optional(),
    unit: z.string().max(32).optional(),
    /**
     * Image features (since 1.2): the camera's calibration, a camera file (sim/camera/camera-file.ts:
     * intrinsics, lens distortion, pose in the table frame) for images of exactly this feature's size.
     */
    calibration: CameraFileSchema.optional(),
  })
  .superRefine((f, ctx) => {
    const n = f.shape.reduce((a, b) => a * b, 1);
    if (f.kind === 'state' && (f.shape.length > 1 || n > MAX_STATE_ELEMENTS)) ctx.addIssue({ code: 'custom', message: `state features are vectors of at most ${MAX_STATE_ELEMENTS} numbers` });
    if (f.kind !== 'state' && n > MAX_FRAME_ELEMENTS) ctx.addIssue({ code: 'custom', message: `frames hold at most ${MAX_FRAME_ELEMENTS} elements` });
    if (f.names && f.names.length !== n) ctx.addIssue({ code: 'custom', message: 'names must have one entry per element' });
    if (f.kind === 'image') {
      if (!f.format) { ctx.addIssue({ code: 'custom', message: 'image features need a format' }); return; }
      const layout = IMAGE_FORMAT_LAYOUT[f.format];
      if (f.shape.length !== 3 || f.shape[2] !== layout.channels || f.dtype !== layout.dtype) {
        ctx.addIssue({ code: 'custom', message: `a ${f.format} image has shape [height, width, ${layout.channels}] and dtype ${layout.dtype}` });
      }
    }
    if (f.calibration) {
      if (f.kind !== 'image') ctx.addIssue({ code: 'custom', path: ['calibration'], message: 'only image features carry a calibration' });
      else if (f.calibration.width !== f.shape[1] || f.calibration.height !== f.shape[0]) {
        ctx.addIssue({ code: 'custom', path: ['calibration'], message: `the calibration is for ${f.calibration.width}x${f.calibration.height} images, the feature's are ${f.shape[1]}x${f.shape[0]}: calibrate the camera at the size it streams` });
      }
    }
  });
export type FeatureSpec = z.infer<typeof FeatureSpecSchema>;

/**
 * How a robot takes commands. All forms are 5 numbers `[x, y, z, yaw, grip]` in the table frame
 * (z up, metres, radians); `grip` is always absolute in [-1 (open), 1 (closed)].
 * - `ee_target`: absolute end-effector target.
 * - `ee_delta`: a step in metres/radians, applied to the current pose.
 * - `ee_delta_normalized`: a step in [-1, 1] per axis that the robot multiplies by `maxDelta`.
 */
export const ACTION_FORMS = ['ee_target', 'ee_delta', 'ee_delta_normalized'] as const;
export const ActionFormSchema = z.enum(ACTION_FORMS);
export type ActionForm = z.infer<typeof ActionFormSchema>;

const Positive = z.number().positive().max(1e6);
export const Vec3Schema = z.tuple([z.number(), z.number(), z.number()]);
export const ActionVectorSchema = z.tuple([z.number(), z.number(), z.number(), z.number(), z.number()]);
export type ActionVector = [number, number, number, number, number];

export const ActionSpecSchema = z
  .object({
    form: ActionFormSchema,
    /** Metres, metres, metres, radians per step at action 1.0 (required for `ee_delta_normalized`). */
    maxDelta: z.tuple([Positive, Positive, Positive, Positive]).optional(),
    /** The `state` feature that reports the end-effector pose `[x, y, z, yaw]` (table frame). */
    poseKey: FeatureKeySchema.default('ee.pose'),
  })
  .superRefine((a, ctx) => {
    if (a.form === 'ee_delta_normalized' && !a.maxDelta) ctx.addIssue({ code: 'custom', message: 'ee_delta_normalized needs maxDelta [m, m, m, rad]' });
  });
export type ActionSpec = z.infer<typeof ActionSpecSchema>;

/**
 * Safety limits, enforced by the hub on every command. The hub's configuration supplies them; a
 * robot may declare tighter ones (`features.limits`), and the hub enforces the intersection.
 */
export const SafetyLimitsSchema = z.object({
  /** Axis-aligned box the end-effector target must stay in, table frame, metres. */
  workspace: z.object({ min: Vec3Schema, max: Vec3Schema }),
  /** Allowed end-effector yaw range, radians. */
  yaw: z.tuple([z.number().min(-10).max(10), z.number().min(-10).max(10)]),
  /** Largest change of the target per command: metres (Euclidean), radians, grip units. */
  maxStep: z.object({ linear: Positive, angular: Positive, grip: Positive }),
  /** Largest commanded speed: m/s and rad/s (a token bucket of one step's depth). */
  maxVelocity: z.object({ linear: Positive, angular: Positive }),
  /** Watchdog: no fresh command for this long while leased → the robot is told to hold. */
  commandTimeoutMs: z.number().int().min(5).max(60_000),
  /**
   * A pose older than this cannot anchor a command: commands are refused until a fresh one, and a
   * moving robot is told to hold (`stale_pose`).
   */
  poseTimeoutMs: z.number().int().min(5).max(600_000),
});
export type SafetyLimits = z.infer<typeof SafetyLimitsSchema>;

/** What a robot may declare about its own limits: any subset, each no looser than the hub's. */
export const RobotLimitsSchema = z.object({
  workspace: z.object({ min: Vec3Schema, max: Vec3Schema }).optional(),
  yaw: z.tuple([z.number().min(-10).max(10), z.number().min(-10).max(10)]).optional(),
  maxStep: z.object({ linear: Positive, angular: Positive, grip: Positive }).partial().optional(),
  maxVelocity: z.object({ linear: Positive, angular: Positive }).partial().optional(),
  commandTimeoutMs: z.number().int().min(5).max(60_000).optional(),
  poseTimeoutMs: z.number().int().min(5).max(600_000).optional(),
});
export type RobotLimits = z.infer<typeof RobotLimitsSchema>;

export const MAX_FEATURES = 64;
export const FeaturesSchema = z.object({
  observation: z.record(FeatureKeySchema, FeatureSpecSchema).refine((o) => Object.keys(o).length <= MAX_FEATURES, `at most ${MAX_FEATURES} observation features`),
  action: ActionSpecSchema,
  /** Control steps per second the robot runs at. */
  controlHz: z.number().positive().max(10_000),
  limits: RobotLimitsSchema.optional(),
});
export type Features = z.infer<typeof FeaturesSchema>;
export type FeaturesInput = z.input<typeof FeaturesSchema>;

// ---------------------------------------------------------------------------------------------
// Client → hub
// ---------------------------------------------------------------------------------------------

const op = <T extends string>(name: T) => z.literal(name);

export const RegisterSchema = z.object({
  op: op('register'),
  id: CorrSchema.optional(),
  robot: RobotIdSchema,
  name: NameText.optional(),
  model: NameText.optional(),
  features: FeaturesSchema,
});
export const ObservationSchema = z.object({
  op: op('observation'),
  robot: RobotIdSchema,
  seq: SeqSchema,
  t: TimeSchema,
  /**
   * Hub sequence number of the last command this observation already reflects: its effect (with
   * that of every earlier command) is in the reported state, and none of them will move the robot
   * further. Not merely the last command handed to the robot.
   */
  cmdSeq: SeqSchema.optional(),
  state: z.record(FeatureKeySchema, z.array(z.number()).max(MAX_STATE_ELEMENTS)).refine((o) => Object.keys(o).length <= MAX_FEATURES, `at most ${MAX_FEATURES} state features`),
});
export const RobotAckSchema = z.object({
  op: op('ack'),
  robot: RobotIdSchema,
  /** The hub sequence number of the `command` being acknowledged. */
  seq: SeqSchema,
  /** The action the robot actually applied after its own clipping. */
  applied: ActionVectorSchema,
  t: TimeSchema.optional(),
});
export const LeaseSchema = z.object({ op: op('lease'), id: CorrSchema.optional(), robot: RobotIdSchema });
export const ReleaseSchema = z.object({ op: op('release'), id: CorrSchema.optional(), robot: RobotIdSchema });
export const CommandSchema = z.object({
  op: op('command'),
  robot: RobotIdSchema,
  /**
   * Increasing (wrapping at 2^32) from the `seq` of the lease's `ok`, at most 65,535 ahead of the
   * next expected one.
   */
  seq: SeqSchema,
  action: ActionVectorSchema,
  /** If given, must equal the robot's declared form (guards against a policy trained for another). */
  form: ActionFormSchema.optional(),
  t: TimeSchema.optional(),
});
export const EstopSchema = z.object({ op: op('estop'), id: CorrSchema.optional(), robot: RobotIdSchema, reason: ShortText.default('') });
export const ResetSchema = z.object({ op: op('reset'), id: CorrSchema.optional(), robot: RobotIdSchema });
export const SubscribeSchema = z.object({
  op: op('subscribe'),
  id: CorrSchema.optional(),
  /** A robot id, or `*` for every robot (present and future). */
  robot: z.union([RobotIdSchema, z.literal('*')]),
  /** Binary channels (image/tensor feature keys) wanted; absent: all. JSON observations always come. */
  channels: z.array(FeatureKeySchema).max(MAX_FEATURES).optional(),
});
export const UnsubscribeSchema = z.object({ op: op('unsubscribe'), id: CorrSchema.optional(), robot: z.union([RobotIdSchema, z.literal('*')]) });
export const PingSchema = z.object({ op: op('ping'), id: CorrSchema.optional(), t: TimeSchema.optional() });
/** One page of the robot list, ordered by id: the robots after `after` (since 1.1). */
export const ListRobotsSchema = z.object({
  op: op('list_robots'),
  id: CorrSchema.optional(),
  after: RobotIdSchema.optional(),
  limit: z.number().int().min(1).max(1000).optional(),
});

/**
 * A camera (or another sensor) attaches image or tensor features to a robot that another
 * connection registered, with that robot's own credential (since 1.2). Its frames then carry the
 * robot's handle and the channels the `ok` names.
 */
export const AttachSchema = z.object({
  op: op('attach'),
  id: CorrSchema.optional(),
  robot: RobotIdSchema,
  features: z.record(FeatureKeySchema, FeatureSpecSchema).refine((o) => Object.keys(o).length >= 1 && Object.keys(o).length <= 8, 'attach 1 to 8 features'),
});

/** One block as a controller's pose estimator sees it (table frame, metres, radians). */
export const BlockEstimateSchema = z.object({
  /** The block's name in the task (`block0`, `target`, `distractor1`). */
  name: z.string().regex(/^[A-Za-z][\w-]{0,31}$/),
  position: Vec3Schema,
  yaw: z.number().min(-10).max(10),
  /** Edge length (m). */
  size: z.number().min(0).max(1),
  /** Detection confidence, 0…1. */
  score: z.number().min(0).max(1).optional(),
});
export type BlockEstimateMessage = z.infer<typeof BlockEstimateSchema>;

const EstimateFields = {
  robot: RobotIdSchema,
  /** Increasing per estimating controller. */
  seq: SeqSchema,
  /** Capture time of the frame the estimate comes from (ms since the Unix epoch, the camera's clock). */
  t: TimeSchema,
  /** The image feature the estimate was made from, and that frame's seq. */
  camera: FeatureKeySchema,
  frameSeq: SeqSchema.optional(),
  blocks: z.array(BlockEstimateSchema).max(32),
  /** When the estimate was made (ms since the Unix epoch, the controller's clock). */
  estimatedAt: TimeSchema.optional(),
};
/** A controller publishes what its pose estimator saw, for viewers to draw (since 1.2). */
export const EstimateSchema = z.object({ op: op('estimate'), ...EstimateFields });

/**
 * The lease holder asks the hub to hold its robot now, saying why (since 1.2): e.g. its camera
 * stopped sending, so it has nothing to act on.
 */
export const ControllerHoldSchema = z.object({ op: op('hold'), id: CorrSchema.optional(), robot: RobotIdSchema, reason: ShortText.min(1) });

export const ClientMessageSchema = z.discriminatedUnion('op', [
  RegisterSchema,
  ObservationSchema,
  RobotAckSchema,
  LeaseSchema,
  ReleaseSchema,
  CommandSchema,
  EstopSchema,
  ResetSchema,
  SubscribeSchema,
  UnsubscribeSchema,
  PingSchema,
  ListRobotsSchema,
  AttachSchema,
  EstimateSchema,
  ControllerHoldSchema,
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type ClientOp = ClientMessage['op'];
export type ClientMessageOf<O extends ClientOp> = Extract<ClientMessage, { op: O }>;
export const CLIENT_OPS = ClientMessageSchema.options.map((o) => o.shape.op.value) as ClientOp[];

/** Which roles may send which op (the hub refuses everything else with `forbidden`). */
export const PERMISSIONS: Record<ClientOp, readonly Role[]> = {
  register: ['robot'],
  observation: ['robot'],
  ack: ['robot'],
  lease: ['controller'],
  release: ['controller'],
  command: ['controller'],
  estop: ['controller', 'robot'],
  reset: ['controller'],
  subscribe: ['controller', 'viewer'],
  unsubscribe: ['controller', 'viewer'],
  ping: ['robot', 'controller', 'viewer'],
  list_robots: ['controller', 'viewer'],
  attach: ['robot'],
  estimate: ['controller'],
  hold: ['controller'],
};

// ---------------------------------------------------------------------------------------------
// Hub → client
// ---------------------------------------------------------------------------------------------

export const PeerSchema = z.object({
  role: RoleSchema,
  session: z.string().max(64),
  name: NameText.optional(),
  /** A controller connected with the operator's token (since 1.1): it may clear any e-stop. */
  operator: z.boolean().optional(),
});
export type Peer = z.infer<typeof PeerSchema>;

export const RobotStateSchema = z.object({
  connected: z.boolean(),
  /** Who holds the control lease, if anyone. */
  lease: PeerSchema.nullable(),
  /**
   * The latched e-stop, if raised, and by whom. One raised by an operator, the robot or the hub is
   * cleared only by an operator; one raised by a controller, by that controller or an operator.
   */
  estop: z.object({ reason: ShortText, by: PeerSchema, t: TimeSchema }).nullable(),
  /** True while the robot has been told to hold still and no fresh command has moved it since. */
  holding: z.boolean(),
  holdReason: ShortText.nullable(),
});
export type RobotState = z.infer<typeof RobotStateSchema>;

export const RobotInfoSchema = z.object({
  id: RobotIdSchema,
  /** Number that binary frames from this robot carry (assigned by the hub). */
  handle: SeqSchema,
  name: NameText.optional(),
  model: NameText.optional(),
  features: FeaturesSchema,
  /** The limits the hub enforces for this robot (hub config ∩ robot declaration). */
  limits: SafetyLimitsSchema,
  state: RobotStateSchema,
});
export type RobotInfo = z.infer<typeof RobotInfoSchema>;

export const ConnectionLimitsSchema = z.object({
  maxMessageBytes: z.number().int().positive(),
  messagesPerSecond: z.number().positive(),
  bytesPerSecond: z.number().positive(),
});
export type ConnectionLimits = z.infer<typeof ConnectionLimitsSchema>;

export const WelcomeSchema = z.object({
  op: op('welcome'),
  protocol: z.string().max(64),
  version: z.object({ major: z.number().int(), minor: z.number().int() }),
  session: z.string().max(64),
  role: RoleSchema,
  hubTime: TimeSchema,
  limits: ConnectionLimitsSchema,
  /** The first page of the robot list (ordered by id); `robotsTotal` says how many there are (since 1.1). */
  robots: z.array(RobotInfoSchema).max(10_000),
  robotsTotal: z.number().int().min(0).optional(),
});
export const OkSchema = z.object({
  op: op('ok'),
  /** The op this answers. */
  of: z.string().max(32),
  id: CorrSchema.optional(),
  robot: RobotIdSchema.optional(),
  handle: SeqSchema.optional(),
  limits: SafetyLimitsSchema.optional(),
  /** For `lease`: the seq this lease's commands start at (since 1.1). */
  seq: SeqSchema.optional(),
  /** For `list_robots`: the page, and the cursor of the next one (absent on the last page). */
  robots: z.array(RobotInfoSchema).max(1000).optional(),
  next: RobotIdSchema.optional(),
  /** For `attach`: the binary channel of each attached feature (since 1.2). */
  channels: z.record(FeatureKeySchema, z.number().int().min(0).max(65535)).optional(),
});
export const ERROR_CODES = [
  'bad_json', 'not_object', 'unknown_op', 'invalid', 'bad_frame', 'too_large', 'rate_limited', 'forbidden',
  'unknown_robot', 'robot_offline', 'robot_id_in_use', 'already_registered', 'not_registered', 'limits_conflict',
  'lease_held', 'not_leased', 'estop_latched', 'not_latched', 'stale_seq', 'wrong_form', 'no_pose', 'stale_pose',
  'unknown_command', 'internal', 'window_full', 'hub_full', 'feature_in_use',
] as const;
export const ErrorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;
export const ErrorSchema = z.object({
  op: op('error'),
  code: ErrorCodeSchema,
  message: z.string().max(500),
  /** What it answers, when known. */
  ref: z.object({ op: z.string().max(32).optional(), id: CorrSchema.optional(), seq: SeqSchema.optional(), robot: z.string().max(64).optional() }).optional(),
});
/** The whole list (sent by 1.0 hubs on every registration; a 1.1 hub sends `robot` and `robot_removed`). */
export const RobotsSchema = z.object({ op: op('robots'), robots: z.array(RobotInfoSchema).max(10_000) });
/** A robot registered (or registered again with new features): its entry (since 1.1). */
export const RobotAddedSchema = z.object({ op: op('robot'), info: RobotInfoSchema });
/** A departed robot was forgotten (since 1.1). */
export const RobotRemovedSchema = z.object({ op: op('robot_removed'), robot: RobotIdSchema });
export const RobotStateMessageSchema = z.object({ op: op('robot_state'), robot: RobotIdSchema, state: RobotStateSchema });
export const CLAMP_REASONS = ['workspace', 'yaw', 'step_linear', 'step_angular', 'step_grip', 'velocity_linear', 'velocity_angular', 'grip_range', 'normalized_range'] as const;
export const ClampReasonSchema = z.enum(CLAMP_REASONS);
export type ClampReason = z.infer<typeof ClampReasonSchema>;
export const RobotCommandSchema = z.object({
  op: op('command'),
  robot: RobotIdSchema,
  /** Hub sequence number, increasing for the robot's lifetime on this hub; echoed in `ack`. */
  seq: SeqSchema,
  form: ActionFormSchema,
  /** The action after the hub's safety clamps: exactly what the robot must execute. */
  action: ActionVectorSchema,
  clamped: z.array(ClampReasonSchema).max(CLAMP_REASONS.length),
  t: TimeSchema,
});
export const ControllerAckSchema = z.object({
  op: op('ack'),
  robot: RobotIdSchema,
  /** The controller's sequence number. */
  seq: SeqSchema,
  requested: ActionVectorSchema,
  /** What the hub sent to the robot (after clamps). */
  sent: ActionVectorSchema,
  /** What the robot reports it applied (after its own clipping). */
  applied: ActionVectorSchema,
  clamped: z.array(ClampReasonSchema).max(CLAMP_REASONS.length),
  /** Hub clock: when the command arrived and when the robot's ack arrived. */
  hubReceived: TimeSchema,
  hubAcked: TimeSchema,
});
export const HOLD_REASONS = ['registered', 'watchdog', 'lease_released', 'controller_disconnected', 'estop', 'reset', 'stale_pose', 'hub_shutdown'] as const;
export const HoldReasonSchema = z.enum(HOLD_REASONS);
export type HoldReason = z.infer<typeof HoldReasonSchema>;
export const HoldSchema = z.object({ op: op('hold'), robot: RobotIdSchema, reason: HoldReasonSchema, message: ShortText, t: TimeSchema });
export const HubEstopSchema = z.object({ op: op('estop'), robot: RobotIdSchema, reason: ShortText, by: PeerSchema, t: TimeSchema });
export const StatusSchema = z.object({
  op: op('status'),
  level: z.enum(['info', 'warn', 'error']),
  code: z.string().max(64),
  message: z.string().max(500),
  robot: RobotIdSchema.optional(),
  t: TimeSchema,
});
/** A controller's estimate, forwarded to the robot's subscribers with who sent it (since 1.2). */
export const HubEstimateSchema = z.object({ op: op('estimate'), ...EstimateFields, by: PeerSchema });
export const PongSchema = z.object({ op: op('pong'), id: CorrSchema.optional(), t: TimeSchema.optional(), hubTime: TimeSchema });

export const HubMessageSchema = z.discriminatedUnion('op', [
  WelcomeSchema,
  OkSchema,
  ErrorSchema,
  RobotsSchema,
  RobotAddedSchema,
  RobotRemovedSchema,
  RobotStateMessageSchema,
  RobotCommandSchema,
  ControllerAckSchema,
  ObservationSchema,
  HoldSchema,
  HubEstopSchema,
  StatusSchema,
  PongSchema,
  HubEstimateSchema,
]);
export type HubMessage = z.infer<typeof HubMessageSchema>;
export type HubOp = HubMessage['op'];
export type HubMessageOf<O extends HubOp> = Extract<HubMessage, { op: O }>;
export const HUB_OPS = HubMessageSchema.options.map((o) => o.shape.op.value) as HubOp[];

export type Observation = z.infer<typeof ObservationSchema>;
export type RobotCommand = HubMessageOf<'command'>;
export type ControllerAck = HubMessageOf<'ack'>;
