/**
 * The `visual` block of a scenario: ranges for the look of rendered frames (domain randomization
 * in the sense of Tobin et al. 2017). Pure zod, no rendering code, so scenarios load without a GPU.
 */
import { z } from 'zod';

export const VisualSchema = z.object({}).loose().describe('visual randomization (see sim/render)');
export type VisualConfig = z.infer<typeof VisualSchema>;
