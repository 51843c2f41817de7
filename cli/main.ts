/**
 * The `simreal` command line: a thin dispatcher. Each command lives in its own module under cli/
 * and registers itself on the program (cli/commands.ts lists them); the work itself belongs to
 * sim/, policy/, bridge/, viewer/ and workflows/.
 */
import type { Command } from 'commander';
import { commands } from './commands.ts';
import { buildProgram as build, runProgram } from './program.ts';

export function buildProgram(): Command {
  return build(commands);
}

/** Runs the command line `argv` (after the program name); resolves to the exit code. */
export function main(argv: string[]): Promise<number> {
  return runProgram(argv, commands);
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
