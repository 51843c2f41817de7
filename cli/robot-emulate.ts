/**
 * `simreal robot emulate`: connect an emulated robot — a simulator with its own physics, look,
 * latency and noise, from a reality file — to a bridge.
 */
import type { Command } from 'commander';
import { RobotClient } from '../bridge/robot-client.ts';
import { EmulatedRobot } from '../bridge/robots/emulated/emulated.ts';
import { loadReality } from '../bridge/robots/emulated/reality.ts';
import { ACTION_FORMS } from '../bridge/protocol.ts';
import type { ActionForm } from '../bridge/protocol.ts';
import { ScenarioError } from '../sim/scenario.ts';
import { untilSignal } from './signals.ts';
import { robotGroup } from './command-module.ts';
import type { CommandModule } from './command-module.ts';
import { robotCredential, robotCredentialOptions } from './robot-credential.ts';
import type { RobotCredentialFlags } from './robot-credential.ts';
import { UserError } from './errors.ts';
import { parseNumberOption } from './options.ts';

interface EmulateFlags extends RobotCredentialFlags {
  bridge: string;
  reality: string;
  speed: string;
  form: string;
}

export const robotEmulateCommand: CommandModule = {
  register(program: Command) {
    robotCredentialOptions(robotGroup(program)
      .command('emulate'))
      .description('Connect an emulated robot: a simulator whose physics, latency and noise lie outside the training ranges (the reality gap on one machine).')
      .requiredOption('--bridge <url>', 'bridge URL, e.g. ws://localhost:8765')
      .option('--reality <file>', 'reality file', 'scenarios/reality/lab.json')
      .option('--id <robot>', 'robot id on the bridge', 'emu-1')
      .option('--speed <factor>', 'simulated time runs this many times faster than real time', '1')
      .option('--form <form>', `action form of an emulated SO-101, as \`robot so101 --form\`: ${ACTION_FORMS.join(' | ')}`, 'ee_delta_normalized')
      .action(async (flags: EmulateFlags) => {
        let reality;
        try {
          reality = loadReality(flags.reality);
        } catch (err) {
          if (err instanceof ScenarioError) throw new UserError(err.message);
          throw err;
        }
        if (!(ACTION_FORMS as readonly string[]).includes(flags.form)) throw new UserError(`--form must be one of ${ACTION_FORMS.join(', ')}`);
        if (flags.form !== 'ee_delta_normalized' && reality.scenario.robot !== 'so101') throw new UserError(`--form ${flags.form} is for an emulated SO-101; ${flags.reality} sets up the ${reality.scenario.robot}, which takes ee_delta_normalized actions`);
        const robot = new EmulatedRobot(reality, { speed: parseNumberOption('--speed', flags.speed, 0.01, 100), form: flags.form as ActionForm });
        const client = new RobotClient({ url: flags.bridge, token: robotCredential(flags), id: flags.id, robot, model: reality.scenario.robot === 'so101' ? `so101 (emulated:${reality.config.id})` : `emulated:${reality.config.id}` });
        await client.start();
        process.stdout.write(`emulated robot ${flags.id} (${reality.config.id}: ${reality.scenario.id}) connecting to ${flags.bridge}; Ctrl-C to stop\n`);
        await untilSignal();
        await client.stop();
        const r = robot.results;
        process.stdout.write(`${r.length} episodes finished, ${r.filter((e) => e.success).length} succeeded\n`);
      });
  },
};
