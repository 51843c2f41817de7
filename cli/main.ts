/**
 * The `simreal` command line: a thin dispatcher. Each command lives in its own module under cli/
 * and registers itself on the program; the work itself belongs to sim/, policy/, bridge/, viewer/
 * and workflows/.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands.ts';
import { UserError } from './errors.ts';

export function buildProgram(): Command {
  const program = new Command('simreal')
    .description('Sim-to-real robot learning: randomized simulation, datasets, policies, a robot bridge and a viewer.')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false });
  const bench = new Command('bench').description('Benchmarks; each prints one JSON object on its last line with --json.');
  for (const c of commands) c.register(program, bench);
  program.addCommand(bench);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof UserError) {
      process.stderr.write(`simreal: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
