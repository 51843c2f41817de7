/**
 * `simreal robot emulate`: connect an emulated robot — a simulator with its own physics, look,
 * latency and noise, from a reality file — to a bridge. With a WebGPU adapter and a reality that
 * has a camera, the robot publishes that camera too (bridge/robots/emulated/camera.ts).
 * `--write-calibration` writes the reality camera's calibration file instead.
 */
import type { Command } from 'commander';
import { RobotClient } from '../bridge/robot-client.ts';
import { OBSERVATIONS_PER_STEP_WITH_CAMERA, openEmulatedCamera, writeRealityCalibration } from '../bridge/robots/emulated/camera.ts';
import type { EmulatedCamera } from '../bridge/robots/emulated/camera.ts';
import { EmulatedRobot } from '../bridge/robots/emulated/emulated.ts';
import { loadReality } from '../bridge/robots/emulated/reality.ts';
import { ACTION_FORMS } from '../bridge/protocol.ts';
import type { ActionForm } from '../bridge/protocol.ts';
import type { Reality } from '../bridge/robots/emulated/reality.ts';
import { CameraFileError } from '../sim/camera/camera-file.ts';
import { ScenarioError } from '../sim/scenario.ts';
import { untilSignal } from './signals.ts';
import { robotGroup } from './command-module.ts';
import type { CommandModule } from './command-module.ts';
import { robotCredential, robotCredentialOptions } from './robot-credential.ts';
import type { RobotCredentialFlags } from './robot-credential.ts';
import { UserError } from './errors.ts';
import { parseNumberOption } from './options.ts';

interface EmulateFlags extends RobotCredentialFlags {
  bridge?: string;
  reality: string;
  speed: string;
  form: string;
  camera: boolean;
  writeCalibration?: boolean;
}

async function openCamera(reality: Reality, controlHz: number): Promise<EmulatedCamera | null> {
  try {
    return await openEmulatedCamera(reality, controlHz, (line) => process.stderr.write(`${line}\n`));
  } catch (err) {
    if (err instanceof CameraFileError || err instanceof RangeError) throw new UserError((err as Error).message);
    throw err;
  }
}

export const robotEmulateCommand: CommandModule = {
  register(program: Command) {
    robotCredentialOptions(robotGroup(program)
      .command('emulate'))
      .description('Connect an emulated robot: a simulator whose physics, look, latency and noise lie outside the training ranges (the reality gap on one machine), with its camera where the reality has one.')
      .option('--bridge <url>', 'bridge URL, e.g. ws://localhost:8765')
      .option('--reality <file>', 'reality file', 'scenarios/reality/lab.json')
      .option('--id <robot>', 'robot id on the bridge', 'emu-1')
      .option('--speed <factor>', 'simulated time runs this many times faster than real time', '1')
      .option('--form <form>', `action form of an emulated SO-101, as \`robot so101 --form\`: ${ACTION_FORMS.join(' | ')}`, 'ee_delta_normalized')
      .option('--no-camera', "leave the reality's camera out")
      .option('--write-calibration', "write the reality camera's calibration file (the truth with the reality's calibrationError) and exit")
      .action(async (flags: EmulateFlags) => {
        let reality;
        try {
          reality = loadReality(flags.reality);
        } catch (err) {
          if (err instanceof ScenarioError) throw new UserError(err.message);
          throw err;
        }
        if (flags.writeCalibration) {
          if (!reality.config.camera) throw new UserError(`${flags.reality} has no camera block, so there is no calibration to write`);
          const path = await writeRealityCalibration(reality);
          process.stdout.write(`wrote ${path}\n`);
          return;
        }
        if (!flags.bridge) throw new UserError('robot emulate needs --bridge <url> (e.g. ws://localhost:8765)', 1);
        const speed = parseNumberOption('--speed', flags.speed, 0.01, 100);
        const controlHz = reality.scenario.control.rateHz * speed;
        const camera = flags.camera && reality.config.camera ? await openCamera(reality, controlHz) : null;
        if (!(ACTION_FORMS as readonly string[]).includes(flags.form)) throw new UserError(`--form must be one of ${ACTION_FORMS.join(', ')}`);
        if (flags.form !== 'ee_delta_normalized' && reality.scenario.robot !== 'so101') throw new UserError(`--form ${flags.form} is for an emulated SO-101; ${flags.reality} sets up the ${reality.scenario.robot}, which takes ee_delta_normalized actions`);
        const robot = new EmulatedRobot(reality, { speed, form: flags.form as ActionForm, ...(camera ? { camera } : {}) });
        const client = new RobotClient({
          url: flags.bridge, token: robotCredential(flags), id: flags.id, robot, model: reality.scenario.robot === 'so101' ? `so101 (emulated:${reality.config.id})` : `emulated:${reality.config.id}`,
          ...(camera ? { observationHz: controlHz * OBSERVATIONS_PER_STEP_WITH_CAMERA } : {}),
        });
        camera?.onFrame((rgb, t) => client.sendFrame(camera.key, rgb, t));
        await client.start();
        process.stdout.write(`emulated robot ${flags.id} (${reality.config.id}: ${reality.scenario.id}${camera ? `, ${camera.key} ${camera.calibration.width}x${camera.calibration.height} at ${camera.spec.hz} fps` : ''}) connecting to ${flags.bridge}; Ctrl-C to stop\n`);
        await untilSignal();
        await client.stop();
        await camera?.close();
        const r = robot.results;
        process.stdout.write(`${r.length} episodes finished, ${r.filter((e) => e.success).length} succeeded${camera ? `; camera: ${camera.stats.rendered} frames (${camera.stats.skipped} skipped while one was drawing; ${camera.stats.meanRenderMs.toFixed(1)} ms each, at most ${camera.stats.maxRenderMs.toFixed(0)} ms; ${camera.stats.looks} looks, ${(camera.stats.lookMs + camera.stats.warmUpMs).toFixed(0)} ms to prepare them)` : ''}\n`);
      });
  },
};
