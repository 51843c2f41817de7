/**
 * `simreal view` (the browser viewer: a live simulation, a bridge's robots, or a recording) and
 * `simreal bench viewer`. The work lives in viewer/; this file parses flags and wires it up.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { loadScenarioOrExit, parseIntOption, parseNumberOption } from './options.ts';
import { startViewerServer } from '../viewer/server/server.ts';
import type { RunningViewer } from '../viewer/server/server.ts';
import { SimSource } from '../viewer/server/sim-source.ts';
import { BridgeSource } from '../viewer/server/bridge-source.ts';
import { ReplaySource } from '../viewer/server/replay-source.ts';
import { DriverError, expertDriver, policyDriver } from '../viewer/server/action-source.ts';
import type { Driver, PolicyLoader } from '../viewer/server/action-source.ts';
import type { ViewerSource } from '../viewer/server/source.ts';
import { MAX_SPEED } from '../viewer/protocol.ts';
import { TabletopEnv } from '../sim/env.ts';
import { BridgeError } from '../bridge/controller-client.ts';
import { DEFAULT_TOKEN_FILE, readToken } from './bridge-access.ts';
import { untilSignal } from './signals.ts';

/** Turns a model directory into a Driver (state policies; tfjs is loaded only when asked for). */
export const loadPolicy: PolicyLoader = async (dir) => {
  const { loadPolicyDriver } = await import('../workflows/viewer-policy.ts');
  return loadPolicyDriver(dir, { log: (l) => process.stderr.write(`${l}\n`) });
};

export interface ViewFlags {
  seed: string;
  policy?: string;
  bridge?: string;
  tokenFile: string;
  robot?: string;
  replay?: string;
  port: string;
  host: string;
  speed: string;
  hz: string;
  paused?: boolean;
  autoReset: boolean;
  loop?: boolean;
}


/** Builds the source the flags ask for (exported for tests). */
export async function sourceFromFlags(scenario: string | undefined, flags: ViewFlags, load: PolicyLoader = loadPolicy): Promise<{ source: ViewerSource; what: string }> {
  const modes = [scenario !== undefined, flags.bridge !== undefined, flags.replay !== undefined].filter(Boolean).length;
  if (modes === 0) throw new UserError('view needs something to show: a scenario file (simreal view scenarios/stack-3.json), --bridge ws://host:8765 or --replay session.mcap');
  if (modes > 1) throw new UserError('view shows one thing at a time: give a scenario file, --bridge or --replay, not several');
  const hz = parseIntOption('--hz', flags.hz, 1, 240);
  if (flags.policy !== undefined && scenario === undefined) throw new UserError('--policy drives a simulation: give a scenario file with it');

  if (flags.bridge !== undefined) {
    let url: URL;
    try {
      url = new URL(flags.bridge);
    } catch {
      throw new UserError(`--bridge expects a WebSocket URL such as ws://127.0.0.1:8765, got "${flags.bridge}"`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UserError(`--bridge expects a ws:// or wss:// URL, got "${flags.bridge}"`);
    // The main token allows e-stop; a viewer token is read-only.
    const token = readToken(flags.tokenFile);
    return { source: new BridgeSource({ url: url.toString(), token, robot: flags.robot, streamHz: hz }), what: `robots on ${url}` };
  }

  if (flags.replay !== undefined) {
    if (!fs.existsSync(flags.replay)) throw new UserError(`recording ${flags.replay} does not exist (record one with: simreal bridge --record session.mcap)`);
    const speed = parseNumberOption('--speed', flags.speed, 0.01, MAX_SPEED);
    return { source: new ReplaySource({ file: flags.replay, robot: flags.robot, speed, streamHz: hz, play: !flags.paused, loop: flags.loop ?? false }), what: `replay of ${flags.replay}` };
  }

  const file = scenario as string;
  const scenarioData = loadScenarioOrExit(file);
  const seed = parseIntOption('--seed', flags.seed, 0, 0xffffffff);
  const speed = parseNumberOption('--speed', flags.speed, 0, MAX_SPEED);
  let driver: Driver = expertDriver();
  if (flags.policy !== undefined) {
    try {
      driver = await policyDriver(flags.policy, load);
      // Refuse a policy that cannot drive this scenario now, not in the page.
      const env = new TabletopEnv(scenarioData);
      env.reset({ seed });
      driver.create(env);
    } catch (e) {
      if (e instanceof DriverError) throw new UserError(e.message);
      throw e;
    }
  }
  const source = new SimSource({ scenario: file, seed, driver, speed, streamHz: hz, paused: flags.paused ?? false, autoReset: flags.autoReset });
  return { source, what: `${file} from seed ${seed}, driven by ${driver.name}` };
}

async function runView(scenario: string | undefined, flags: ViewFlags): Promise<void> {
  const port = parseIntOption('--port', flags.port, 0, 65535);
  const { source, what } = await sourceFromFlags(scenario, flags);
  let viewer: RunningViewer;
  try {
    viewer = await startViewerServer({ source, port, host: flags.host, log: (l) => process.stderr.write(`${l}\n`) });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new UserError(`port ${port} is in use: pass another with --port (0 picks a free one)`);
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') throw new UserError(`cannot listen on --host ${flags.host}: ${err.message}`);
    if (err instanceof BridgeError) throw new UserError(`the bridge refused the viewer: ${err.message} (check --token-file)`);
    throw e;
  }
  process.stdout.write(`${viewer.url}\n`);
  process.stderr.write(`simreal view: ${what}; open the URL above in a browser (Ctrl-C stops)\n`);
  await untilSignal();
  await viewer.close();
}

export const viewCommand: CommandModule = {
  register(program: Command, bench: Command): void {
    program
      .command('view')
      .description('Watch a simulation, a bridge\'s robots or a recording live in a browser.')
      .argument('[scenario]', 'scenario file to simulate (e.g. scenarios/stack-3.json)')
      .option('--seed <n>', 'first episode seed', '0')
      .option('--policy <dir>', 'drive the robot with a trained policy instead of the expert')
      .option('--bridge <url>', 'show the robots on a bridge hub (ws://host:8765)')
      .option('--token-file <file>', 'bridge token: the main token allows e-stop, a viewer token is read-only', DEFAULT_TOKEN_FILE)
      .option('--robot <id>', 'bridge/replay: the robot to draw in 3D (default: the first with a pose)')
      .option('--replay <file>', 'play back a bridge recording (.mcap)')
      .option('--port <n>', 'HTTP port (0: any free port)', '8090')
      .option('--host <addr>', 'interface to listen on', '127.0.0.1')
      .option('--speed <x>', `simulated seconds per second (0: as fast as possible, max ${MAX_SPEED})`, '1')
      .option('--hz <n>', 'frames streamed to the page per second', '60')
      .option('--paused', 'start paused')
      .option('--no-auto-reset', 'stay on a finished episode instead of starting the next seed')
      .option('--loop', 'replay: start over at the end')
      .action(async (scenario: string | undefined, flags: ViewFlags) => runView(scenario, flags));

    bench
      .command('viewer')
      .description('Frame timing of the viewer page in headless Chromium (10 blocks, 30 Hz updates).')
      .option('--json', 'print one JSON object on the last line')
      .option('--seconds <s>', 'measured seconds per viewport', '8')
      .option('--blocks <n>', 'blocks drawn', '10')
      .option('--hz <n>', 'state updates per second', '30')
      .option('--sizes <list>', 'viewports, e.g. 1280x720,640x360', '1280x720,640x360')
      .action(async (flags: { json?: boolean; seconds: string; blocks: string; hz: string; sizes: string }) => {
        const seconds = parseNumberOption('--seconds', flags.seconds, 1, 600);
        const blocks = parseIntOption('--blocks', flags.blocks, 1, 100);
        const hz = parseIntOption('--hz', flags.hz, 1, 240);
        const sizes = flags.sizes.split(',').map((s) => {
          const m = /^(\d+)x(\d+)$/.exec(s.trim());
          if (!m || Number(m[1]) < 64 || Number(m[2]) < 64 || Number(m[1]) > 4096 || Number(m[2]) > 4096) throw new UserError(`--sizes expects WIDTHxHEIGHT items (64–4096), got "${s}"`);
          return [Number(m[1]), Number(m[2])] as [number, number];
        });
        const { benchViewer, formatViewerBench } = await import('../viewer/bench/viewer-bench.ts');
        const { ChromiumMissingError } = await import('../viewer/bench/chromium.ts');
        try {
          const r = await benchViewer({ seconds, blocks, hz, sizes, log: flags.json ? undefined : (l) => process.stderr.write(`${l}\n`) });
          process.stdout.write(`${formatViewerBench(r)}\n`);
          if (flags.json) process.stdout.write(`${JSON.stringify(r)}\n`);
        } catch (e) {
          if (e instanceof ChromiumMissingError) throw new UserError(e.message);
          throw e;
        }
      });
  },
};
