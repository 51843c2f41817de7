/** What policy/ offers: backends, training of the three models, evaluation, the saved-model files. */
export { selectBackend, backendNames, BackendUnavailableError, NoBackendError } from './backend.ts';
export type { BackendChoice, BackendName, TF } from './backend.ts';
export { PolicyInputError, TrainingDivergedError } from './errors.ts';
export { loadFrames, framesFromRecords } from './data/load.ts';
export type { FrameSet } from './data/frames.ts';
export { trainBc } from './train/bc.ts';
export { trainPose } from './train/pose.ts';
export { trainVisuomotor } from './train/visuomotor.ts';
export type { TrainOptions, TrainResult } from './train/run.ts';
export { evaluate, formatEvalResult } from './eval/evaluate.ts';
export type { EvalResult, EvaluateOptions } from './eval/evaluate.ts';
export { evalSeeds } from './eval/seeds.ts';
export { wilson } from './eval/stats.ts';
export { saveLayersModel, loadLayersModel } from './model-io.ts';
export { readModelCard, MODEL_CARD } from './model-card.ts';
export type { ModelCard, ModelKind } from './model-card.ts';
