/**
 * A `simreal` command line made of the given command modules: the program, and running it with
 * simreal's exit codes and one-line failures (cli/main.ts runs every command; cli/pose-main.ts a
 * few, for a bundle).
 */
import { Command, CommanderError } from 'commander';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { classifyFailure } from './failures.ts';

/** The program with `modules` registered, in the order `--help` lists them. */
export function buildProgram(modules: readonly CommandModule[]): Command {
  const program = new Command('simreal')
    .description('Sim-to-real robot learning: randomized simulation, datasets, policies, a robot bridge and a viewer.')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false });
  const bench = new Command('bench').description('Benchmarks; each prints one JSON object on its last line with --json.');
  for (const c of modules) c.register(program, bench);
  program.addCommand(bench);
  return program;
}

/** Runs the command line `argv` (after the program name); resolves to the exit code. */
export async function runProgram(argv: string[], modules: readonly CommandModule[]): Promise<number> {
  const program = buildProgram(modules).exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof UserError) {
      process.stderr.write(`simreal: ${err.message}\n`);
      return err.exitCode;
    }
    const known = classifyFailure(err);
    if (known) {
      process.stderr.write(`simreal: ${known.message}\n`);
      return known.exitCode;
    }
    throw err;
  }
}
