/**
 * FeetechBus: transactions on a half-duplex servo bus, one at a time. Each call writes one
 * instruction packet and waits for the status packet(s) it provokes (none for broadcasts and
 * SYNC_WRITE), with a timeout and retries. Status error bits are reported, not thrown: an
 * overloaded servo still answers, and the robot decides (it raises its e-stop).
 */
import * as F from './feetech.ts';

/** The byte pipe under the bus: a serial port, or the simulated bus in tests. */
export interface SerialLink {
  write(bytes: Uint8Array): Promise<void>;
  onData(listener: (bytes: Uint8Array) => void): void;
  close(): Promise<void>;
}

/** Minimal shape of a `serialport` stream (SerialPort or SerialPortMock), opened. */
export interface SerialPortLike {
  write(data: Buffer, callback?: (err: Error | null | undefined) => void): boolean;
  drain(callback?: (err: Error | null) => void): void;
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  close(callback?: (err: Error | null) => void): void;
  readonly isOpen: boolean;
}

export function portLink(port: SerialPortLike, onError: (e: Error) => void = () => {}): SerialLink {
  // A stream 'error' with no listener would crash the process; write errors also reject the write.
  port.on('error', onError);
  return {
    write: (bytes) => new Promise((resolve, reject) => {
      port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (err) => (err ? reject(err) : resolve()));
    }),
    onData: (listener) => { port.on('data', (d: Buffer) => listener(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))); },
    // Let the last packets (torque off) leave before closing.
    close: () => new Promise((resolve) => {
      if (!port.isOpen) return resolve();
      port.drain(() => port.close(() => resolve()));
    }),
  };
}

/** Opens a real serial port (the `serialport` package) at `baudRate` (STS default 1 Mbaud). */
export async function openSerialLink(path: string, baudRate = 1_000_000): Promise<SerialLink> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(new Error(`cannot open ${path}: ${err.message}`)) : resolve())));
  return portLink(port);
}

export class FeetechTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeetechTimeoutError';
  }
}

export interface BusOptions {
  /** How long to wait for a status packet (default 50 ms). */
  timeoutMs?: number;
  /** Extra attempts after a timeout or a corrupt answer (default 2). */
  retries?: number;
}

interface Awaiting {
  ids: number[];
  got: Map<number, F.Packet>;
  resolve: (m: Map<number, F.Packet>) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class FeetechBus {
  private readonly link: SerialLink;
  private readonly parser = new F.PacketParser();
  private readonly timeoutMs: number;
  private readonly retries: number;
  private chain: Promise<unknown> = Promise.resolve();
  private awaiting: Awaiting | null = null;
  /** Error byte of the last status packet per servo id. */
  readonly lastError = new Map<number, number>();
  /** Listener for any non-zero status error. */
  onStatusError: ((id: number, error: number) => void) | null = null;

  constructor(link: SerialLink, options: BusOptions = {}) {
    this.link = link;
    this.timeoutMs = options.timeoutMs ?? 50;
    this.retries = options.retries ?? 2;
    link.onData((bytes) => this.onBytes(bytes));
  }

  get corruptPackets(): number {
    return this.parser.corrupt;
  }

  async ping(id: number): Promise<boolean> {
    try {
      await this.transact(F.ping(id), [id]);
      return true;
    } catch (e) {
      if (e instanceof FeetechTimeoutError) return false;
      throw e;
    }
  }

  async read(id: number, address: number, length: number): Promise<Uint8Array> {
    const r = await this.transact(F.read(id, address, length), [id]);
    const p = r.get(id)!;
    if (p.params.length !== length) throw new Error(`servo ${id} answered ${p.params.length} bytes for a ${length}-byte read`);
    return p.params;
  }

  async readRegister(id: number, reg: readonly [number, number]): Promise<number> {
    return F.fromLe(await this.read(id, reg[0], reg[1]));
  }

  async write(id: number, address: number, data: ArrayLike<number>): Promise<void> {
    await this.transact(F.write(id, address, data), id === F.BROADCAST_ID ? [] : [id]);
  }

  async writeRegister(id: number, reg: readonly [number, number], value: number): Promise<void> {
    await this.write(id, reg[0], F.le(value, reg[1]));
  }

  /** One packet, no answer. */
  async syncWrite(reg: readonly [number, number], values: ReadonlyMap<number, number>): Promise<void> {
    const entries = [...values].map(([id, v]) => ({ id, data: F.le(v, reg[1]) }));
    await this.transact(F.syncWrite(reg[0], reg[1], entries), []);
  }

  /** One packet, one answer per servo, in id order. */
  async syncRead(reg: readonly [number, number], ids: readonly number[]): Promise<Map<number, number>> {
    const r = await this.transact(F.syncRead(reg[0], reg[1], ids), [...ids]);
    const out = new Map<number, number>();
    for (const id of ids) {
      const p = r.get(id)!;
      if (p.params.length !== reg[1]) throw new Error(`servo ${id} answered ${p.params.length} bytes for a ${reg[1]}-byte sync read`);
      out.set(id, F.fromLe(p.params));
    }
    return out;
  }

  close(): Promise<void> {
    return this.link.close();
  }

  /** Serializes transactions and retries timeouts. */
  private transact(packet: Uint8Array, expect: number[]): Promise<Map<number, F.Packet>> {
    const run = async (): Promise<Map<number, F.Packet>> => {
      let lastErr: Error | null = null;
      for (let attempt = 0; attempt <= this.retries; attempt++) {
        try {
          return await this.once(packet, expect);
        } catch (e) {
          lastErr = e as Error;
          if (!(e instanceof FeetechTimeoutError)) throw e;
        }
      }
      throw lastErr!;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private once(packet: Uint8Array, expect: number[]): Promise<Map<number, F.Packet>> {
    this.parser.reset();
    if (expect.length === 0) return this.link.write(packet).then(() => new Map());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.awaiting = null;
        const missing = expect.filter((id) => !aw.got.has(id));
        reject(new FeetechTimeoutError(`no answer from servo${missing.length > 1 ? 's' : ''} ${missing.join(', ')} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const aw: Awaiting = { ids: expect, got: new Map(), resolve, reject, timer };
      this.awaiting = aw;
      this.link.write(packet).catch((e) => {
        clearTimeout(timer);
        this.awaiting = null;
        reject(e as Error);
      });
    });
  }

  private onBytes(bytes: Uint8Array): void {
    const packets = this.parser.push(bytes);
    const aw = this.awaiting;
    for (const p of packets) {
      this.lastError.set(p.id, p.code);
      if (p.code !== 0) this.onStatusError?.(p.id, p.code);
      if (aw && aw.ids.includes(p.id)) aw.got.set(p.id, p);
    }
    if (aw && aw.got.size === aw.ids.length) {
      clearTimeout(aw.timer);
      this.awaiting = null;
      aw.resolve(aw.got);
    }
  }
}
