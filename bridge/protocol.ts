/**
 * The `simreal.bridge.v1` protocol: messages (zod schemas and types), binary frames, the pure
 * parser. Depends on zod alone; robots, browsers, the hub and the viewer import it.
 */
export * from './protocol/version.ts';
export * from './protocol/messages.ts';
export * from './protocol/frame.ts';
export * from './protocol/parse.ts';
