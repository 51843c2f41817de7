/**
 * Every CLI command module, in the order `simreal --help` lists them. A module exports
 * `register(program, bench)`: it adds its top-level command(s) to `program` and its benchmarks
 * (if any) as subcommands of `bench`.
 */
import type { Command } from 'commander';
import { benchPhysicsCommand } from './bench-physics.ts';
import { benchTrainCommand } from './bench-train.ts';
import { bridgeCommand } from './bridge.ts';
import { datasetCommand } from './dataset.ts';
import { evalCommand } from './eval.ts';
import { generateCommand } from './generate.ts';
import { policyRunCommand } from './policy-run.ts';
import { renderCommand } from './render.ts';
import { robotEmulateCommand } from './robot-emulate.ts';
import { robotTokenCommand } from './robot-credential.ts';
import { runCommand } from './run.ts';
import { trainCommand } from './train.ts';
import { viewCommand } from './view.ts';

export interface CommandModule {
  register(program: Command, bench: Command): void;
}

export const commands: CommandModule[] = [
  runCommand,
  generateCommand,
  datasetCommand,
  renderCommand,
  trainCommand,
  evalCommand,
  bridgeCommand,
  robotEmulateCommand,
  robotTokenCommand,
  policyRunCommand,
  viewCommand,
  benchPhysicsCommand,
  benchTrainCommand,
];
