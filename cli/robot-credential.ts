/**
 * Robot credentials on the command line (bridge/hub/robot-credentials.ts says what they are):
 * - `simreal robot token --id ID [--out FILE]` prints or writes the credential of robot ID,
 *   derived from the hub's robot key (run it where the hub runs);
 * - the robot commands (`robot emulate`, `robot so101`) take `--robot-token-file FILE` (a
 *   credential written that way, for a robot on another machine) or derive their credential from
 *   `--robot-key-file` (default ~/.config/simreal/robot-key, which `simreal bridge` creates).
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandModule } from './command-module.ts';
import { robotGroup } from './command-module.ts';
import { UserError } from './errors.ts';
import { expandHome } from './bridge-access.ts';
import { loadOrCreateToken } from '../bridge/hub/token-file.ts';
import { robotToken, robotIdOf } from '../bridge/hub/robot-credentials.ts';
import { BridgeConfigError } from '../bridge/config.ts';

export const DEFAULT_ROBOT_KEY_FILE = '~/.config/simreal/robot-key';

export interface RobotCredentialFlags {
  id: string;
  robotTokenFile?: string;
  robotKeyFile: string;
  /** The old flag: the hub's main token, which robots no longer use. */
  tokenFile?: string;
}

/** Adds the credential flags to a robot command. */
export function robotCredentialOptions(cmd: Command): Command {
  return cmd
    .option('--robot-token-file <file>', 'this robot\'s own credential (written by `simreal robot token --id ID --out FILE` on the hub\'s machine)')
    .option('--robot-key-file <file>', 'derive the credential from the hub\'s robot key instead (on the hub\'s machine)', DEFAULT_ROBOT_KEY_FILE)
    .option('--token-file <file>', 'no longer used by robots (see --robot-token-file)');
}

function readSecret(file: string): string {
  try {
    return loadOrCreateToken(file).token;
  } catch (e) {
    if (e instanceof BridgeConfigError) throw new UserError(e.message);
    throw e;
  }
}

/** The credential robot `flags.id` connects with, or a UserError saying how to get one. */
export function robotCredential(flags: RobotCredentialFlags): string {
  if (flags.tokenFile !== undefined && flags.robotTokenFile === undefined) {
    throw new UserError(`--token-file is the bridge's main token, which does not make robots any more: a robot connects with its own credential, pinned to its id. On the hub's machine, drop --token-file (the robot then derives its credential from ${DEFAULT_ROBOT_KEY_FILE}); elsewhere, run \`simreal robot token --id ${flags.id} --out ${flags.id}.token\` on the hub's machine and pass --robot-token-file ${flags.id}.token`);
  }
  if (flags.robotTokenFile !== undefined) {
    const p = expandHome(flags.robotTokenFile);
    if (!fs.existsSync(p)) throw new UserError(`robot token file ${p} does not exist: write it on the hub's machine with \`simreal robot token --id ${flags.id} --out FILE\``);
    const token = readSecret(p);
    const id = robotIdOf(token);
    if (id === null) throw new UserError(`${p} does not hold a robot credential (r1.<id>.<mac>); write one with \`simreal robot token --id ${flags.id} --out FILE\``);
    if (id !== flags.id) throw new UserError(`${p} holds the credential of robot ${id}, not ${flags.id}: pass --id ${id}, or write one for ${flags.id}`);
    return token;
  }
  const keyFile = expandHome(flags.robotKeyFile);
  if (!fs.existsSync(keyFile)) {
    throw new UserError(`the robot key ${keyFile} does not exist: start the bridge on this machine once (it creates it, beside its token file: its first lines say where; pass that file with --robot-key-file), or get this robot's credential from the hub's machine (\`simreal robot token --id ${flags.id} --out FILE\`) and pass --robot-token-file FILE`);
  }
  return robotToken(readSecret(keyFile), flags.id);
}

/** The hub's robot key file: given, or beside its main token file. */
export function robotKeyFileFor(tokenFile: string, robotKeyFile: string | undefined): string {
  return expandHome(robotKeyFile ?? path.join(path.dirname(expandHome(tokenFile)), 'robot-key'));
}

export const robotTokenCommand: CommandModule = {
  register(program: Command) {
    robotGroup(program)
      .command('token')
      .description('Print (or write) the credential a robot connects to the bridge with, derived from the hub\'s robot key. Run it on the hub\'s machine.')
      .requiredOption('--id <id>', 'robot id the credential is for')
      .option('--robot-key-file <file>', 'the hub\'s robot key', DEFAULT_ROBOT_KEY_FILE)
      .option('--out <file>', 'write it to this file (mode 0600) instead of printing it')
      .action((flags: { id: string; robotKeyFile: string; out?: string }) => {
        const keyFile = expandHome(flags.robotKeyFile);
        if (!fs.existsSync(keyFile)) throw new UserError(`the robot key ${keyFile} does not exist: start the bridge once (it creates it), or pass --robot-key-file`);
        let token: string;
        try {
          token = robotToken(readSecret(keyFile), flags.id);
        } catch (e) {
          throw new UserError((e as Error).message);
        }
        if (!flags.out) {
          process.stdout.write(`${token}\n`);
          return;
        }
        const out = expandHome(flags.out);
        try {
          fs.writeFileSync(out, `${token}\n`, { mode: 0o600, flag: 'wx' });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new UserError(`${out} exists; remove it first`);
          throw new UserError(`cannot write ${out}: ${(e as Error).message}`);
        }
        process.stdout.write(`credential of robot ${flags.id} written to ${out}; on the robot: --robot-token-file ${out}\n`);
      });
  },
};
