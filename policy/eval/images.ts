/**
 * Camera frames for closed-loop evaluation, drawn by sim/render's episode renderer with the same
 * look sampling as dataset generation (the look is fixed by the episode seed and the
 * randomization mode), as raw RGB (height × width × 3 uint8, rows top-down). One renderer per
 * slot of a rollout group, since each holds one episode's look.
 */
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { Scenario } from '../../sim/scenario.ts';
import type { CameraFrame } from '../../sim/render/cameras.ts';
import type { SimState } from '../../sim/state.ts';

export interface SlotCamera {
  begin(seed: number): void;
  rgb(state: SimState): Promise<Uint8Array>;
  /** The image with the camera's calibration at that moment (its pose is randomized per episode). */
  view(state: SimState): Promise<{ rgb: Uint8Array; frame: CameraFrame }>;
  dispose(): Promise<void>;
}

export interface CameraSpec {
  scenario: Scenario;
  randomization: RandomizationMode;
  camera: string;
  width: number;
  height: number;
}

export async function openSlotCameras(spec: CameraSpec, count: number): Promise<SlotCamera[]> {
  const { createEpisodeFrameRenderer } = await import('../../sim/render/frame-renderer.ts');
  const out: SlotCamera[] = [];
  for (let i = 0; i < count; i++) {
    const r = await createEpisodeFrameRenderer({ cameras: [spec.camera], width: spec.width, height: spec.height });
    const view = async (state: SimState): Promise<{ rgb: Uint8Array; frame: CameraFrame }> => {
      const frame = await r.renderViews(state);
      const v = frame.views.find((x) => x.camera === spec.camera);
      if (!v?.rgb) throw new Error(`the renderer returned no RGB image for camera ${spec.camera}`);
      return { rgb: v.rgb, frame: v.frame };
    };
    out.push({
      begin(seed) {
        r.beginEpisode(spec.scenario, seed, spec.randomization);
      },
      async rgb(state) {
        return (await view(state)).rgb;
      },
      view,
      dispose: () => r.dispose(),
    });
  }
  return out;
}
