/**
 * Every CLI command module (a `CommandModule`, see command-module.ts), in the order
 * `simreal --help` lists them.
 */
import { benchPhysicsCommand } from './bench-physics.ts';
import { benchTrainCommand } from './bench-train.ts';
import { bridgeCommand } from './bridge.ts';
import { cameraCommand } from './camera.ts';
import { datasetCommand } from './dataset.ts';
import { evalCommand } from './eval.ts';
import { exportCommandModule } from './export.ts';
import { generateCommand } from './generate.ts';
import { policyRunCommand } from './policy-run.ts';
import { recordingCommand } from './recording.ts';
import { renderCommand } from './render.ts';
import { robotEmulateCommand } from './robot-emulate.ts';
import { robotTokenCommand } from './robot-credential.ts';
import { runCommand } from './run.ts';
import { trainCommand } from './train.ts';
import { viewCommand } from './view.ts';
import type { CommandModule } from './command-module.ts';

export const commands: CommandModule[] = [
  runCommand,
  generateCommand,
  datasetCommand,
  renderCommand,
  trainCommand,
  evalCommand,
  exportCommandModule,
  bridgeCommand,
  recordingCommand,
  robotEmulateCommand,
  robotTokenCommand,
  policyRunCommand,
  viewCommand,
  cameraCommand,
  benchPhysicsCommand,
  benchTrainCommand,
];
