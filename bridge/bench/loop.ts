/**
 * A periodic command loop that measures round trips, and the statistics the bench prints.
 *
 * Commands go out on an absolute schedule t0 + k·period. A command's deadline is the next tick:
 * an ack later than one period (or never) is a missed deadline. Between an ack and the next tick
 * a `precise` loop sleeps with Atomics.wait (sub-millisecond, no busy spinning; fine in a worker
 * thread whose only job is this loop); otherwise it uses setTimeout (≈1 ms granularity). If an
 * ack is late, a timer sends the next command on time anyway.
 */

export interface LatencySummary {
  n: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  mean_ms: number;
}

export function summarize(samples: ArrayLike<number>): LatencySummary {
  const v = Float64Array.from(Array.from(samples).filter((x) => Number.isFinite(x))).sort();
  const q = (p: number): number => (v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] : NaN);
  let sum = 0;
  for (const x of v) sum += x;
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { n: v.length, p50_ms: r(q(0.5)), p90_ms: r(q(0.9)), p99_ms: r(q(0.99)), p999_ms: r(q(0.999)), max_ms: r(v.length ? v[v.length - 1] : NaN), mean_ms: r(v.length ? sum / v.length : NaN) };
}

export interface LoopResult {
  /** Round-trip times in ms (NaN: never acknowledged). */
  rtt: Float64Array;
  /** Ticks sent more than half a period late (scheduler, not hub). */
  lateTicks: number;
  missed: number;
  periodMs: number;
}

const sleepCell = typeof SharedArrayBuffer !== 'undefined' ? new Int32Array(new SharedArrayBuffer(4)) : null;

export class PeriodicLoop {
  private readonly period: number;
  private readonly count: number;
  private readonly send: (seq: number) => void;
  private readonly precise: boolean;
  private readonly sentAt: Float64Array;
  private readonly rtt: Float64Array;
  private t0 = 0;
  private next = 0;
  private timer: NodeJS.Timeout | null = null;
  private lateTicks = 0;
  private done: ((r: LoopResult) => void) | null = null;
  private finished = false;

  constructor(options: { hz: number; seconds: number; send: (seq: number) => void; precise?: boolean; startDelayMs?: number }) {
    this.period = 1000 / options.hz;
    this.count = Math.max(1, Math.round(options.seconds * options.hz));
    this.send = options.send;
    this.precise = options.precise ?? false;
    this.sentAt = new Float64Array(this.count);
    this.rtt = new Float64Array(this.count).fill(NaN);
    this.t0 = performance.now() + (options.startDelayMs ?? 0);
  }

  run(): Promise<LoopResult> {
    return new Promise((resolve) => {
      this.done = resolve;
      this.schedule();
    });
  }

  /** Call with the sequence number (1-based) of each acknowledged command. */
  ack(seq: number): void {
    const now = performance.now();
    const k = seq - 1;
    if (k < 0 || k >= this.count || !Number.isNaN(this.rtt[k])) return;
    this.rtt[k] = now - this.sentAt[k];
    if (k === this.next - 1 && !this.finished) this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.next >= this.count) return this.finish();
    const due = this.t0 + this.next * this.period;
    let wait = due - performance.now();
    if (wait > 0 && this.precise && sleepCell && wait < 2 * this.period) {
      Atomics.wait(sleepCell, 0, 0, wait);
      wait = 0;
    }
    if (wait > 0) {
      this.timer = setTimeout(() => this.tick(), wait);
      return;
    }
    this.tick();
  }

  private tick(): void {
    this.timer = null;
    if (this.next >= this.count) return this.finish();
    const k = this.next++;
    const now = performance.now();
    if (now - (this.t0 + k * this.period) > this.period / 2) this.lateTicks++;
    this.sentAt[k] = now;
    this.send(k + 1);
    // If the ack is late, send the next command on time anyway.
    const due = this.t0 + this.next * this.period;
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - performance.now() + this.period * 0.25));
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    // Give the last acks a moment.
    setTimeout(() => {
      let missed = 0;
      for (const x of this.rtt) if (!(x <= this.period)) missed++;
      this.done?.({ rtt: this.rtt, lateTicks: this.lateTicks, missed, periodMs: this.period });
    }, 200);
  }
}
