/**
 * HubProfile: where the hub's CPU time goes, per message kind and stage. Off unless the hub is
 * made with `profile: true` (`bench bridge` does); each stage is timed with performance.now().
 *
 * Stages: `parse` (bytes → validated message), `validate` (roles, ownership, lease, e-stop,
 * windows: everything the hub decides that is not the clamp), `safety` (the command clamp),
 * `fanout` (handing messages to sockets: to the robot, the controller, subscribers), `record`
 * (handing entries to the recorder). `validate` is what remains of a message's handling once the
 * other stages are taken out.
 */
import { performance } from 'node:perf_hooks';

export const PROFILE_STAGES = ['parse', 'validate', 'safety', 'fanout', 'record'] as const;
export type ProfileStage = (typeof PROFILE_STAGES)[number];

const STAGE_INDEX: Record<ProfileStage, number> = { parse: 0, validate: 1, safety: 2, fanout: 3, record: 4 };

export interface ProfileRow {
  messages: number;
  /** Mean microseconds per message, by stage, and their sum. */
  us: Record<ProfileStage | 'total', number>;
  /** Work done outside any one message (timers, deferred frame sends, welcomes): calls and total ms. */
  outside?: { calls: number; ms: Record<ProfileStage, number> };
}

export class HubProfile {
  private readonly ops = new Map<string, Float64Array>();
  /** The message being handled: its op and its stage times so far. */
  private op: string | null = null;
  private readonly cur = new Float64Array(5);
  private parseAtBegin = 0;

  /** A message starts being handled (`parseMs`: what parsing it took). */
  begin(op: string, parseMs: number): void {
    this.op = op;
    this.cur.fill(0);
    this.cur[0] = parseMs;
    this.parseAtBegin = parseMs;
  }

  /** Time spent in a stage, inside the current message or (for deferred work) under `op`. */
  add(stage: ProfileStage, ms: number, op?: string): void {
    if (this.op !== null && op === undefined) {
      this.cur[STAGE_INDEX[stage]] += ms;
      return;
    }
    const row = this.row(op ?? 'other');
    row[6 + STAGE_INDEX[stage]] += ms;
    row[11]++;
  }

  /** The current message is handled; `handleMs` is everything after parsing. */
  end(handleMs: number): void {
    if (this.op === null) return;
    const row = this.row(this.op);
    const c = this.cur;
    c[1] = Math.max(0, handleMs - (c[0] - this.parseAtBegin) - c[2] - c[3] - c[4]);
    row[0]++;
    for (let i = 0; i < 5; i++) row[1 + i] += c[i];
    this.op = null;
  }

  /** Forgets what was measured (to measure a steady state only). */
  reset(): void {
    this.ops.clear();
  }

  now(): number {
    return performance.now();
  }

  report(): Record<string, ProfileRow> {
    const out: Record<string, ProfileRow> = {};
    for (const [op, r] of this.ops) {
      const n = Math.max(1, r[0]);
      const outside = r[11] > 0 ? { calls: r[11], ms: Object.fromEntries(PROFILE_STAGES.map((s) => [s, Math.round(r[6 + STAGE_INDEX[s]] * 100) / 100])) as Record<ProfileStage, number> } : undefined;
      const us = {} as Record<ProfileStage | 'total', number>;
      let total = 0;
      for (const s of PROFILE_STAGES) {
        const v = (r[1 + STAGE_INDEX[s]] / n) * 1000;
        us[s] = Math.round(v * 100) / 100;
        total += v;
      }
      us.total = Math.round(total * 100) / 100;
      out[op] = { messages: r[0], us, ...(outside ? { outside } : {}) };
    }
    return out;
  }

  private row(op: string): Float64Array {
    let r = this.ops.get(op);
    if (!r) {
      // [messages, 5 stages within messages, 5 stages outside them, outside calls]
      r = new Float64Array(12);
      this.ops.set(op, r);
    }
    return r;
  }
}
