/**
 * The pure parser and the encoders. `parseMessage` never throws: whatever arrives (bad JSON,
 * deep nesting, wrong types, unknown ops, binary garbage) comes back as `{ ok: false, error }` with
 * an error code and a short message fit to send back to the peer. Nothing from the wire is ever
 * evaluated; JSON.parse and zod are the only things that look at it.
 */
import type { z } from 'zod';
import { decodeFrame } from './frame.ts';
import type { Frame } from './frame.ts';
import { ClientMessageSchema, HubMessageSchema, CLIENT_OPS, HUB_OPS } from './messages.ts';
import { fastClientMessage, fastHubMessage } from './fast.ts';
import type { ClientMessage, HubMessage, ErrorCode } from './messages.ts';

export interface ParseError {
  code: Extract<ErrorCode, 'bad_json' | 'not_object' | 'unknown_op' | 'invalid' | 'too_large' | 'bad_frame'>;
  message: string;
  /** Whatever could be recovered from the message to correlate the error. */
  ref?: { op?: string; id?: string | number; seq?: number; robot?: string };
}
export type FrameMessage = { op: 'frame'; frame: Frame };
/**
 * `exact`: the text held exactly the validated message's fields (nothing was stripped), so it may be
 * forwarded or recorded as it came instead of being serialized again.
 */
export type ParseResult<M> = { ok: true; msg: M; exact?: boolean } | { ok: false; error: ParseError };

export interface ParseOptions {
  /** Which side sent it: `client` (robots, controllers, viewers → hub; default) or `hub`. */
  from?: 'client' | 'hub';
  /** Text longer than this many UTF-16 code units is refused before parsing (default 1 MiB). */
  maxChars?: number;
}

const DEFAULT_MAX_CHARS = 1 << 20;
const clientOps = new Set<string>(CLIENT_OPS);
const hubOps = new Set<string>(HUB_OPS);

function summarize(error: z.ZodError): string {
  const parts = error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`);
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return (parts.join('; ') + more).slice(0, 400);
}

function refOf(value: Record<string, unknown>): ParseError['ref'] {
  const ref: NonNullable<ParseError['ref']> = {};
  if (typeof value.op === 'string' && value.op.length <= 32) ref.op = value.op;
  if ((typeof value.id === 'string' && value.id.length <= 64) || (typeof value.id === 'number' && Number.isSafeInteger(value.id) && value.id >= 0)) ref.id = value.id;
  if (typeof value.seq === 'number' && Number.isInteger(value.seq) && value.seq >= 0 && value.seq <= 0xffffffff) ref.seq = value.seq;
  if (typeof value.robot === 'string' && value.robot.length <= 64) ref.robot = value.robot;
  return Object.keys(ref).length ? ref : undefined;
}

export function parseMessage(data: string, options?: ParseOptions & { from?: 'client' }): ParseResult<ClientMessage>;
export function parseMessage(data: string, options: ParseOptions & { from: 'hub' }): ParseResult<HubMessage>;
export function parseMessage(data: Uint8Array, options?: ParseOptions): ParseResult<FrameMessage>;
export function parseMessage(data: string | Uint8Array, options?: ParseOptions): ParseResult<ClientMessage | HubMessage | FrameMessage>;
/**
 * Text (a JSON control message) or bytes (a binary frame) → a validated message, or an error.
 */
export function parseMessage(data: string | Uint8Array, options: ParseOptions = {}): ParseResult<ClientMessage | HubMessage | FrameMessage> {
  try {
    if (typeof data !== 'string') {
      if (!(data instanceof Uint8Array)) return { ok: false, error: { code: 'invalid', message: 'messages are text (JSON) or bytes (frames)' } };
      const r = decodeFrame(data);
      return r.ok ? { ok: true, msg: { op: 'frame', frame: r.frame } } : r;
    }
    const max = options.maxChars ?? DEFAULT_MAX_CHARS;
    if (data.length > max) return { ok: false, error: { code: 'too_large', message: `message of ${data.length} characters exceeds the limit of ${max}` } };
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch (e) {
      return { ok: false, error: { code: 'bad_json', message: `not valid JSON: ${e instanceof Error ? e.message.slice(0, 120) : 'parse error'}` } };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, error: { code: 'not_object', message: 'a message is a JSON object with an "op" field' } };
    }
    const obj = value as Record<string, unknown>;
    const ref = refOf(obj);
    const fromHub = options.from === 'hub';
    if (typeof obj.op !== 'string') return { ok: false, error: { code: 'invalid', message: 'missing "op" (a string naming the message type)', ref } };
    if (!(fromHub ? hubOps : clientOps).has(obj.op)) {
      return { ok: false, error: { code: 'unknown_op', message: `unknown op ${JSON.stringify(obj.op.slice(0, 32))}`, ref } };
    }
    // The control loop's messages: checked by hand, exactly as the schema would (fast.ts).
    const fast = fromHub ? fastHubMessage(obj) : fastClientMessage(obj);
    if (fast) return { ok: true, msg: fast.msg, exact: fast.exact };
    const result = fromHub ? HubMessageSchema.safeParse(obj) : ClientMessageSchema.safeParse(obj);
    if (!result.success) return { ok: false, error: { code: 'invalid', message: `invalid ${obj.op}: ${summarize(result.error)}`, ref } };
    return { ok: true, msg: result.data };
  } catch (e) {
    // JSON.parse of pathological input can overflow the stack; nothing escapes.
    return { ok: false, error: { code: 'invalid', message: `unparseable message (${e instanceof Error ? e.name : 'error'})` } };
  }
}

/** Serializes a message for the wire (JSON text frame). */
export function encodeMessage(msg: ClientMessage | HubMessage): string {
  return JSON.stringify(msg);
}
