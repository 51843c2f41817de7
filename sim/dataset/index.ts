/**
 * Datasets as LeRobotDataset v3.0: what sim/dataset offers the rest of simreal.
 * See README.md in this folder for the layout, the columns and the scale-out recipe.
 */
export { openLeRobotSink, LeRobotSink, readSimrealMeta } from './lerobot-sink.ts';
export type { SimrealMeta } from './lerobot-sink.ts';
export { DatasetReader } from './reader.ts';
export type { Batch, BatchOptions, EpisodeEntry, EpisodeFilter } from './reader.ts';
export { DatasetWriter } from './writer.ts';
export type { EpisodeFrames, EpisodeInput, Recovery, WriterOptions } from './writer.ts';
export { mergeDatasets, planMerge } from './merge.ts';
export type { MergeOptions, MergeResult } from './merge.ts';
export { verifyDataset } from './verify.ts';
export type { VerifyReport } from './verify.ts';
export { formatSummary, summarize } from './summary.ts';
export type { DatasetSummary } from './summary.ts';
export { CODEBASE_VERSION, DatasetError, ROBOT_TYPE, simrealFeatures } from './format.ts';
export type { DatasetInfo, Feature } from './format.ts';
export { decodePngRgb, encodePngRgb } from './png.ts';
