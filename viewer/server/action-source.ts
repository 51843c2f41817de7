/**
 * What drives the simulated robot in `simreal view`: a `Driver` makes one `ActionSource` per
 * episode, after each reset. The scripted expert is built in; a trained policy plugs in through
 * `policyDriver`, given a loader that turns a model directory into a Driver. The viewer never
 * loads a model itself: cli/view.ts hands it the loader of workflows/viewer-policy.ts.
 */
import * as fs from 'node:fs';
import type { TabletopEnv } from '../../sim/env.ts';
import { EXPERTS } from '../../sim/experts/index.ts';

export interface ActionSource {
  /**
   * The next normalized action `[dx, dy, dz, dyaw, grip]`, given the observation the environment
   * returned last (policies read it; the expert reads the scene itself).
   */
  act(obs: Float32Array): ArrayLike<number>;
  /** What the source is doing now (the expert's stage), shown in the HUD. */
  readonly stage?: string;
}

export interface Driver {
  /** Shown in the page: `expert`, `policy:models/stack3-bc`. */
  readonly name: string;
  /** Called after every reset with the environment of the new episode; throws if it cannot drive it. */
  create(env: TabletopEnv): ActionSource;
  /** Frees what the driver holds (a model, a backend). */
  dispose?(): void;
}

/** The task's scripted expert (sim/experts). */
export function expertDriver(): Driver {
  return { name: 'expert', create: (env) => EXPERTS[env.scenario.task.id](env) };
}

/** Loads a model directory as a Driver. */
export type PolicyLoader = (modelDir: string) => Promise<Driver>;

export class DriverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriverError';
  }
}

/** A trained policy as the driver: checks the directory, then hands it to `load`. */
export async function policyDriver(modelDir: string, load: PolicyLoader): Promise<Driver> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(modelDir);
  } catch {
    throw new DriverError(`model directory ${modelDir} does not exist: train one first, or pass the directory a training run wrote`);
  }
  if (!stat.isDirectory()) throw new DriverError(`--policy expects a model directory, and ${modelDir} is a file`);
  return load(modelDir);
}
