/**
 * `simreal export onnx <model-dir> --out <file.onnx>`: a trained policy or pose estimator as an
 * ONNX model (policy/export/ does the work), for onnxruntime in ROS 2 nodes, Python or a browser.
 * `--check` runs the tfjs model and the ONNX file (onnxruntime-node) on the same random inputs and
 * prints the largest difference.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { selectBackend } from '../policy/backend.ts';
import { PolicyInputError } from '../policy/errors.ts';
import { loadLayersModel } from '../policy/model-io.ts';
import { MODEL_CARD, readModelCard } from '../policy/model-card.ts';
import type { ModelCard } from '../policy/model-card.ts';
import { OnnxExportError, ONNX_OPSET, exportOnnx } from '../policy/export/onnx.ts';
import { checkOnnxExport, OnnxRuntimeMissingError } from '../policy/export/onnx-check.ts';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { parseIntOption } from './options.ts';

interface ExportFlags {
  out: string;
  overwrite?: boolean;
  check?: boolean;
  samples: string;
}

/** Doc strings for the ONNX inputs and outputs, from the model card. */
function docsFromCard(card: ModelCard): Record<string, string> {
  const docs: Record<string, string> = {};
  const { state, image } = card.inputs;
  if (image) docs.image = `RGB image from camera ${image.camera}, [batch, ${image.height}, ${image.width}, 3], pixel values 0..255 as float32 (channels last, as rendered)`;
  if (state) {
    const name = card.kind === 'visuomotor' ? 'gripper_state' : 'observation_state';
    docs[name] = `raw ${state.key} (normalized inside the model): ${state.names.join(', ')}`;
  }
  const outName = card.kind === 'pose' ? 'positions' : 'action';
  docs[outName] = `${card.outputs.key}: ${card.outputs.names.join(', ')}${card.kind === 'pose' ? ' (metres, table frame)' : ' (normalized action; clip to [-1, 1])'}`;
  return docs;
}

async function exportCommand(dir: string, flags: ExportFlags): Promise<void> {
  const out = flags.out;
  const samples = parseIntOption('--samples', flags.samples, 1, 1_000_000);
  if (!fs.existsSync(dir)) throw new UserError(`model folder ${dir} does not exist; train one with \`simreal train … --out ${dir}\``);
  if (!out.endsWith('.onnx')) throw new UserError(`--out must name a .onnx file, got "${out}"`);
  if (fs.existsSync(out) && !flags.overwrite) throw new UserError(`${out} exists; choose another --out or add --overwrite`);
  const outDir = path.dirname(path.resolve(out));
  if (!fs.existsSync(outDir)) throw new UserError(`folder ${outDir} (of --out) does not exist`);
  let card: ModelCard | null = null;
  if (fs.existsSync(path.join(dir, MODEL_CARD))) card = readModelCard(dir);
  const { tf } = await selectBackend({ backend: 'cpu' });
  const model = await loadLayersModel(tf, dir);
  const exported = exportOnnx(model, {
    description: card ? `simreal ${card.kind} model trained on ${card.dataset.path} (${card.scenario.id}); git ${card.gitCommit ?? 'unknown'}` : `simreal model ${model.name}`,
    metadata: card ? { 'simreal.model_card': JSON.stringify(card) } : {},
    docs: card ? docsFromCard(card) : {},
  });
  if (flags.check) {
    const normalization: Record<string, { mean: number[]; std: number[] }> = {};
    if (card?.normalization) normalization[card.kind === 'visuomotor' ? 'gripper_state' : 'observation_state'] = card.normalization;
    const c = await checkOnnxExport(tf, model, exported, { samples, normalization });
    process.stdout.write(`check: tfjs and ${c.onnxruntime} on ${c.samples} random inputs: max abs difference ${c.maxAbsDiff.toExponential(2)} (outputs up to ${c.maxAbsOutput.toPrecision(3)})\n`);
    if (!(c.maxAbsDiff <= 1e-4 * Math.max(1, c.maxAbsOutput))) throw new UserError(`the ONNX model disagrees with the tfjs model by ${c.maxAbsDiff} (more than 1e-4 of the output scale); nothing written`);
  }
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, exported.bytes);
  fs.renameSync(tmp, out);
  const shape = (s: Array<number | null>): string => `[${s.map((d) => d ?? 'batch').join(', ')}]`;
  const ops = Object.entries(exported.ops).map(([op, n]) => `${op}×${n}`).join(' ');
  process.stdout.write(
    `wrote ${out} (ONNX opset ${ONNX_OPSET}, ${(exported.bytes.byteLength / 1024).toFixed(0)} KiB)\n` +
    `  inputs:  ${exported.inputs.map((i) => `${i.name} ${shape(i.shape)}`).join(', ')}\n` +
    `  outputs: ${exported.outputs.map((o) => `${o.name} ${shape(o.shape)}`).join(', ')}\n` +
    `  nodes:   ${ops}\n`,
  );
}

export const exportCommandModule: CommandModule = {
  register(program: Command) {
    const group = program.command('export').description('Export trained models to other formats.');
    group
      .command('onnx')
      .description('Write a trained model (BC MLP, pose estimator, visuomotor) as an ONNX file, normalization included, for onnxruntime anywhere.')
      .argument('<model-dir>', 'a folder written by `simreal train` (model.json, weights.bin, model-card.json)')
      .requiredOption('--out <file.onnx>', 'the ONNX file to write')
      .option('--overwrite', 'replace --out if it exists')
      .option('--check', 'compare against the tfjs model on random inputs with onnxruntime-node before writing')
      .option('--samples <n>', 'random inputs for --check', '1000')
      .action(async (dir: string, flags: ExportFlags) => {
        try {
          await exportCommand(dir, flags);
        } catch (e) {
          if (e instanceof PolicyInputError || e instanceof OnnxExportError || e instanceof OnnxRuntimeMissingError) throw new UserError(e.message);
          throw e;
        }
      });
  },
};
