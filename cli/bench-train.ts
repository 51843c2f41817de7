/**
 * `simreal bench train [--json] [--backends list] [--seconds n]`: training samples/s of the MLP
 * and the 64² CNN on every tfjs backend present (policy/bench-train.ts does the work).
 */
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { benchTrain, formatBenchTrain, parseBenchTrainArgs } from '../policy/bench-train.ts';

export const benchTrainCommand: CommandModule = {
  register(_program, bench) {
    bench
      .command('train')
      .description('Training samples/s of the MLP (40-256-256-4, batch 1024) and the 64x64 CNN on each tfjs backend present, with the CNN wasm/cpu ratio')
      .option('--json', 'print one JSON object on the last line')
      .option('--backends <list>', 'comma-separated backends to force (tfjs-node-gpu, tfjs-node, webgpu, wasm, cpu); default: every one that starts, webgpu only on a hardware adapter')
      .option('--seconds <n>', 'length of each timed run in seconds', '4')
      .action(async (o: { json?: boolean; backends?: string; seconds?: string }) => {
        let parsed;
        try {
          parsed = parseBenchTrainArgs(o);
        } catch (err) {
          throw new UserError((err as Error).message);
        }
        const result = await benchTrain({ ...parsed, log: (line) => process.stderr.write(line + '\n') });
        process.stdout.write(formatBenchTrain(result) + '\n');
        if (o.json) process.stdout.write(JSON.stringify(result) + '\n');
      });
  },
};
