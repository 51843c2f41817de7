/**
 * What a bridge recording contains, so readers (Foxglove, the viewer, `mcap` tools) can decode it.
 *
 * Topics:
 * - `/robots/<id>/in/<op>`: JSON messages the hub received about robot <id> (observation, command
 *   requests from controllers, acks from the robot, lease, estop, …), after validation.
 * - `/robots/<id>/out/<op>`: JSON messages the hub sent about robot <id> (the clamped `command`
 *   the robot got, the `ack` the controller got, hold, estop, status, …), recorded once each.
 * - `/robots/<id>/frames/<feature>`: binary frames (images, dense arrays), bytes exactly as on the wire.
 * - `/hub/in/<op>`, `/hub/out/<op>`: messages not about one robot (ping/pong, subscribe `*`, errors).
 * - `/hub/sessions`: connection events `{event, session, role, name, code?, reason?}`.
 *
 * JSON channels: message encoding `json`, schema encoding `jsonschema` (generated from the zod
 * schemas of protocol/messages.ts). Frame channels: message encoding `simreal.frame.v1`, schema
 * `simreal.bridge.v1.Frame` whose data is a JSON description of the 48-byte header (below).
 */
import { z } from 'zod';
import { ClientMessageSchema, HubMessageSchema, SUBPROTOCOL, FRAME_HEADER_BYTES } from '../protocol.ts';

export const FRAME_MESSAGE_ENCODING = 'simreal.frame.v1';
export const FRAME_SCHEMA_NAME = 'simreal.bridge.v1.Frame';
export const RECORDING_PROFILE = '';
export const RECORDING_LIBRARY = `simreal bridge (${SUBPROTOCOL})`;

/** Machine-readable description of the frame header, stored as the frame schema's data. */
export const FRAME_SCHEMA_DESCRIPTION = {
  name: FRAME_SCHEMA_NAME,
  endianness: 'little',
  headerBytes: FRAME_HEADER_BYTES,
  fields: [
    { offset: 0, type: 'u8[4]', name: 'magic', value: 'SRBF' },
    { offset: 4, type: 'u8', name: 'version', value: 1 },
    { offset: 5, type: 'u8', name: 'kind', values: { 1: 'image', 2: 'tensor' } },
    { offset: 6, type: 'u8', name: 'dtype', values: { 1: 'uint8', 2: 'uint16', 3: 'int16', 4: 'int32', 5: 'float32', 6: 'float64' } },
    { offset: 7, type: 'u8', name: 'ndim' },
    { offset: 8, type: 'u16', name: 'headerBytes' },
    { offset: 10, type: 'u16', name: 'channel' },
    { offset: 12, type: 'u32', name: 'robotHandle' },
    { offset: 16, type: 'u32', name: 'seq' },
    { offset: 20, type: 'u16', name: 'format', values: { 0: 'none', 1: 'rgb8', 2: 'rgba8', 3: 'mono8', 4: 'depth16mm', 5: 'depth32f' } },
    { offset: 22, type: 'u16', name: 'flags' },
    { offset: 24, type: 'f64', name: 'timeMs' },
    { offset: 32, type: 'u32[4]', name: 'shape' },
  ],
  payload: 'product(shape) elements of dtype, row-major, little-endian, starting at headerBytes',
} as const;

const SessionEventSchema = z.object({
  event: z.enum(['connect', 'disconnect']),
  session: z.string(),
  role: z.string(),
  name: z.string().optional(),
  code: z.number().optional(),
  reason: z.string().optional(),
});

const cache = new Map<string, string>();

/** JSON schema text for a recorded message kind: `in`/`out` + op, or `session`. */
export function jsonSchemaFor(dir: 'in' | 'out', op: string): { name: string; data: string } {
  const key = `${dir}.${op}`;
  const name = op === 'session' ? 'simreal.bridge.v1.SessionEvent' : `simreal.bridge.v1.${dir === 'in' ? 'client' : 'hub'}.${op}`;
  let data = cache.get(key);
  if (!data) {
    let schema: z.ZodType | undefined;
    if (op === 'session') schema = SessionEventSchema;
    else {
      const union = dir === 'in' ? ClientMessageSchema : HubMessageSchema;
      schema = (union.options as readonly z.ZodObject[]).find((o) => (o.shape.op as z.ZodLiteral).value === op);
    }
    data = schema ? JSON.stringify(z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' })) : JSON.stringify({ type: 'object' });
    cache.set(key, data);
  }
  return { name, data };
}
