/**
 * The one small interface every robot implements: the emulated reality, the SO-101 driver, the
 * mock in tests. It follows LeRobot's `Robot`: connect, getObservation, sendAction (which returns
 * the action actually applied after the robot's own clipping), disconnect, and feature
 * descriptions readable while disconnected. Additions a bridge needs: `hold` (stop moving, stay
 * powered), `emergencyStop` (stop now; for an arm, torque off), `setLimits` (the workspace box the
 * robot enforces on its own measured state, whatever it is sent), and observations that say which
 * actions they already reflect.
 *
 * Actions are `[x, y, z, yaw, grip]` in the form the robot declares in `features.action.form`
 * (see protocol/messages.ts): table frame, z up, metres and radians; grip in [-1 (open), 1 (closed)].
 */
import type { ActionVector, Features, SafetyLimits } from './protocol.ts';

export interface RobotObservation {
  /** `state` features by key, e.g. `{ 'ee.pose': [x, y, z, yaw, grip], joints: [...] }`. */
  state: Record<string, number[]>;
  /** `image`/`tensor` features by key: raw elements matching the declared dtype and shape. */
  frames?: Record<string, ArrayBufferView>;
  /** When it was captured, ms since the Unix epoch (default: when getObservation resolved). */
  t?: number;
  /**
   * How many `sendAction` calls (counted from the robot's creation) this observation reflects: the
   * state shows the effect of every one of them (or they were dropped, superseded or cancelled by a
   * hold), so none of them will move the robot any further. The hub predicts the pose from this
   * observation plus every later action, so a robot whose actions take effect after `sendAction`
   * resolves (a network, a control loop, servos) must say it; when absent, the client assumes
   * that every action whose `sendAction` resolved before `getObservation` was called is reflected.
   */
  actions?: number;
}

export interface Robot {
  /** What the robot observes and how it is commanded; valid before `connect`. */
  readonly features: Features;
  readonly isConnected: boolean;
  connect(): Promise<void>;
  getObservation(): Promise<RobotObservation>;
  /** Executes one control step; resolves with what was actually applied (after clipping). */
  sendAction(action: ActionVector): Promise<ActionVector>;
  /** Stop moving and keep still (holding position, powered). Safe to call at any time. */
  hold(): Promise<void>;
  /**
   * Stop at once; for hardware, remove power from the motors. Latched until `hold` after a reset.
   * After `hold` or `emergencyStop` resolves, every earlier action counts as reflected.
   */
  emergencyStop(reason: string): Promise<void>;
  /**
   * The limits the hub enforces for this robot (called on every registration, before any action).
   * From then on the robot keeps its own measured end effector inside `limits.workspace`: it clips
   * each target into the box, and on a breach beyond its margin it stops and raises the e-stop
   * (a fault, or a failing `sendAction`). See robots/workspace-guard.ts.
   */
  setLimits(limits: SafetyLimits): void;
  disconnect(): Promise<void>;
  /** Optional: the robot reports its own faults (overload, overheating) to raise the e-stop. */
  onFault?(listener: (reason: string) => void): void;
}
