/**
 * `simreal render preview <scenario>`: a contact sheet of randomized frames (PNG).
 * `simreal bench render`: rendering frames/s at several sizes, RGB and RGB + depth + segmentation.
 * The work lives in sim/render; a machine without a WebGPU adapter gets the message that says
 * what to install (exit code 3).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { NoGpuAdapterError } from '../sim/gpu/dawn.ts';
import type { BenchMode } from '../sim/render/bench.ts';
import { CAMERA_NAMES, isCameraName } from '../sim/render/cameras.ts';
import type { CameraName } from '../sim/render/cameras.ts';
import type { PreviewChannel } from '../sim/render/preview.ts';
import type { RandomizationMode } from '../sim/randomization.ts';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { loadScenarioOrExit, parseIntOption, parseNumberOption } from './options.ts';

const CHANNELS: PreviewChannel[] = ['rgb', 'depth', 'segmentation'];

function list<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UserError(`${flag} needs at least one of ${allowed.join(', ')}`);
  for (const i of items) {
    if (!(allowed as readonly string[]).includes(i)) throw new UserError(`${flag}: "${i}" is not one of ${allowed.join(', ')}`);
  }
  return items as T[];
}

/** Runs `fn`, turning a missing GPU adapter into a clear message (exit code 3). */
async function withGpu<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NoGpuAdapterError) throw new UserError(err.message, 3);
    throw err;
  }
}

interface PreviewFlags {
  seed: string;
  n: string;
  out: string;
  size: string;
  cameras: string;
  channels: string;
  randomization: RandomizationMode;
  steps: string;
}

interface BenchFlags {
  json?: boolean;
  sizes: string;
  modes: string;
  seconds: string;
  tiles: string;
  inFlight: string;
  processes: string;
  envs?: string;
  lookEvery: string;
}

export const renderCommand: CommandModule = {
  register(program: Command, bench: Command) {
    const render = program.command('render').description('Headless rendering (three.js WebGPURenderer on Dawn): previews of randomized frames.');
    render
      .command('preview')
      .description('Write a contact sheet of N randomized frames (episodes seed, seed+1, …, each mid-task under its scripted expert).')
      .argument('<scenario>', 'scenario file, e.g. scenarios/stack-3.json')
      .option('--seed <int>', 'seed of the first frame', '0')
      .option('-n, --n <count>', 'number of frames', '16')
      .option('-o, --out <file>', 'PNG file to write', 'montage.png')
      .option('--size <px>', 'edge of each view in pixels', '128')
      .option('--cameras <names>', `cameras side by side in each cell (${CAMERA_NAMES.join(', ')})`, 'front')
      .option('--channels <list>', `what to show per camera (${CHANNELS.join(', ')})`, 'rgb')
      .addOption(new Option('--randomization <mode>', 'visual ranges: training, held-out, or the nominal look').choices(['train', 'heldout', 'none']).default('train'))
      .option('--steps <n>', 'expert steps run before a frame cycle through 0..n', '60')
      .action(async (scenarioPath: string, f: PreviewFlags) => {
        const scenario = loadScenarioOrExit(scenarioPath);
        const seed = parseIntOption('--seed', f.seed, 0, 0xffffffff);
        const n = parseIntOption('--n', f.n, 1, 256);
        const size = parseIntOption('--size', f.size, 16, 1024);
        const steps = parseIntOption('--steps', f.steps, 0, 100_000);
        const cameras = list<CameraName>('--cameras', f.cameras, CAMERA_NAMES).filter(isCameraName);
        const channels = list('--channels', f.channels, CHANNELS);
        const { renderPreview } = await import('../sim/render/preview.ts');
        const p = await withGpu(() => renderPreview({ scenario, seed, n, size, cameras, channels, randomization: f.randomization, maxSteps: steps }));
        const out = resolve(f.out);
        writeFileSync(out, p.png);
        process.stdout.write(`wrote ${out} (${p.width}x${p.height}, ${n} frames, seeds ${p.seeds[0]}..${p.seeds[p.seeds.length - 1]}, ${p.adapter})\n`);
      });

    bench
      .command('render')
      .description('Rendering frames/s (64², 128², 256²; RGB and RGB+depth+segmentation) on the WebGPU adapter Dawn finds.')
      .option('--json', 'print one JSON object on the last line')
      .option('--sizes <list>', 'view sizes in pixels', '64,128,256')
      .option('--modes <list>', 'rgb and/or rgbds (RGB + depth + segmentation)', 'rgb,rgbds')
      .option('--seconds <s>', 'timed seconds per size and mode', '3')
      .option('--tiles <n>', 'views per tiled render target (one readback each)', '1')
      .option('--in-flight <n>', 'batches in flight per process', '8')
      .option('--processes <n>', 'rendering processes (their rates add up)', String(Math.min(availableParallelism(), 16)))
      .option('--envs <n>', 'environments drawn round-robin (default: min(tiles, 16))')
      .option('--look-every <n>', 'frames per randomized look (an episode)', '100')
      .action(async (f: BenchFlags) => {
        const sizes = f.sizes.split(',').map((s) => parseIntOption('--sizes', s, 8, 4096));
        const modes = list<BenchMode>('--modes', f.modes, ['rgb', 'rgbds']);
        const { benchRender } = await import('../sim/render/bench.ts');
        const r = await withGpu(() => benchRender({
          sizes,
          modes,
          seconds: parseNumberOption('--seconds', f.seconds, 0.1, 600),
          tiles: parseIntOption('--tiles', f.tiles, 1, 1024),
          inFlight: parseIntOption('--in-flight', f.inFlight, 1, 64),
          processes: parseIntOption('--processes', f.processes, 1, 256),
          envs: f.envs === undefined ? undefined : parseIntOption('--envs', f.envs, 1, 1024),
          lookEvery: parseIntOption('--look-every', f.lookEvery, 1),
          log: (l) => process.stderr.write(`${l}\n`),
        }));
        if (!f.json) {
          for (const [k, v] of Object.entries(r.fps)) process.stdout.write(`${k.padEnd(12)} ${v} frames/s\n`);
        }
        process.stdout.write(`${JSON.stringify(r)}\n`);
      });
  },
};
