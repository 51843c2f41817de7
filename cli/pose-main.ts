/**
 * The pose estimator's commands alone (`train pose`, `eval`), as an entry a single-file bundle can
 * be made from for a GPU machine (shared/gpu/pack bundles it with the render worker beside it):
 *
 *   ../shared/gpu/pack .gpu cli/pose-main.ts policy/perception/frame-worker.ts
 *   bash .gpu/run pose-main.mjs train pose scenarios/stack-2.json --out models/s2-pose --backend webgpu --render-workers 8
 *   bash .gpu/run pose-main.mjs eval models/s2-pose scenarios/stack-2.json --frames 500 --looks heldout --backend webgpu
 *
 * Arguments are those of `simreal`; the full command line (bin/simreal.js) has the same commands.
 */
import { evalCommand } from './eval.ts';
import { runProgram } from './program.ts';
import { trainCommand } from './train.ts';

if (import.meta.main) process.exitCode = await runProgram(process.argv.slice(2), [trainCommand, evalCommand]);
