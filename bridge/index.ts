/**
 * What bridge/ offers the rest of simreal. The protocol alone (no Node APIs) is `./protocol.ts`,
 * for browsers and robots; this index also brings the Node side: hub, clients, robots, recording.
 */
export * from './protocol.ts';
export { startBridge } from './hub/server.ts';
export type { BridgeOptions, RunningBridge } from './hub/server.ts';
export { BridgeHub, hubNow } from './hub/hub.ts';
export type { HubOptions, HubRecorder, RecordEntry, HubStats } from './hub/hub.ts';
export { loadOrCreateToken, generateToken } from './hub/token-file.ts';
export { robotToken, robotIdOf } from './hub/robot-credentials.ts';
export { DEFAULT_SAFETY_LIMITS, DEFAULT_CONNECTION_LIMITS, resolveHubConfig, intersectLimits, BridgeConfigError } from './config.ts';
export type { HubConfig, HubConfigInput } from './config.ts';
export type { Robot, RobotObservation } from './robot.ts';
export { RobotClient } from './robot-client.ts';
export type { RobotClientOptions, BackoffOptions } from './robot-client.ts';
export { ControllerClient, BridgeError } from './controller-client.ts';
export type { ControllerClientOptions } from './controller-client.ts';
export { MockRobot } from './robots/mock.ts';
export { WorkspaceGuard, excursion } from './robots/workspace-guard.ts';
export { So101Robot } from './robots/so101/so101.ts';
export { McapRecorder } from './mcap/recorder.ts';
export { readRecording, replay, summarizeRecording } from './mcap/reader.ts';
export type { RecordedMessage } from './mcap/reader.ts';
