/**
 * sim/camera: the camera model shared by simulation and real cameras. A camera file (intrinsics,
 * OpenCV lens distortion, pose in the table frame), projection of table points to pixels, and
 * lifting of pixels to rays, to points on a horizontal plane or at a known depth. Plain math,
 * browser-safe; Node-only parts import on their own: `io.ts` (read/write camera files).
 */
export * from './camera-file.ts';
export * from './camera.ts';
export * from './projection.ts';
