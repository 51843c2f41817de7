/**
 * A trained state policy (`simreal train bc`: observation vector → action) as the viewer's
 * driver, so `simreal view scenario --policy models/…` shows what the policy does. The viewer
 * knows only drivers: cli/view.ts hands it this loader. The model is loaded with the policy
 * package's state-policy loader; each control step runs one predict on the episode's (noisy)
 * observation and adds the card's execution noise, as evaluation does. Image policies (pose, visuomotor) need rendered frames and are
 * refused with a clear message.
 */
import type { BackendName } from '../policy/backend.ts';
import { PolicyInputError } from '../policy/errors.ts';
import { loadStatePolicy } from '../policy/state-policy.ts';
import { ExecutionNoise, executionNoiseOf } from '../policy/execution-noise.ts';
import type { TabletopEnv } from '../sim/env.ts';
import { DriverError } from '../viewer/server/action-source.ts';
import type { ActionSource, Driver } from '../viewer/server/action-source.ts';

export interface PolicyDriverOptions {
  /** tfjs backend (default: the first of tfjs-node, wasm, cpu that works; one-sample inference gains nothing from a GPU). */
  backend?: BackendName;
  log?: (line: string) => void;
}

export async function loadPolicyDriver(modelDir: string, options: PolicyDriverOptions = {}): Promise<Driver> {
  const policy = await loadStatePolicy(modelDir, {
    ...(options.backend ? { backend: options.backend } : { candidates: ['tfjs-node', 'wasm', 'cpu'] }),
    log: options.log,
    purpose: 'the viewer drives the simulation with state policies (simreal train bc)',
  }).catch((e: unknown) => {
    throw asDriverError(e);
  });
  return {
    name: `policy:${modelDir}`,
    create(env: TabletopEnv): ActionSource {
      try {
        policy.checkInputs(env.observationSpace.names, `${env.scenario.id} gives`);
      } catch (e) {
        throw asDriverError(e);
      }
      // Created after each reset: the episode's execution noise, as evaluation draws it.
      const noise = new ExecutionNoise(executionNoiseOf(policy.card), env.episodeSeed);
      return {
        stage: 'policy',
        act: (obs: Float32Array) => noise.apply(policy.act(obs).slice(0, 5)),
      };
    },
    dispose: () => policy.dispose(),
  };
}

/** A model the viewer cannot use is the user's to fix: its PolicyInputError becomes a DriverError. */
function asDriverError(e: unknown): unknown {
  return e instanceof PolicyInputError ? new DriverError(e.message) : e;
}
