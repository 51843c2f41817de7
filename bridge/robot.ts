/**
 * The one small interface every robot implements: the emulated reality, the SO-101 driver, the
 * mock in tests. It follows LeRobot's `Robot`: connect, getObservation, sendAction (which returns
 * the action actually applied after the robot's own clipping), disconnect, and feature
 * descriptions readable while disconnected. Two additions a bridge needs: `hold` (stop moving,
 * stay powered) and `emergencyStop` (stop now; for an arm, torque off).
 *
 * Actions are `[x, y, z, yaw, grip]` in the form the robot declares in `features.action.form`
 * (see protocol/messages.ts): table frame, z up, metres and radians; grip in [-1 (open), 1 (closed)].
 */
import type { ActionVector, Features } from './protocol.ts';

export interface RobotObservation {
  /** `state` features by key, e.g. `{ 'ee.pose': [x, y, z, yaw, grip], joints: [...] }`. */
  state: Record<string, number[]>;
  /** `image`/`tensor` features by key: raw elements matching the declared dtype and shape. */
  frames?: Record<string, ArrayBufferView>;
  /** When it was captured, ms since the Unix epoch (default: when getObservation resolved). */
  t?: number;
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
  /** Stop at once; for hardware, remove power from the motors. Latched until `hold` after a reset. */
  emergencyStop(reason: string): Promise<void>;
  disconnect(): Promise<void>;
  /** Optional: the robot reports its own faults (overload, overheating) to raise the e-stop. */
  onFault?(listener: (reason: string) => void): void;
}
