/**
 * Protocol identity. The WebSocket subprotocol names the major version; minor versions only add
 * optional fields and new ops, so a v1.x peer can talk to any other v1.y peer (see PROTOCOL.md,
 * "Versioning").
 */
export const SUBPROTOCOL = 'simreal.bridge.v1';
/** Browsers cannot set headers: they may carry the token as a second subprotocol with this prefix. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'simreal.token.';
export const PROTOCOL_VERSION = { major: 1, minor: 2 } as const;
