/**
 * What every CLI command module exports: `register(program, bench)` adds its top-level command(s)
 * to `program` and its benchmarks (if any) as subcommands of `bench`. cli/commands.ts lists them.
 */
import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command, bench: Command): void;
}
