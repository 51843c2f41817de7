/**
 * Bad input gets a clear error naming both sides: a dataset without the features a model needs,
 * a model evaluated on a scenario of another size, a missing or incomplete model folder; and the
 * CLI turns them into UserError (exit code 2). The LeRobot and JSON-lines loaders are exercised
 * on real folders written by the generation sinks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../cli/errors.ts';
import { evalCommand } from '../../cli/eval.ts';
import { trainCommand } from '../../cli/train.ts';
import type { EpisodeRecord } from '../../sim/episode.ts';
import { openLeRobotSink } from '../../sim/dataset/lerobot-sink.ts';
import { JsonlSink } from '../../sim/generate/jsonl-sink.ts';
import type { GenerationMeta } from '../../sim/generate/sink.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { loadFrames } from '../../policy/data/load.ts';
import { PolicyInputError } from '../../policy/errors.ts';
import { evaluate } from '../../policy/eval/evaluate.ts';
import { trainBc } from '../../policy/train/bc.ts';
import type { BackendChoice } from '../../policy/backend.ts';
import { ROOT, expertEpisodes, scenario, tempDir, wasmBackend } from './helpers.ts';

let choice: BackendChoice;
let stack2: Scenario;
let records: EpisodeRecord[];
let lerobot: string, jsonl: string, model: string;

function meta(s: Scenario, n: number): GenerationMeta {
  return { scenario: s, randomization: 'train', baseSeed: 1, dartNoise: 0, firstIndex: 0, episodes: n };
}

beforeAll(async () => {
  choice = await wasmBackend();
  stack2 = scenario('stack-2');
  records = expertEpisodes(stack2, 4);
  lerobot = tempDir();
  const sink = await openLeRobotSink(lerobot, meta(stack2, 4), false);
  for (const r of records) await sink.write(r);
  await sink.close();
  jsonl = tempDir();
  const j = new JsonlSink(jsonl, meta(stack2, 4), false);
  for (const r of records) await j.write(r);
  await j.close();
  model = tempDir();
  await trainBc({ datasets: [lerobot], out: model, choice, epochs: 1, hidden: [16], selectEpisodes: 0 });
});

describe('datasets', () => {
  it('loads a LeRobot dataset and a JSON-lines dataset into the same frames', async () => {
    const a = await loadFrames(lerobot, { purpose: 'the state policy', poses: true });
    const b = await loadFrames(jsonl, { purpose: 'the state policy' });
    const frames = records.reduce((n, r) => n + r.length, 0);
    expect(a.frames).toBe(frames);
    expect(b.frames).toBe(frames);
    expect(Array.from(a.state)).toEqual(Array.from(b.state));
    expect(Array.from(a.action)).toEqual(Array.from(b.action));
    expect(a.stateNames).toEqual(b.stateNames);
    expect(a.episodes.map((e) => e.seed)).toEqual(records.map((r) => r.seed));
    expect(a.blockCount).toBe(2);
    expect(Array.from(a.blockPoses!.subarray(0, 7))).toEqual(Array.from(records[0].blockPoses.subarray(0, 7)));
    expect(a.source.scenario?.id).toBe('stack-2');
  });

  it('names the missing feature, the dataset and how to get it', async () => {
    const forPose = { purpose: 'the pose estimator', camera: 'front', poses: true };
    await expect(loadFrames(lerobot, forPose)).rejects.toThrow(
      new RegExp(`dataset ${lerobot} has no observation.images.front, which the pose estimator needs \\(it holds observation.state, action.*--render 64 --cameras front`),
    );
    await expect(loadFrames(jsonl, { ...forPose, camera: undefined })).rejects.toThrow(/has no sim.block_poses, which the pose estimator needs/);
    await expect(trainBc({ datasets: [path.join(lerobot, 'nope')], out: tempDir(), choice })).rejects.toThrow(/does not exist; make one with `simreal generate/);
    await expect(trainBc({ datasets: [ROOT], out: tempDir(), choice })).rejects.toThrow(/is not a dataset/);
  });

  it('refuses a dataset from another scenario than the one given', async () => {
    await expect(trainBc({ datasets: [lerobot], out: tempDir(), choice, scenario: scenario('stack-3') })).rejects.toThrow(
      /observes 33 features but scenario stack-3 observes 45/,
    );
  });
});

describe('models', () => {
  it('names both sides when a model does not fit the scenario', async () => {
    const err = await evaluate({ modelDir: model, scenario: scenario('stack-3'), scenarioLabel: 'scenarios/stack-3.json', episodes: 2, randomization: 'train', choice }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyInputError);
    expect((err as Error).message).toMatch(/reads 33 observation features \(trained on scenario stack-2: tcp\.x.*but scenarios\/stack-3\.json \(stack-3\) gives 45/);
  });

  it('says which model file is missing', async () => {
    await expect(evaluate({ modelDir: path.join(model, 'absent'), scenario: stack2, episodes: 1, randomization: 'train', choice })).rejects.toThrow(/does not exist; train one/);
    const partial = tempDir();
    fs.copyFileSync(path.join(model, 'model-card.json'), path.join(partial, 'model-card.json'));
    await expect(evaluate({ modelDir: partial, scenario: stack2, episodes: 1, randomization: 'train', choice })).rejects.toThrow(/model\.json is missing/);
    fs.copyFileSync(path.join(model, 'model.json'), path.join(partial, 'model.json'));
    await expect(evaluate({ modelDir: partial, scenario: stack2, episodes: 1, randomization: 'train', choice })).rejects.toThrow(/weights\.bin is missing/);
    const noCard = tempDir();
    fs.copyFileSync(path.join(model, 'model.json'), path.join(noCard, 'model.json'));
    await expect(evaluate({ modelDir: noCard, scenario: stack2, episodes: 1, randomization: 'train', choice })).rejects.toThrow(/model-card\.json is missing/);
  });
});

describe('CLI', () => {
  function program(): Command {
    const p = new Command('simreal').exitOverride();
    const bench = new Command('bench');
    trainCommand.register(p, bench);
    evalCommand.register(p, bench);
    return p;
  }

  it('turns bad input into UserError with exit code 2', async () => {
    const stack3 = path.join(ROOT, 'scenarios', 'stack-3.json');
    const e1 = await program().parseAsync(['eval', model, stack3, '--episodes', '2', '--workers', '0', '--no-progress'], { from: 'user' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(UserError);
    expect((e1 as UserError).exitCode).toBe(2);
    expect((e1 as Error).message).toContain(stack3);
    const e2 = await program().parseAsync(['train', 'pose', lerobot, '--out', tempDir(), '--no-progress'], { from: 'user' }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(UserError);
    expect((e2 as Error).message).toContain('observation.images.front');
    const e3 = await program().parseAsync(['train', 'bc', lerobot, '--out', tempDir(), '--hidden', '12,x'], { from: 'user' }).catch((e: unknown) => e);
    expect((e3 as Error).message).toMatch(/--hidden expects layer sizes/);
  });
});
