/** The scripted expert for each task id. */
import type { ExpertFactory } from '../episode.ts';
import type { TaskConfig } from '../scenario.ts';
import { solve as grasp } from './grasp.ts';
import { solve as push } from './push.ts';
import { solve as reach } from './reach.ts';
import { solve as stack } from './stack.ts';

export const EXPERTS: Record<TaskConfig['id'], ExpertFactory> = {
  'StackBlocks-v1': stack,
  'Grasp-v1': grasp,
  'Reach-v1': reach,
  'Push-v1': push,
};

export type { Expert } from './motion.ts';
