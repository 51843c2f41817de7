/**
 * sim/render: the three.js scene builder and visual randomization (browser-safe), and headless
 * WebGPU rendering on Dawn (Node). The browser viewer imports the first group only:
 * `scene-builder.ts`, `look.ts`, `lighting.ts`, `textures.ts`, `cameras.ts`, `visual-schema.ts`.
 */
export * from './cameras.ts';
export * from './look.ts';
export * from './textures.ts';
export * from './visual-schema.ts';
export { SceneBuilder, fastSrgb } from './scene-builder.ts';
export type { SceneBuilderOptions } from './scene-builder.ts';
export { HeadlessRenderer, NoGpuAdapterError } from './headless.ts';
export type { HeadlessOptions, ReadbackChannels, ViewImages, ViewRequest } from './headless.ts';
export { blockPoses, createEpisodeFrameRenderer, parseCameras } from './frame-renderer.ts';
export type { BlockPose, EpisodeRenderer, RenderedFrame } from './frame-renderer.ts';
export { renderPreview } from './preview.ts';
export type { Preview, PreviewChannel, PreviewOptions } from './preview.ts';
