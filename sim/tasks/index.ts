/** The task registry: every task spec by its versioned id. */
import type { TaskConfig } from '../scenario.ts';
import { Grasp } from './grasp.ts';
import { Push } from './push.ts';
import { Reach } from './reach.ts';
import { StackBlocks } from './stack.ts';
import type { TaskSpec } from './task.ts';

export const TASKS = {
  'StackBlocks-v1': StackBlocks,
  'Grasp-v1': Grasp,
  'Reach-v1': Reach,
  'Push-v1': Push,
} as const;

export type TaskId = keyof typeof TASKS;

export function taskSpec<C extends TaskConfig>(config: C): TaskSpec<C> {
  const spec = TASKS[config.id];
  if (!spec) throw new Error(`unknown task ${String((config as { id: unknown }).id)}; known: ${Object.keys(TASKS).join(', ')}`);
  return spec as unknown as TaskSpec<C>;
}

export type { Evaluation, TaskSpec } from './task.ts';
