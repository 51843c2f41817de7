/**
 * A mock robot for tests and benchmarks: a point end-effector that moves exactly as commanded,
 * at once, and remembers every command, hold and e-stop it received. Optionally a camera that
 * produces a fixed-size RGB image each observation.
 */
import type { ActionForm, ActionVector, Features, FeatureSpec, RobotLimits } from '../protocol.ts';
import type { Robot, RobotObservation } from '../robot.ts';

export interface MockRobotOptions {
  form?: ActionForm;
  /** For `ee_delta_normalized` (default [0.02, 0.02, 0.02, 0.2]). */
  maxDelta?: [number, number, number, number];
  /** Initial [x, y, z, yaw, grip] (default [0, 0, 0.2, 0, -1]). */
  initialPose?: ActionVector;
  controlHz?: number;
  /** Adds an RGB camera feature `camera.front` of this size. */
  camera?: { width: number; height: number; hz?: number };
  limits?: RobotLimits;
  /** Remember every command in `commands` (default true; benchmarks turn it off). */
  log?: boolean;
}

export interface MockCommandRecord {
  action: ActionVector;
  before: ActionVector;
  after: ActionVector;
  t: number;
}

export class MockRobot implements Robot {
  readonly features: Features;
  pose: ActionVector;
  readonly commands: MockCommandRecord[] = [];
  readonly holds: number[] = [];
  readonly estops: Array<{ reason: string; t: number }> = [];
  estopped = false;
  private connected = false;
  private readonly image: Uint8Array | null;
  private frameCount = 0;
  private faultListener: ((reason: string) => void) | null = null;
  private readonly keepLog: boolean;

  constructor(options: MockRobotOptions = {}) {
    const form = options.form ?? 'ee_delta_normalized';
    const observation: Record<string, FeatureSpec> = {
      'ee.pose': { kind: 'state', dtype: 'float64', shape: [5], names: ['x', 'y', 'z', 'yaw', 'grip'] },
    };
    if (options.camera) {
      observation['camera.front'] = { kind: 'image', dtype: 'uint8', shape: [options.camera.height, options.camera.width, 3], format: 'rgb8', ...(options.camera.hz ? { hz: options.camera.hz } : {}) };
    }
    this.features = {
      observation,
      action: { form, poseKey: 'ee.pose', ...(form === 'ee_delta_normalized' ? { maxDelta: options.maxDelta ?? [0.02, 0.02, 0.02, 0.2] } : {}) },
      controlHz: options.controlHz ?? 20,
      ...(options.limits ? { limits: options.limits } : {}),
    };
    this.keepLog = options.log ?? true;
    this.pose = [...(options.initialPose ?? [0, 0, 0.2, 0, -1])] as ActionVector;
    this.image = options.camera ? new Uint8Array(options.camera.width * options.camera.height * 3) : null;
    if (this.image) for (let i = 0; i < this.image.length; i++) this.image[i] = (i * 7) & 0xff;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async getObservation(): Promise<RobotObservation> {
    const obs: RobotObservation = { state: { 'ee.pose': [...this.pose] } };
    if (this.image) {
      this.image[0] = this.frameCount++ & 0xff;
      obs.frames = { 'camera.front': this.image };
    }
    return obs;
  }

  async sendAction(action: ActionVector): Promise<ActionVector> {
    if (!this.connected) throw new Error('mock robot is not connected');
    const before = [...this.pose] as ActionVector;
    if (this.estopped) return this.features.action.form === 'ee_target' ? before : [0, 0, 0, 0, before[4]];
    const f = this.features.action;
    if (f.form === 'ee_target') this.pose = [...action] as ActionVector;
    else {
      const s = f.form === 'ee_delta_normalized' ? f.maxDelta! : [1, 1, 1, 1];
      for (let i = 0; i < 4; i++) this.pose[i] += action[i] * s[i];
      this.pose[4] = action[4];
    }
    if (this.keepLog) this.commands.push({ action: [...action] as ActionVector, before, after: [...this.pose] as ActionVector, t: performance.now() });
    return action;
  }

  /** Holds still; after an e-stop this is the re-arm (the client calls it only after a reset). */
  async hold(): Promise<void> {
    this.holds.push(performance.now());
    this.estopped = false;
  }

  async emergencyStop(reason: string): Promise<void> {
    this.estopped = true;
    this.estops.push({ reason, t: performance.now() });
  }

  async disconnect(): Promise<void> {
    this.connected = false;
  }

  onFault(listener: (reason: string) => void): void {
    this.faultListener = listener;
  }

  /** Test hook: the robot reports a fault of its own. */
  fault(reason: string): void {
    this.faultListener?.(reason);
  }
}
