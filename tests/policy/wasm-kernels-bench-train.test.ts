/**
 * `bench train` in miniature: the conv net trains on wasm through the bench (no timing asserted),
 * the result has the documented shape, and bad flags are refused with clear messages.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { benchTrainCommand } from '../../cli/bench-train.ts';
import { UserError } from '../../cli/errors.ts';
import { benchTrain, formatBenchTrain, parseBenchTrainArgs } from '../../policy/bench-train.ts';

describe('benchTrain', () => {
  it('measures the CNN on wasm and the MLP on cpu, and reports what it skipped', async () => {
    const lines: string[] = [];
    const r = await benchTrain({ backends: ['wasm', 'tfjs-node-gpu'], nets: ['cnn'], seconds: 0.05, log: (l) => lines.push(l) });
    expect(r.bench).toBe('train');
    expect(r.rows).toHaveLength(1);
    const row = r.rows[0];
    expect(row).toMatchObject({ net: 'cnn', backend: 'wasm', batch: 64, warmupSteps: 3 });
    expect(row.steps).toBeGreaterThanOrEqual(3);
    expect(row.samplesPerSec).toBeGreaterThan(0);
    expect(Number.isFinite(row.lossFirst) && Number.isFinite(row.lossLast)).toBe(true);
    expect(r.cnnWasmOverCpu).toBeNull();
    expect(r.skipped.map((s) => s.backend)).toEqual(r.skipped.length ? ['tfjs-node-gpu'] : []);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    const table = formatBenchTrain(r);
    expect(table.split('\n')[0]).toMatch(/^net\s+backend\s+batch\s+steps\s+ms\/step\s+samples\/s\s+device$/);
    expect(lines.some((l) => l.startsWith('cnn on wasm: '))).toBe(true);

    const mlp = await benchTrain({ backends: ['cpu'], nets: ['mlp'], seconds: 0.05 });
    expect(mlp.rows[0]).toMatchObject({ net: 'mlp', backend: 'cpu', batch: 1024 });
  });

  it('parses and checks its flags', () => {
    expect(parseBenchTrainArgs({ backends: 'wasm, cpu', seconds: '2.5' })).toEqual({ backends: ['wasm', 'cpu'], seconds: 2.5 });
    expect(() => parseBenchTrainArgs({ backends: 'wasm,cuda' })).toThrow("--backends: unknown backend 'cuda'; choose from tfjs-node-gpu, tfjs-node, webgpu, wasm, cpu");
    expect(() => parseBenchTrainArgs({ seconds: 'soon' })).toThrow("--seconds: expected a number of seconds in (0, 600], got 'soon'");
  });

  it('turns bad flags into a UserError in the CLI', async () => {
    const program = new Command('simreal').exitOverride();
    const bench = new Command('bench').exitOverride();
    benchTrainCommand.register(program, bench);
    program.addCommand(bench);
    await expect(program.parseAsync(['bench', 'train', '--backends', 'tpu'], { from: 'user' })).rejects.toBeInstanceOf(UserError);
  });
});
