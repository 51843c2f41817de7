/**
 * Runs the `dataset` command module as `simreal` would (before it is listed in cli/commands.ts):
 * `npx node tests/dataset/run-cli.ts dataset info <dir> --verify`. Exit code 2 on a UserError.
 */
import { Command } from 'commander';
import { datasetCommand } from '../../cli/dataset.ts';
import { UserError } from '../../cli/errors.ts';

export async function runDatasetCli(argv: string[]): Promise<void> {
  const program = new Command('simreal').exitOverride();
  const bench = new Command('bench').exitOverride();
  datasetCommand.register(program, bench);
  program.addCommand(bench);
  for (const c of program.commands) c.exitOverride();
  await program.parseAsync(argv, { from: 'user' });
}

if (import.meta.main) {
  try {
    await runDatasetCli(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    process.stderr.write(`simreal: ${err.message}\n`);
    process.exitCode = err.exitCode;
  }
}
