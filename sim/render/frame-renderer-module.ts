/**
 * Where generation finds the frame renderer: the URL of frame-renderer.ts, whose
 * `createEpisodeFrameRenderer` is a FrameRendererFactory. A job that renders names this module
 * (JobSpec.renderer) and every thread that runs it, worker threads included, imports it from
 * there. Importing this file loads neither three.js nor Dawn.
 */
export const FRAME_RENDERER_MODULE = new URL('./frame-renderer.ts', import.meta.url).href;
