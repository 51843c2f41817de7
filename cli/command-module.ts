/**
 * What every CLI command module exports: `register(program, bench)` adds its top-level command(s)
 * to `program` and its benchmarks (if any) as subcommands of `bench`. cli/commands.ts lists them.
 * Also the command groups several modules add to.
 */
import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command, bench: Command): void;
}

/** The `robot` command group, shared with other modules that add robots (`robot emulate`). */
export function robotGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'robot') ?? program.command('robot').description('Connect a robot to a bridge.');
}
