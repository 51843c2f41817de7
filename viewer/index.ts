/**
 * What the viewer offers the rest of the project: the server behind `simreal view` and its three
 * sources (a live simulation, a bridge hub, a recording), the page's wire protocol, and the
 * browser benchmark. The page itself lives in app/ and is bundled when the server starts.
 */
export { startViewerServer } from './server/server.ts';
export type { RunningViewer, ViewerServerOptions } from './server/server.ts';
export { SimSource, listScenarios } from './server/sim-source.ts';
export type { SimSourceOptions } from './server/sim-source.ts';
export { BridgeSource } from './server/bridge-source.ts';
export type { BridgeSourceOptions } from './server/bridge-source.ts';
export { ReplaySource } from './server/replay-source.ts';
export type { ReplaySourceOptions } from './server/replay-source.ts';
export { expertDriver, policyDriver, DriverError } from './server/action-source.ts';
export type { ActionSource, Driver, PolicyLoader } from './server/action-source.ts';
export type { ViewerSource, PageLink } from './server/source.ts';
export { launchChromium, ChromiumMissingError } from './bench/chromium.ts';
export { benchViewer } from './bench/viewer-bench.ts';
export type { ViewerBenchOptions, ViewerBenchResult } from './bench/viewer-bench.ts';
export * from './protocol.ts';
