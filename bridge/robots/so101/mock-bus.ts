/**
 * A simulated Feetech servo bus: six STS3215 servos that answer real protocol packets, for tests
 * and `simreal robot so101 --dry-run`. Each servo has a control-table memory; PING, READ, WRITE,
 * SYNC_WRITE and SYNC_READ behave as on the hardware (no answer to a bad checksum or to a
 * broadcast write); with torque on, Present_Position moves toward Goal_Position as the simulated
 * arm's joints do (sim/robot/so101/servo.ts `servoStep`: a trapezoidal profile with the STS3215's
 * speed, the Acceleration register's limit and a settling gain, at 1/240 s steps), so the dry run and
 * the simulator move the same way. Faults can be injected: an error byte, a silent servo,
 * corrupted answers.
 *
 * `openMockSo101Port` wires it under `serialport`'s own mock binding (@serialport/binding-mock),
 * so the driver runs unchanged over a SerialPortMock.
 */
import { SerialPortMock } from 'serialport';
import * as F from './feetech.ts';
import { portLink } from './bus.ts';
import { SERVO_DT, SERVO_GAIN, STS3215_SPEED_TICKS, servoStep } from '../../../sim/robot/so101/servo.ts';
import type { SerialLink } from './bus.ts';

export interface ServoSimOptions {
  id: number;
  /** Initial actual position, ticks (default 2048). */
  position?: number;
  /** Max speed, ticks per second (default an STS3215 without load, 45 rpm: sim/robot/so101/servo.ts). */
  speed?: number;
  /** Mechanical stops (actual ticks) the shaft stalls at, e.g. where a gripper's jaws meet. */
  stops?: [number, number];
}

export class ServoSim {
  readonly id: number;
  readonly mem = new Uint8Array(128);
  /** Shaft position, ticks, before the homing offset. */
  actual: number;
  speed: number;
  readonly stops: [number, number];
  /** Velocity (ticks/s). */
  velocity = 0;
  /** Time not yet simulated (ms), less than one step. */
  private pendingMs = 0;
  /** Error byte put in every status packet (see feetech.ts STATUS_ERROR_BITS). */
  error = 0;
  /** When true, the servo does not answer (unplugged). */
  silent = false;
  /** Instructions received (for tests). */
  readonly log: Array<{ instruction: number; params: number[] }> = [];

  constructor(o: ServoSimOptions) {
    this.id = o.id;
    this.actual = o.position ?? 2048;
    this.speed = o.speed ?? STS3215_SPEED_TICKS;
    this.stops = o.stops ?? [-Infinity, Infinity];
    this.set(F.STS.MODEL_NUMBER, F.STS3215_MODEL_NUMBER);
    this.set(F.STS.ID, o.id);
    this.set(F.STS.MIN_POSITION_LIMIT, 0);
    this.set(F.STS.MAX_POSITION_LIMIT, 4095);
    this.set(F.STS.MAX_TORQUE_LIMIT, 1000);
    this.set(F.STS.P_COEFFICIENT, 32);
    this.set(F.STS.TORQUE_LIMIT, 1000);
    this.set(F.STS.PRESENT_VOLTAGE, 74);
    this.set(F.STS.PRESENT_TEMPERATURE, 30);
    this.set(F.STS.GOAL_POSITION, F.encodeSignMagnitude(this.present(), 15));
  }

  get(reg: readonly [number, number]): number {
    return F.fromLe(this.mem, reg[0], reg[1]);
  }

  set(reg: readonly [number, number], value: number): void {
    const b = F.le(value, reg[1]);
    for (let i = 0; i < b.length; i++) this.mem[reg[0] + i] = b[i];
  }

  get torque(): boolean {
    return this.mem[F.STS.TORQUE_ENABLE[0]] === 1;
  }

  homingOffset(): number {
    return F.decodeSignMagnitude(this.get(F.STS.HOMING_OFFSET), 11);
  }

  /** Present_Position = actual − Homing_Offset (STS convention). */
  present(): number {
    return Math.round(this.actual) - this.homingOffset();
  }

  goal(): number {
    const g = F.decodeSignMagnitude(this.get(F.STS.GOAL_POSITION), 15);
    return Math.max(this.get(F.STS.MIN_POSITION_LIMIT), Math.min(this.get(F.STS.MAX_POSITION_LIMIT), g));
  }

  advance(dtMs: number): void {
    if (!this.torque) {
      this.velocity = 0;
      this.pendingMs = 0;
      return;
    }
    if (dtMs <= 0) return;
    const target = this.goal() + this.homingOffset();
    // Acceleration register: units of 100 steps/s²; 0 means no limit.
    const acc = this.get(F.STS.ACCELERATION);
    const p = { gain: SERVO_GAIN, speed: this.speed, accel: acc > 0 ? acc * 100 : Infinity };
    this.pendingMs += dtMs;
    const stepMs = SERVO_DT * 1000;
    while (this.pendingMs >= stepMs - 1e-9) {
      this.pendingMs -= stepMs;
      this.velocity = servoStep(this.actual, this.velocity, target, p, SERVO_DT);
      this.actual += this.velocity * SERVO_DT;
      if (this.actual < this.stops[0] || this.actual > this.stops[1]) {
        this.actual = Math.max(this.stops[0], Math.min(this.stops[1], this.actual));
        this.velocity = 0;
      }
    }
  }

  /** Refreshes the read-only registers before a read. */
  refresh(): void {
    this.set(F.STS.PRESENT_POSITION, F.encodeSignMagnitude(this.present(), 15));
    this.mem[F.STS.MOVING[0]] = this.torque && Math.abs(this.goal() + this.homingOffset() - this.actual) > 0.5 ? 1 : 0;
    this.set(F.STS.PRESENT_VELOCITY, F.encodeSignMagnitude(Math.max(-32767, Math.min(32767, Math.round(this.velocity))), 15));
  }
}

export interface BusSimOptions {
  ids?: number[];
  positions?: Record<number, number>;
  speed?: number;
  /** Mechanical stops per servo id (actual ticks). */
  stops?: Record<number, [number, number]>;
  /** Clock in ms (default performance.now); tests pass a manual one. */
  clock?: () => number;
}

export class FeetechBusSim {
  readonly servos = new Map<number, ServoSim>();
  private readonly parser = new F.PacketParser();
  private readonly clock: () => number;
  private last: number;
  /** Corrupt the checksum of the next N answers. */
  corruptNext = 0;
  /** Packets received with a bad checksum (and ignored, as servos do). */
  get badPackets(): number {
    return this.parser.corrupt;
  }

  constructor(options: BusSimOptions = {}) {
    this.clock = options.clock ?? (() => performance.now());
    this.last = this.clock();
    for (const id of options.ids ?? [1, 2, 3, 4, 5, 6]) {
      this.servos.set(id, new ServoSim({ id, position: options.positions?.[id], speed: options.speed, stops: options.stops?.[id] }));
    }
  }

  /** Moves every servo to the current clock time. */
  tick(): void {
    const now = this.clock();
    const dt = now - this.last;
    this.last = now;
    for (const s of this.servos.values()) s.advance(dt);
  }

  /** Bytes in (instruction packets), bytes out (status packets). */
  receive(bytes: Uint8Array): Uint8Array {
    this.tick();
    const out: Uint8Array[] = [];
    for (const p of this.parser.push(bytes)) out.push(...this.handle(p));
    let n = 0;
    for (const o of out) n += o.length;
    const buf = new Uint8Array(n);
    let off = 0;
    for (const o of out) {
      if (this.corruptNext > 0) {
        o[o.length - 1] ^= 0x5a;
        this.corruptNext--;
      }
      buf.set(o, off);
      off += o.length;
    }
    return buf;
  }

  private status(s: ServoSim, params: ArrayLike<number> = []): Uint8Array[] {
    return s.silent ? [] : [F.encodeStatus(s.id, s.error, params)];
  }

  private handle(p: F.Packet): Uint8Array[] {
    const params = Array.from(p.params);
    if (p.id === F.BROADCAST_ID) {
      if (p.code === F.INSTRUCTION.SYNC_WRITE) {
        const [addr, len] = params;
        for (let i = 2; i + len < params.length; i += len + 1) {
          const s = this.servos.get(params[i]);
          if (!s) continue;
          s.log.push({ instruction: p.code, params: [addr, ...params.slice(i + 1, i + 1 + len)] });
          s.mem.set(params.slice(i + 1, i + 1 + len), addr);
        }
        return [];
      }
      if (p.code === F.INSTRUCTION.SYNC_READ) {
        const [addr, len, ...ids] = params;
        const out: Uint8Array[] = [];
        for (const id of ids) {
          const s = this.servos.get(id);
          if (!s) continue;
          s.refresh();
          out.push(...this.status(s, s.mem.slice(addr, addr + len)));
        }
        return out;
      }
      if (p.code === F.INSTRUCTION.WRITE) {
        for (const s of this.servos.values()) s.mem.set(params.slice(1), params[0]);
        return [];
      }
      if (p.code === F.INSTRUCTION.PING) return [...this.servos.values()].flatMap((s) => this.status(s));
      return [];
    }
    const s = this.servos.get(p.id);
    if (!s) return [];
    s.log.push({ instruction: p.code, params });
    switch (p.code) {
      case F.INSTRUCTION.PING:
        return this.status(s);
      case F.INSTRUCTION.READ: {
        const [addr, len] = params;
        s.refresh();
        return this.status(s, s.mem.slice(addr, addr + len));
      }
      case F.INSTRUCTION.WRITE:
        s.mem.set(params.slice(1), params[0]);
        return this.status(s);
      default:
        return this.status(s);
    }
  }
}

let mockPorts = 0;

/** The parts of @serialport/binding-mock's MockPortBinding used here. */
interface MockPortBindingLike {
  write(buffer: Buffer): Promise<void>;
  emitData(data: Buffer): void;
  readonly isOpen: boolean;
}

/** A SerialPortMock (serialport's mock binding) with the simulated bus answering on it. */
export async function openMockSo101Port(sim: FeetechBusSim, path = `/dev/simreal-mock-${++mockPorts}`): Promise<{ port: SerialPortMock; link: SerialLink }> {
  SerialPortMock.binding.createPort(path, { echo: false, record: false });
  const port = new SerialPortMock({ path, baudRate: 1_000_000, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const binding = port.port as unknown as MockPortBindingLike;
  const write = binding.write.bind(binding);
  binding.write = async (buffer: Buffer): Promise<void> => {
    await write(buffer);
    const reply = sim.receive(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
    if (reply.length && binding.isOpen) binding.emitData(Buffer.from(reply));
  };
  return { port, link: portLink(port) };
}
