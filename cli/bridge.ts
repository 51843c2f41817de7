/**
 * `simreal bridge` (the hub), `simreal robot so101` (the SO-100/SO-101 driver as a bridge robot)
 * and `simreal bench bridge`. The work lives in bridge/; this file parses flags and wires it up.
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_TOKEN_FILE, expandHome, readToken, userErrors } from './bridge-access.ts';
import { robotGroup } from './command-module.ts';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { parseIntOption, parseNumberOption } from './options.ts';
import { untilSignal } from './signals.ts';
import { startBridge } from '../bridge/hub/server.ts';
import { loadOrCreateToken } from '../bridge/hub/token-file.ts';
import { BridgeConfigError, resolveHubConfig } from '../bridge/config.ts';
import type { HubConfigInput } from '../bridge/config.ts';
import { McapRecorder } from '../bridge/mcap/recorder.ts';
import { startFoxgloveEndpoint } from '../bridge/foxglove/live.ts';
import type { FoxgloveEndpoint } from '../bridge/foxglove/live.ts';
import { RobotClient } from '../bridge/robot-client.ts';
import { ACTION_FORMS } from '../bridge/protocol.ts';
import type { ActionForm } from '../bridge/protocol.ts';
import { So101Robot } from '../bridge/robots/so101/so101.ts';
import { nominalCalibration } from '../sim/robot/so101/calibration.ts';
import { loadCalibration } from '../sim/robot/so101/calibration-file.ts';
import { openSerialLink } from '../bridge/robots/so101/bus.ts';
import type { SerialLink } from '../bridge/robots/so101/bus.ts';
import { openDryRunArm } from '../bridge/robots/so101/dry-run.ts';
import { SO101_CONTROL_HZ } from '../bridge/robots/so101/features.ts';
import { runBridgeBench, BENCH_PHASES } from '../bridge/bench/bench.ts';
import { robotCredential, robotCredentialOptions, robotKeyFileFor } from './robot-credential.ts';
import type { RobotCredentialFlags } from './robot-credential.ts';
import type { BenchPhase } from '../bridge/bench/bench.ts';

interface BridgeFlags {
  port: string;
  host: string;
  tokenFile: string;
  robotKeyFile?: string;
  operatorTokenFile?: string;
  viewerTokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  record?: string;
  recordFlush: string;
  foxglovePort?: string;
  overwrite?: boolean;
  origin?: string[];
  config?: string;
  quiet?: boolean;
}

async function runHub(flags: BridgeFlags): Promise<void> {
  const port = parseIntOption('--port', flags.port, 0, 65535);
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new UserError('give both --tls-cert and --tls-key (or neither)');
  for (const f of [flags.tlsCert, flags.tlsKey, flags.config]) if (f && !fs.existsSync(f)) throw new UserError(`file ${f} does not exist`);
  let config: HubConfigInput = {};
  if (flags.config) {
    try {
      config = JSON.parse(fs.readFileSync(flags.config, 'utf8')) as HubConfigInput;
    } catch (e) {
      throw new UserError(`--config ${flags.config}: ${(e as Error).message}`);
    }
    userErrors(() => resolveHubConfig(config));
  }
  const tokenPath = expandHome(flags.tokenFile);
  const { token, created } = userErrors(() => loadOrCreateToken(tokenPath));
  const viewerToken = flags.viewerTokenFile ? userErrors(() => loadOrCreateToken(expandHome(flags.viewerTokenFile!)).token) : undefined;
  const flushIntervalMs = parseIntOption('--record-flush', flags.recordFlush, 10, 3_600_000);
  const foxglovePort = flags.foxglovePort === undefined ? undefined : parseIntOption('--foxglove-port', flags.foxglovePort, 0, 65535);
  const robotKeyPath = robotKeyFileFor(flags.tokenFile, flags.robotKeyFile);
  const robotKey = userErrors(() => loadOrCreateToken(robotKeyPath));
  const operatorPath = expandHome(flags.operatorTokenFile ?? path.join(path.dirname(tokenPath), 'operator-token'));
  const operator = userErrors(() => loadOrCreateToken(operatorPath));
  let recorder: McapRecorder | undefined;
  if (flags.record) {
    try {
      recorder = await McapRecorder.open(flags.record, { overwrite: flags.overwrite, flushIntervalMs });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new UserError(`${flags.record} exists; choose another file or add --overwrite`);
      throw new UserError(`cannot record to ${flags.record}: ${(e as Error).message}`);
    }
  }
  let bridge;
  try {
    bridge = await startBridge({
      port, host: flags.host, token, viewerToken, operatorToken: operator.token, robotKey: robotKey.token, origins: flags.origin, config, recorder,
      tls: flags.tlsCert && flags.tlsKey ? { cert: flags.tlsCert, key: flags.tlsKey } : undefined,
      log: flags.quiet ? undefined : (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`),
    });
  } catch (e) {
    await recorder?.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`port ${port} on ${flags.host} is in use; pick another with --port`);
    if (code === 'EADDRNOTAVAIL') throw new UserError(`--host ${flags.host} is not an address of this machine`);
    if (e instanceof BridgeConfigError || (e as Error).message.includes('origin')) throw new UserError((e as Error).message);
    throw e;
  }
  let foxglove: FoxgloveEndpoint | undefined;
  if (foxglovePort !== undefined) {
    try {
      foxglove = await startFoxgloveEndpoint({
        hubUrl: bridge.url, hubToken: viewerToken ?? token, accept: { token, viewerToken }, port: foxglovePort, host: flags.host, origins: flags.origin,
        tls: flags.tlsCert && flags.tlsKey ? { cert: flags.tlsCert, key: flags.tlsKey } : undefined,
        log: flags.quiet ? undefined : (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`),
      });
    } catch (e) {
      await bridge.close();
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(`--foxglove-port ${foxglovePort} on ${flags.host} is in use; pick another`);
      throw e;
    }
  }
  const lines = [
    `simreal bridge listening on ${bridge.url} (subprotocol simreal.bridge.v1)`,
    `token: ${tokenPath}${created ? ' (new)' : ''}; clients send "Authorization: Bearer <token>"`,
    `robot key: ${robotKeyPath}${robotKey.created ? ' (new)' : ''}; each robot's credential derives from it (simreal robot token --id ID)`,
    `operator token: ${operatorPath}${operator.created ? ' (new)' : ''}; a controller with it may clear any e-stop`,
  ];
  if (foxglove) lines.push(`Foxglove (read-only): ${foxglove.url}/?token=<a token from ${tokenPath}${flags.viewerTokenFile ? ` or ${flags.viewerTokenFile}` : ''}>`);
  if (recorder) lines.push(`recording every message to ${flags.record} (written to disk every ${flushIntervalMs} ms; after a crash: simreal recording recover ${flags.record})`);
  if (!flags.tlsCert && !['127.0.0.1', 'localhost', '::1'].includes(flags.host)) lines.push('warning: listening beyond this machine without TLS; the token crosses the network in clear (add --tls-cert/--tls-key)');
  process.stdout.write(lines.join('\n') + '\n');
  const sig = await untilSignal();
  process.stderr.write(`${sig}: holding every robot and closing\n`);
  await foxglove?.close();
  await bridge.close();
}

interface So101Flags extends RobotCredentialFlags {
  bridge: string;
  serial?: string;
  baud: string;
  calibration?: string;
  form: string;
  base?: string;
  controlHz: string;
  writeCalibration?: boolean;
  dryRun?: boolean;
}

async function runSo101(flags: So101Flags): Promise<void> {
  if (!(ACTION_FORMS as readonly string[]).includes(flags.form)) throw new UserError(`--form must be one of ${ACTION_FORMS.join(', ')}`);
  if (!flags.dryRun && !flags.serial) throw new UserError('give the serial port of the arm (--serial /dev/ttyACM0), or --dry-run for the simulated bus');
  if (!flags.dryRun && !flags.calibration) throw new UserError('give the calibration file (--calibration so101.json; a LeRobot calibration file works)');
  let base: { x: number; y: number; z: number; yaw: number } | undefined;
  if (flags.base) {
    const v = flags.base.split(',').map((s) => Number(s));
    if (v.length !== 4 || v.some((x) => !Number.isFinite(x))) throw new UserError(`--base expects x,y,z,yaw (metres, radians), got "${flags.base}"`);
    base = { x: v[0], y: v[1], z: v[2], yaw: v[3] };
  }
  let calibration;
  try {
    calibration = flags.calibration ? loadCalibration(flags.calibration) : nominalCalibration();
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const token = robotCredential(flags);
  let link: SerialLink;
  if (flags.dryRun) {
    // The simulated bus stands and starts as the simulator's SO-101 (its calibration unless one is given).
    const dry = await openDryRunArm();
    link = dry.link;
    if (!flags.calibration) calibration = dry.calibration;
    base ??= dry.base;
  } else {
    try {
      link = await openSerialLink(flags.serial!, parseIntOption('--baud', flags.baud, 9600));
    } catch (e) {
      throw new UserError(`${(e as Error).message} (is the arm plugged in, and may this user open the port? try: ls -l ${flags.serial})`);
    }
  }
  const robot = new So101Robot({
    link, calibration, form: flags.form as ActionForm, base, writeCalibration: flags.writeCalibration || flags.dryRun,
    controlHz: parseNumberOption('--control-hz', flags.controlHz, 1, 200),
  });
  const client = new RobotClient({ url: flags.bridge, token, id: flags.id, robot, model: 'so101', log: (l) => process.stderr.write(`${l}\n`) });
  client.on('error', (e) => process.stderr.write(`error: ${e.message}\n`));
  try {
    await client.start();
  } catch (e) {
    await link.close();
    throw new UserError(`the arm did not come up: ${(e as Error).message}`);
  }
  process.stdout.write(`SO-101 ${flags.dryRun ? '(simulated bus) ' : ''}connected; robot ${flags.id} → ${flags.bridge}; torque on, holding until a controller leases it. Ctrl-C: torque off and exit.\n`);
  await untilSignal();
  await client.stop();
}

export const bridgeCommand: CommandModule = {
  register(program: Command, bench: Command) {
    program
      .command('bridge')
      .description('Run the robot bridge: a WebSocket hub for robots, controllers and viewers, with leases, safety limits, a watchdog and e-stop.')
      .option('--port <n>', 'TCP port (0: any free one)', '8765')
      .option('--host <addr>', 'interface to listen on (0.0.0.0: every interface)', '127.0.0.1')
      .option('--token-file <path>', 'the token clients must present; created (random, mode 0600) if missing', DEFAULT_TOKEN_FILE)
      .option('--robot-key-file <path>', 'the secret robot credentials derive from; created if missing (default: robot-key beside --token-file)')
      .option('--operator-token-file <path>', 'the operator\'s token (clears any e-stop); created if missing (default: operator-token beside --token-file)')
      .option('--viewer-token-file <path>', 'optional second token that only allows watching')
      .option('--tls-cert <pem>', 'certificate for wss:// (with --tls-key)')
      .option('--tls-key <pem>', 'private key for wss://')
      .option('--record <file.mcap>', 'record every message to an MCAP file')
      .option('--record-flush <ms>', 'write the recording to disk at least this often: what a crash can lose', '1000')
      .option('--overwrite', 'replace the --record file if it exists')
      .option('--foxglove-port <n>', 'also serve a read-only Foxglove WebSocket endpoint on this port (0: any free one); Foxglove clients give a bridge token as ?token=')
      .option('--origin <origin...>', 'allow browser pages from this origin (e.g. http://localhost:5173)')
      .option('--config <file.json>', 'safety limits, rates and buffers (see bridge/config.ts for every field and default)')
      .option('--quiet', 'no log lines on stderr')
      .action((flags: BridgeFlags) => runHub(flags));

    robotCredentialOptions(robotGroup(program)
      .command('so101'))
      .description('Connect an SO-100/SO-101 arm (Feetech STS3215 servos) to a bridge as a robot.')
      .requiredOption('--bridge <url>', 'bridge URL, e.g. ws://localhost:8765')
      .option('--serial <path>', 'serial port of the servo bus adapter (e.g. /dev/ttyACM0)')
      .option('--baud <n>', 'bus baud rate', '1000000')
      .option('--calibration <file.json>', 'calibration (LeRobot format; see sim/robot/so101/calibration.ts)')
      .option('--id <id>', 'robot id on the bridge', 'so101')
      .option('--form <form>', `action form: ${ACTION_FORMS.join(' | ')}`, 'ee_delta_normalized')
      .option('--base <x,y,z,yaw>', 'pose of the arm base in the table frame (m, rad); --dry-run: where the SO-101 scenarios put it')
      .option('--control-hz <hz>', 'control rate the arm advertises (the SO-101 scenarios run at 20)', String(SO101_CONTROL_HZ))
      .option('--write-calibration', 'write the homing offsets and ranges into the servos (otherwise only checked)')
      .option('--dry-run', 'use the simulated servo bus instead of a serial port')
      .action((flags: So101Flags) => runSo101(flags));

    bench
      .command('bridge')
      .description('Bridge latency (1 kHz loop, 64 robots, camera to 4 viewers, rosbridge-style comparison), the 10,000-message fuzz set, and the workspace sweep (the arm driven into its box wall over rates, latencies and observation rates).')
      .option('--json', 'print only the JSON line on stdout')
      .option('--seconds <s>', 'length of each 1 kHz loop', '60')
      .option('--multi-seconds <s>', 'length of the 64-robot phase (default: min(seconds, 20))')
      .option('--fuzz-messages <n>', 'hostile messages in the fuzz phase', '10000')
      .option('--seed <n>', 'fuzz seed', '1')
      .option('--phases <list>', `comma-separated subset of ${BENCH_PHASES.join(',')}`)
      .action(async (flags: { json?: boolean; seconds: string; multiSeconds?: string; fuzzMessages: string; seed: string; phases?: string }) => {
        const phases = flags.phases ? flags.phases.split(',').map((s) => s.trim()) : undefined;
        for (const p of phases ?? []) if (!(BENCH_PHASES as readonly string[]).includes(p)) throw new UserError(`--phases: unknown phase "${p}" (known: ${BENCH_PHASES.join(', ')})`);
        const seconds = parseNumberOption('--seconds', flags.seconds, 0.5, 3600);
        const r = await runBridgeBench({
          seconds,
          multiSeconds: flags.multiSeconds ? parseNumberOption('--multi-seconds', flags.multiSeconds, 0.5, 3600) : undefined,
          fuzzMessages: parseIntOption('--fuzz-messages', flags.fuzzMessages, 1),
          seed: parseIntOption('--seed', flags.seed),
          phases: phases as BenchPhase[] | undefined,
          log: (l) => process.stderr.write(`${l}\n`),
        });
        if (!flags.json) {
          const f = (x: unknown): string => JSON.stringify(x);
          const c = r.control_1khz as Record<string, unknown> | undefined;
          const m = r.robots_64 as Record<string, unknown> | undefined;
          const cam = r.camera as { control: Record<string, unknown>; fps: number[] } | undefined;
          const ros = r.rosbridge_camera as { control: Record<string, unknown>; fps: number[] } | undefined;
          const z = r.fuzz as Record<string, unknown> | undefined;
          const w = r.workspace as { max_excursion_mm: number; conditions: unknown[] } | undefined;
          const lines: string[] = [];
          if (c) lines.push(`1 kHz loop        p50 ${c.p50_ms} ms  p99 ${c.p99_ms} ms  max ${c.max_ms} ms  missed ${c.missed_deadlines}/${c.commands}  (target p99 ≤ 1 ms, 0 missed)`);
          if (m) lines.push(`64 robots 100 Hz  p50 ${m.p50_ms} ms  p99 ${m.p99_ms} ms  max ${m.max_ms} ms  (target p99 ≤ 5 ms)`);
          if (cam) lines.push(`camera + 1 kHz    control p99 ${cam.control.p99_ms} ms  viewer fps ${f(cam.fps)}  (target p99 ≤ 2 ms)`);
          if (ros) lines.push(`rosbridge-style   control p99 ${ros.control.p99_ms} ms  viewer fps ${f(ros.fps)}`);
          if (w) lines.push(`workspace sweep   ${w.conditions.length} conditions, largest excursion beyond the box ${w.max_excursion_mm} mm  (target 0 mm)`);
          if (z) lines.push(`fuzz              ${z.messages} messages: ${z.answered} answered, ${z.coveredByClose} closed with a reason, ${z.unanswered} unanswered; hub up: ${z.hubUp}; violations: ${z.violation_count}`);
          process.stdout.write(lines.join('\n') + '\n');
        }
        process.stdout.write(`${JSON.stringify(r)}\n`);
      });
  },
};
