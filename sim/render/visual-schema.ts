/**
 * The `visual` block of a scenario: ranges for the look of rendered frames (domain randomization
 * in the sense of Tobin et al. 2017). Pure zod, no rendering code, so scenarios load without a GPU.
 *
 * Like the physics block it has training ranges (`randomization`) and `heldout` ranges for
 * evaluation on looks never seen in training: held-out textures come from a disjoint range of
 * generator seeds (checked here), and held-out lighting lies outside the training ranges.
 *
 * A range is `[min, max]` or a list of such intervals (sampled in proportion to their lengths).
 * Scenarios without a `visual` block render with DEFAULT_VISUAL.
 */
import { z } from 'zod';
import { intRange, range } from '../ranges.ts';

export const LIGHT_KINDS = ['point', 'directional', 'spot'] as const;
export type LightKind = (typeof LIGHT_KINDS)[number];

/** Jitter of one camera around its nominal mount. */
export const CameraRangesSchema = z.strictObject({
  /** Offset of the camera position along each axis of its mount frame (m). */
  position: range(-0.3, 0.3),
  /** Rotation about each of the camera's own axes (degrees). */
  rotationDeg: range(-45, 45),
  /** Vertical field of view (degrees). */
  fovDeg: range(5, 120),
});

export const VisualRangesSchema = z.strictObject({
  /** Generator seeds textures are drawn from (integers, see sim/render/textures.ts). */
  textureSeeds: intRange(0, 0xffffffff),
  lights: z.strictObject({
    /** Number of lights (integers, 1–4). */
    count: intRange(1, 4),
    kinds: z.array(z.enum(LIGHT_KINDS)).min(1),
    /** Irradiance each light gives at the table centre (1: a white surface facing it renders white). */
    illuminance: range(0, 20),
    /** Elevation of each light above the table plane (degrees). */
    elevationDeg: range(5, 90),
    /** Distance of point and spot lights from the table centre (m). */
    distance: range(0.3, 5),
    /** Colour saturation of each light (0 white … 1 fully coloured). */
    saturation: range(0, 1),
    /** Irradiance of the hemisphere (ambient) light. */
    ambient: range(0, 5),
  }),
  cameras: z.strictObject({ front: CameraRangesSchema, wrist: CameraRangesSchema }),
  distractors: z.strictObject({
    /** Number of distractor objects (integers, 0–10). */
    count: intRange(0, 10),
    /** Largest dimension of each distractor (m). */
    size: range(0.005, 0.2),
  }),
  /** Std of per-pixel image noise (linear units, 1 = full scale). */
  imageNoise: range(0, 0.5),
});
export type VisualRanges = z.infer<typeof VisualRangesSchema>;

export const VisualSchema = z
  .strictObject({
    randomization: VisualRangesSchema,
    heldout: VisualRangesSchema,
    /** Re-sample these each control step as well (default: once per episode). */
    perStep: z
      .strictObject({ lights: z.boolean().optional(), camera: z.boolean().optional() })
      .optional(),
  })
  .superRefine((v, ctx) => {
    const [a0, a1] = v.randomization.textureSeeds, [b0, b1] = v.heldout.textureSeeds;
    if (a0 <= b1 && b0 <= a1) {
      ctx.addIssue({
        code: 'custom',
        path: ['heldout', 'textureSeeds'],
        message: `held-out texture seeds [${b0}, ${b1}] overlap the training seeds [${a0}, ${a1}]: they must be disjoint`,
      });
    }
  })
  .describe('visual randomization (see sim/render)');
export type VisualConfig = z.infer<typeof VisualSchema>;

/** The look of scenarios without a `visual` block (also what scenarios/*.json spell out). */
export const DEFAULT_VISUAL: VisualConfig = {
  randomization: {
    textureSeeds: [0, 2_147_483_647],
    lights: {
      count: [1, 4],
      kinds: ['point', 'directional', 'spot'],
      illuminance: [0.3, 0.9],
      elevationDeg: [35, 85],
      distance: [1, 2.5],
      saturation: [0, 0.3],
      ambient: [0.15, 0.45],
    },
    cameras: {
      front: { position: [-0.05, 0.05], rotationDeg: [-5, 5], fovDeg: [40, 50] },
      wrist: { position: [-0.005, 0.005], rotationDeg: [-3, 3], fovDeg: [70, 80] },
    },
    distractors: { count: [0, 10], size: [0.02, 0.08] },
    imageNoise: [0, 0.02],
  },
  heldout: {
    textureSeeds: [2_147_483_648, 4_294_967_295],
    lights: {
      count: [1, 4],
      kinds: ['point', 'directional', 'spot'],
      illuminance: [[0.15, 0.3], [0.9, 1.3]],
      elevationDeg: [20, 35],
      distance: [2.5, 3.5],
      saturation: [0.3, 0.5],
      ambient: [[0.05, 0.15], [0.45, 0.6]],
    },
    cameras: {
      front: { position: [[-0.07, -0.05], [0.05, 0.07]], rotationDeg: [[-7, -5], [5, 7]], fovDeg: [[36, 40], [50, 54]] },
      wrist: { position: [[-0.008, -0.005], [0.005, 0.008]], rotationDeg: [[-5, -3], [3, 5]], fovDeg: [[66, 70], [80, 84]] },
    },
    distractors: { count: [0, 10], size: [0.02, 0.08] },
    imageNoise: [0.02, 0.03],
  },
};
