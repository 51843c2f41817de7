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
import { generateCommand } from './generate.ts';
import { policyRunCommand } from './policy-run.ts';
import { robotEmulateCommand } from './robot-emulate.ts';

export interface CommandModule {
  register(program: Command, bench: Command): void;
}

export const commands: CommandModule[] = [generateCommand, datasetCommand, bridgeCommand, robotEmulateCommand, policyRunCommand, benchPhysicsCommand, benchTrainCommand];
