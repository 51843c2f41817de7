/**
 * Which detected block is which. Under visual randomization every block wears a random texture,
 * so the network finds blocks but cannot name them; the tasks name them by rules a camera can
 * see, and this module applies those rules:
 *
 * - StackBlocks-v1 numbers the blocks left to right (ascending x) as they lie at the start
 *   (sim/tasks/stack.ts);
 * - Grasp-v1's target is the block in the middle of its ring of distractors: the one closest,
 *   on average, to the others; the distractors follow left to right;
 * - other tasks have one block.
 *
 * During an episode the names are carried from one estimate to the next by tracking: the
 * assignment that moves the blocks least (over all permutations; at most 6 blocks here).
 */
import type { Vec3 } from '../../sim/state.ts';
import type { TaskConfig } from '../../sim/scenario.ts';

/** Block k's name in the task's order, as its features are named (block0…; Grasp-v1: target, distractor0…). */
export function blockName(task: TaskConfig, k: number): string {
  if (task.id === 'Grasp-v1') return k === 0 ? 'target' : `distractor${k - 1}`;
  return `block${k}`;
}

const dist2 = (a: Vec3, b: Vec3): number => (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2;

/** Indices of `positions` in the task's block order, from one frame alone. */
export function nameByRule(task: TaskConfig, positions: Vec3[]): number[] {
  const byX = (idx: number[]) => [...idx].sort((a, b) => positions[a][0] - positions[b][0] || a - b);
  const all = positions.map((_, i) => i);
  if (task.id === 'Grasp-v1' && positions.length > 1) {
    let target = 0, best = Infinity;
    for (const i of all) {
      let s = 0;
      for (const j of all) if (j !== i) s += Math.sqrt(dist2(positions[i], positions[j]));
      if (s < best) {
        best = s;
        target = i;
      }
    }
    return [target, ...byX(all.filter((i) => i !== target))];
  }
  return byX(all);
}

function permutations(n: number): number[][] {
  if (n <= 1) return [Array.from({ length: n }, (_, i) => i)];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) {
    for (let k = 0; k <= p.length; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  }
  return out;
}
const PERMS = new Map<number, number[][]>();

/** Indices of `positions` matched to `previous` (block by block) so the blocks move least. */
export function nameByTracking(previous: Vec3[], positions: Vec3[]): number[] {
  const n = previous.length;
  let perms = PERMS.get(n);
  if (!perms) PERMS.set(n, (perms = permutations(n)));
  let best = perms[0], cost = Infinity;
  for (const p of perms) {
    let c = 0;
    for (let b = 0; b < n && c < cost; b++) c += dist2(previous[b], positions[p[b]]);
    if (c < cost) {
      cost = c;
      best = p;
    }
  }
  return best;
}
