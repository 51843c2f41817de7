/**
 * The Feetech serial-bus servo protocol (SCS/STS series, "protocol 0", as spoken by the STS3215
 * servos of the SO-100/SO-101 arms), as pure byte arithmetic.
 *
 * Instruction packet: 0xFF 0xFF ID LEN INSTR P1 … Pn CHECKSUM
 * Status packet:      0xFF 0xFF ID LEN ERROR P1 … Pn CHECKSUM
 *   LEN = n + 2 (the instruction/error byte and the checksum);
 *   CHECKSUM = ~(ID + LEN + INSTR/ERROR + P1 + … + Pn) & 0xFF.
 * Multi-byte registers are little-endian on STS servos. ID 0xFE is the broadcast id: servos do
 * not answer broadcast instructions (except PING).
 *
 * Instructions used here:
 * - PING (0x01): no parameters; the servo answers an empty status.
 * - READ (0x02): [address, length]; the status carries `length` bytes.
 * - WRITE (0x03): [address, data…]; empty status.
 * - SYNC_WRITE (0x83, to 0xFE): [address, length, id1, data1…, id2, data2…]; no status.
 * - SYNC_READ (0x82, to 0xFE): [address, length, id1, id2, …]; each servo answers in turn.
 *
 * Control table (STS3215; address, bytes): see `STS`.
 */

export const INSTRUCTION = { PING: 0x01, READ: 0x02, WRITE: 0x03, REG_WRITE: 0x04, ACTION: 0x05, SYNC_READ: 0x82, SYNC_WRITE: 0x83 } as const;
export const BROADCAST_ID = 0xfe;
export const STS3215_MODEL_NUMBER = 777;
export { STS3215_RESOLUTION } from '../../../sim/robot/so101/servo.ts';

/** STS series control table: [address, size in bytes]. */
export const STS = {
  MODEL_NUMBER: [3, 2],
  ID: [5, 1],
  BAUD_RATE: [6, 1],
  RETURN_DELAY_TIME: [7, 1],
  MIN_POSITION_LIMIT: [9, 2],
  MAX_POSITION_LIMIT: [11, 2],
  MAX_TORQUE_LIMIT: [16, 2],
  P_COEFFICIENT: [21, 1],
  D_COEFFICIENT: [22, 1],
  I_COEFFICIENT: [23, 1],
  HOMING_OFFSET: [31, 2],
  OPERATING_MODE: [33, 1],
  TORQUE_ENABLE: [40, 1],
  ACCELERATION: [41, 1],
  GOAL_POSITION: [42, 2],
  GOAL_TIME: [44, 2],
  GOAL_VELOCITY: [46, 2],
  TORQUE_LIMIT: [48, 2],
  LOCK: [55, 1],
  PRESENT_POSITION: [56, 2],
  PRESENT_VELOCITY: [58, 2],
  PRESENT_LOAD: [60, 2],
  PRESENT_VOLTAGE: [62, 1],
  PRESENT_TEMPERATURE: [63, 1],
  STATUS: [65, 1],
  MOVING: [66, 1],
  PRESENT_CURRENT: [69, 2],
} as const satisfies Record<string, readonly [number, number]>;

/** Bits of a status packet's error byte (STS series). */
export const STATUS_ERROR_BITS = { voltage: 0x01, angleSensor: 0x02, overheat: 0x04, overcurrent: 0x08, overload: 0x20 } as const;

export function describeStatusError(error: number): string[] {
  return Object.entries(STATUS_ERROR_BITS).filter(([, bit]) => (error & bit) !== 0).map(([name]) => name);
}

export function checksum(bytes: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += bytes[i];
  return ~sum & 0xff;
}

function packet(id: number, code: number, params: ArrayLike<number>): Uint8Array {
  if (id < 0 || id > 0xfe) throw new RangeError(`servo id ${id} out of range 0–254`);
  if (params.length > 250) throw new RangeError('packet parameters exceed 250 bytes');
  const out = new Uint8Array(params.length + 6);
  out[0] = 0xff;
  out[1] = 0xff;
  out[2] = id;
  out[3] = params.length + 2;
  out[4] = code;
  for (let i = 0; i < params.length; i++) out[5 + i] = params[i] & 0xff;
  out[out.length - 1] = checksum(out, 2, out.length - 1);
  return out;
}

export function encodeInstruction(id: number, instruction: number, params: ArrayLike<number> = []): Uint8Array {
  return packet(id, instruction, params);
}

export function encodeStatus(id: number, error: number, params: ArrayLike<number> = []): Uint8Array {
  return packet(id, error, params);
}

export const ping = (id: number): Uint8Array => encodeInstruction(id, INSTRUCTION.PING);
export const read = (id: number, address: number, length: number): Uint8Array => encodeInstruction(id, INSTRUCTION.READ, [address, length]);
export const write = (id: number, address: number, data: ArrayLike<number>): Uint8Array => encodeInstruction(id, INSTRUCTION.WRITE, [address, ...Array.from(data)]);

export function syncWrite(address: number, length: number, entries: ReadonlyArray<{ id: number; data: ArrayLike<number> }>): Uint8Array {
  const params: number[] = [address, length];
  for (const e of entries) {
    if (e.data.length !== length) throw new RangeError(`sync write to servo ${e.id}: ${e.data.length} bytes, expected ${length}`);
    params.push(e.id, ...Array.from(e.data));
  }
  return encodeInstruction(BROADCAST_ID, INSTRUCTION.SYNC_WRITE, params);
}

export function syncRead(address: number, length: number, ids: readonly number[]): Uint8Array {
  return encodeInstruction(BROADCAST_ID, INSTRUCTION.SYNC_READ, [address, length, ...ids]);
}

/** Little-endian bytes of an unsigned value. */
export function le(value: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push((value >>> (8 * i)) & 0xff);
  return out;
}

export function fromLe(bytes: ArrayLike<number>, offset = 0, length = bytes.length - offset): number {
  let v = 0;
  for (let i = length - 1; i >= 0; i--) v = v * 256 + bytes[offset + i];
  return v;
}

/** Sign-magnitude encoding (STS positions use bit 15, homing offsets bit 11). */
export function encodeSignMagnitude(value: number, signBit: number): number {
  const max = (1 << signBit) - 1;
  const mag = Math.abs(Math.round(value));
  if (mag > max) throw new RangeError(`|${value}| exceeds ${max} for a sign bit at ${signBit}`);
  return value < 0 ? (1 << signBit) | mag : mag;
}

export function decodeSignMagnitude(raw: number, signBit: number): number {
  const mag = raw & ((1 << signBit) - 1);
  return raw & (1 << signBit) ? -mag : mag;
}

export interface Packet {
  id: number;
  /** Instruction (instruction packets) or error byte (status packets). */
  code: number;
  params: Uint8Array;
}

/**
 * Streaming parser for either packet kind: feed it bytes as they come; it returns complete
 * packets with a valid checksum, skips noise and resynchronizes on 0xFF 0xFF after a bad checksum.
 */
export class PacketParser {
  private buf = new Uint8Array(0);
  /** Packets dropped for a wrong checksum or impossible length. */
  corrupt = 0;

  push(bytes: Uint8Array): Packet[] {
    const merged = new Uint8Array(this.buf.length + bytes.length);
    merged.set(this.buf, 0);
    merged.set(bytes, this.buf.length);
    const out: Packet[] = [];
    let i = 0;
    while (i + 1 < merged.length) {
      if (merged[i] !== 0xff || merged[i + 1] !== 0xff) {
        i++;
        continue;
      }
      // Tolerate extra 0xFF preamble bytes: the id is never 0xFF.
      if (i + 2 < merged.length && merged[i + 2] === 0xff) {
        i++;
        continue;
      }
      if (i + 4 > merged.length) break;
      const len = merged[i + 3];
      if (len < 2 || merged[i + 2] > 0xfe) {
        this.corrupt++;
        i += 2;
        continue;
      }
      const end = i + 4 + len;
      if (end > merged.length) break;
      if (checksum(merged, i + 2, end - 1) !== merged[end - 1]) {
        this.corrupt++;
        i += 2;
        continue;
      }
      out.push({ id: merged[i + 2], code: merged[i + 4], params: merged.slice(i + 5, end - 1) });
      i = end;
    }
    this.buf = merged.slice(i);
    if (this.buf.length > 1024) this.buf = this.buf.slice(this.buf.length - 1024);
    return out;
  }

  reset(): void {
    this.buf = new Uint8Array(0);
  }
}
