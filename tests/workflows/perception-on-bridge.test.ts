import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RobotInfo } from '../../bridge/protocol.ts';
import { cameraForPerception, robotStateNames } from '../../workflows/perception-on-bridge.ts';

/** The lab reality's camera file: 128x128, as the emulated robot publishes it. */
const calibration = JSON.parse(readFileSync('scenarios/reality/lab-camera.json', 'utf8'));
const image = (over: Record<string, unknown> = {}) => ({ kind: 'image', dtype: 'uint8', shape: [128, 128, 3], format: 'rgb8', hz: 20, calibration, ...over });
const robot = (observation: Record<string, unknown>): RobotInfo =>
  ({ id: 'emu-1', handle: 1, features: { observation, action: { form: 'ee_delta_normalized' }, controlHz: 20 } }) as unknown as RobotInfo;
const state = { kind: 'state', dtype: 'float32', shape: [3], names: ['tcp.x', 'tcp.y', 'tcp.z'] };

describe('what a robot must offer before a policy is driven through its camera (checked before the lease)', () => {
  it('takes the camera the estimator looks through, with its calibration and rate', () => {
    const c = cameraForPerception(robot({ 'camera.front': image(), 'camera.wrist': image(), 'robot.state': state }), 'front');
    expect(c.key).toBe('camera.front');
    expect(c.hz).toBe(20);
    expect(c.calibration.width).toBe(128);
    // A robot with one camera: that one, whatever its name.
    expect(cameraForPerception(robot({ 'camera.usb': image() }), 'front').key).toBe('camera.usb');
  });

  it('refuses a robot without a camera, naming what it offers and how to publish one', () => {
    expect(() => cameraForPerception(robot({ 'robot.state': state, 'ee.pose': state }), 'front')).toThrow(
      /robot emu-1 has no calibrated camera to see the blocks through: it offers robot\.state, ee\.pose.*simreal camera --device \/dev\/video0 --calibration cam\.json --bridge … --robot emu-1 --feature camera\.front/,
    );
    // Two cameras, neither the estimator's: it cannot guess.
    expect(() => cameraForPerception(robot({ 'camera.a': image(), 'camera.b': image() }), 'front')).toThrow(/images camera\.a, camera\.b, none of them camera\.front/);
  });

  it('refuses a camera without a calibration, one calibrated at another size, and one that is not RGB', () => {
    expect(() => cameraForPerception(robot({ 'camera.front': image({ calibration: undefined }) }), 'front')).toThrow(/camera\.front of robot emu-1 carries no calibration.*simreal camera … --calibration cam\.json/);
    expect(() => cameraForPerception(robot({ 'camera.front': image({ shape: [480, 640, 3] }) }), 'front')).toThrow(/streams 640x480 images but its calibration is for 128x128: publish a calibration made at 640x480/);
    expect(() => cameraForPerception(robot({ 'camera.front': image({ format: 'jpeg' }) }), 'front')).toThrow(/camera\.front of robot emu-1 is jpeg; the pose estimator reads rgb8 images/);
  });

  it("needs the robot's own state apart from the blocks", () => {
    expect(robotStateNames(robot({ 'robot.state': state }))).toEqual(['tcp.x', 'tcp.y', 'tcp.z']);
    expect(() => robotStateNames(robot({ 'policy.state': state, 'camera.front': image() }))).toThrow(/does not report its own state apart from the blocks \(a state feature robot\.state .*it offers policy\.state, camera\.front/);
  });
});
