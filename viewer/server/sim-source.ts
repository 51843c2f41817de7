/**
 * The live simulation behind `simreal view <scenario>`: a TabletopEnv in its scenario's time
 * limit, driven by the expert or a policy, paced against the wall clock and streamed to pages.
 *
 * Pacing: a simulated clock advances by wall time × speed; control steps run whenever the clock
 * passes the newest state, and every stream tick (`streamHz`, default 60) sends one pose frame
 * interpolated between the last two control steps at the clock's time. So the stream runs at
 * `streamHz` whatever the control rate (20 Hz in the shipped scenarios), and the picture trails
 * the simulation by at most one control period. Speed 0 runs as fast as the CPU allows and
 * sends the newest state each tick. Paused, single-stepped or reset, the frame is the exact state.
 *
 * An episode that ends (success, failure or the time limit) stays on screen for `holdMs`, then
 * the next seed starts if auto-reset is on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TabletopEnv, TimeLimit } from '../../sim/env.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import { loadScenario } from '../../sim/scenario.ts';
import type { Scenario } from '../../sim/scenario.ts';
import type { SimState } from '../../sim/state.ts';
import { CONTACT_COLUMNS, MAX_SPEED, POSE_COLUMNS, encodeContactFrame, encodePoseFrame } from '../protocol.ts';
import type { Moment, ScenarioEntry, ViewerClientMessage } from '../protocol.ts';
import type { ActionSource, Driver } from './action-source.ts';
import { expertDriver } from './action-source.ts';
import { Pages } from './source.ts';
import type { HelloInfo, PageLink, ViewerSource } from './source.ts';

export interface SimSourceOptions {
  /** Scenario file to start with. */
  scenario: string;
  /** Scenarios the page may switch to (default: every valid *.json beside the first one). */
  scenarios?: ScenarioEntry[];
  /** First seed (default 0). */
  seed?: number;
  /** What drives the robot (default: the expert). */
  driver?: Driver;
  /** Pose frames per second (default 60). */
  streamHz?: number;
  /** Simulated seconds per wall second; 0: as fast as possible (default 1). */
  speed?: number;
  /** Start paused (default false). */
  paused?: boolean;
  /** Start the next seed when an episode ends (default true). */
  autoReset?: boolean;
  /** How long a finished episode stays on screen before the next one (ms, default 1500). */
  holdMs?: number;
  /** Physics randomization of the episodes (default 'train', as the data was generated). */
  randomization?: RandomizationMode;
  /** Largest contact count streamed (default 256). */
  maxContacts?: number;
  /** Called for errors the page is also told about (default: none). */
  log?: (line: string) => void;
}

/** Every scenario file in `dir` that loads, as picker entries (paths as given). */
export function listScenarios(dir: string): ScenarioEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: ScenarioEntry[] = [];
  for (const n of names) {
    const p = path.join(dir, n);
    try {
      const s = loadScenario(p);
      out.push({ path: p, id: s.id, ...(s.description ? { description: s.description } : {}) });
    } catch {
      // not a scenario (or a broken one): not offered
    }
  }
  return out;
}

// Interpolation temporaries.
const MAX_TICK_STEPS = 200;

export class SimSource implements ViewerSource {
  readonly mode = 'sim' as const;
  private readonly pages = new Pages();
  private readonly options: Required<Omit<SimSourceOptions, 'scenarios' | 'log'>> & Pick<SimSourceOptions, 'log'>;
  private scenarios: ScenarioEntry[] = [];
  private entry!: ScenarioEntry;
  private scenario!: Scenario;
  private env!: TabletopEnv;
  private limited!: TimeLimit;
  private driver: Driver;
  private actions!: ActionSource;
  /** The observation the last reset or step returned (what a policy acts on). */
  private obs: Float32Array = new Float32Array(0);

  // Episode state.
  private episode = -1;
  private seed: number;
  private done = false;
  private doneAt = 0;
  private reward = 0;
  private success = false;
  private fail = false;
  private stage = '';

  // The two newest control steps and the clock between them.
  private bodies = 0;
  private prev = new Float64Array(0);
  private next = new Float64Array(0);
  private out = new Float64Array(0);
  private prevT = 0;
  private nextT = 0;
  private prevStep = 0;
  private nextStep = 0;
  private clock = 0;

  // Controls.
  private paused: boolean;
  private speed: number;
  private autoReset: boolean;
  private contacts = false;
  private contactBuf: Float32Array;
  private contactCount = 0;

  // Loop and rate.
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  private nextTickAt = 0;
  private seq = 0;
  private stepsSince = 0;
  private rateSince = 0;
  private stepsPerSecond = 0;
  private dirty = true;
  private readonly moment: Moment = {
    time: 0, step: 0, reward: 0, success: false, fail: false, paused: false, done: false, stepsPerSecond: 0, episode: 0, seed: 0, speed: 1,
  };

  constructor(options: SimSourceOptions) {
    this.options = {
      scenario: options.scenario,
      seed: options.seed ?? 0,
      driver: options.driver ?? expertDriver(),
      streamHz: options.streamHz ?? 60,
      speed: options.speed ?? 1,
      paused: options.paused ?? false,
      autoReset: options.autoReset ?? true,
      holdMs: options.holdMs ?? 1500,
      randomization: options.randomization ?? 'train',
      maxContacts: options.maxContacts ?? 256,
      log: options.log,
    };
    if (!(this.options.streamHz >= 1 && this.options.streamHz <= 240)) throw new RangeError(`streamHz must be in [1, 240], got ${this.options.streamHz}`);
    if (!(this.options.speed >= 0 && this.options.speed <= MAX_SPEED)) throw new RangeError(`speed must be in [0, ${MAX_SPEED}], got ${this.options.speed}`);
    this.scenarios = options.scenarios ?? [];
    this.seed = this.options.seed;
    this.driver = this.options.driver;
    this.paused = this.options.paused;
    this.speed = this.options.speed;
    this.autoReset = this.options.autoReset;
    this.contactBuf = new Float32Array(this.options.maxContacts * CONTACT_COLUMNS);
  }

  async start(): Promise<void> {
    const scenario = loadScenario(this.options.scenario);
    const entry: ScenarioEntry = { path: this.options.scenario, id: scenario.id, ...(scenario.description ? { description: scenario.description } : {}) };
    if (this.scenarios.length === 0) this.scenarios = listScenarios(path.dirname(this.options.scenario));
    if (!this.scenarios.some((s) => s.path === entry.path)) this.scenarios = [entry, ...this.scenarios];
    this.load(entry, scenario);
    this.resetEpisode(this.seed);
    this.lastTick = performance.now();
    this.rateSince = this.lastTick;
    this.nextTickAt = this.lastTick;
    this.schedule();
  }

  hello(): HelloInfo {
    return { streamHz: this.options.streamHz, scenarios: this.scenarios, driver: this.driver.name };
  }

  attach(page: PageLink): void {
    this.pages.add(page);
    page.send(this.episodeMessage());
    page.send(this.statusMessage());
    page.sendFrame(this.poseFrame(this.currentAlpha()));
    if (this.contacts) page.sendFrame(encodeContactFrame(this.contactBuf, this.contactCount, this.seq));
  }

  detach(page: PageLink): void {
    this.pages.delete(page);
  }

  handle(page: PageLink, msg: ViewerClientMessage): void {
    switch (msg.op) {
      case 'pause':
        this.pause();
        break;
      case 'resume':
        if (this.done) this.resetEpisode(this.seed + 1 > 0xffffffff ? 0 : this.seed + 1);
        this.paused = false;
        this.lastTick = performance.now();
        break;
      case 'step':
        this.pause();
        for (let i = 0; i < msg.n && !this.done; i++) this.safeStep(true);
        this.clock = this.nextT;
        break;
      case 'reset':
        this.resetEpisode(msg.seed ?? this.seed);
        break;
      case 'scenario': {
        const e = this.scenarios.find((s) => s.path === msg.path);
        if (!e) {
          page.send({ op: 'notice', level: 'error', message: `scenario ${msg.path} is not one this server offers` });
          return;
        }
        const before = { entry: this.entry, scenario: this.scenario, seed: this.seed };
        try {
          this.load(e, loadScenario(e.path));
          this.resetEpisode(msg.seed ?? this.seed);
        } catch (err) {
          // Not loadable, or the driver cannot drive it (a policy trained for another task): stay.
          this.load(before.entry, before.scenario);
          this.resetEpisode(before.seed);
          page.send({ op: 'notice', level: 'error', message: `cannot switch to ${e.path}: ${(err as Error).message}`.slice(0, 1000) });
        }
        break;
      }
      case 'speed':
        this.speed = msg.value;
        this.lastTick = performance.now();
        break;
      case 'autoReset':
        this.autoReset = msg.on;
        if (msg.on && this.done) this.doneAt = performance.now();
        break;
      case 'contacts':
        this.contacts = msg.on;
        if (msg.on) this.collectContacts();
        break;
      default:
        page.send({ op: 'notice', level: 'warn', message: `${msg.op} does nothing in sim mode` });
        return;
    }
    this.pages.send(this.statusMessage());
    this.dirty = true;
    this.sendFrames(this.currentAlpha());
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.driver.dispose?.();
  }

  /** The state being shown (for tests and tools). */
  current(): { seed: number; episode: number; step: number; time: number; paused: boolean; done: boolean; scenario: string; state: SimState } {
    return { seed: this.seed, episode: this.episode, step: this.nextStep, time: this.nextT, paused: this.paused, done: this.done, scenario: this.entry.path, state: this.env.state() };
  }

  // -------------------------------------------------------------------------------------------

  private load(entry: ScenarioEntry, scenario: Scenario): void {
    this.entry = entry;
    this.scenario = scenario;
    this.env = new TabletopEnv(scenario, { randomization: this.options.randomization });
    this.limited = new TimeLimit(this.env);
  }

  private pause(): void {
    this.paused = true;
    this.clock = this.nextT;
  }

  private resetEpisode(seed: number): void {
    this.seed = seed >>> 0;
    const { obs, info } = this.limited.reset({ seed: this.seed });
    this.actions = this.driver.create(this.env);
    this.obs = obs;
    this.episode++;
    this.done = false;
    this.reward = 0;
    this.success = info.evaluation.success;
    this.fail = info.evaluation.fail;
    this.stage = this.actions.stage ?? '';
    const state = this.env.state();
    this.bodies = state.bodies.length;
    const n = this.bodies * POSE_COLUMNS;
    if (this.next.length !== n) {
      this.prev = new Float64Array(n);
      this.next = new Float64Array(n);
      this.out = new Float64Array(n);
    }
    writePoses(state, this.next);
    this.prev.set(this.next);
    this.prevT = this.nextT = this.clock = state.time;
    this.prevStep = this.nextStep = state.step;
    this.contactCount = 0;
    if (this.contacts) this.collectContacts();
    this.pages.send(this.episodeMessage());
    this.dirty = true;
  }

  /** One control step; `record` copies the new state into the interpolation pair. */
  private stepOnce(record: boolean): void {
    const a = this.actions.act(this.obs);
    const r = this.limited.step(a);
    this.obs = r.obs;
    this.reward = r.reward;
    this.success = r.info.success;
    this.fail = r.info.fail;
    this.stepsSince++;
    const scene = this.env.scene;
    if (record) {
      const t = this.prev;
      this.prev = this.next;
      this.next = t;
      this.prevT = this.nextT;
      this.prevStep = this.nextStep;
      writePoses(this.env.state(), this.next);
    }
    this.nextT = scene.time;
    this.nextStep = scene.step;
    const stage = this.actions.stage ?? '';
    if (stage !== this.stage) {
      this.stage = stage;
      this.pages.send(this.statusMessage());
    }
    if (r.terminated || r.truncated) {
      this.done = true;
      this.doneAt = performance.now();
      if (!record) {
        writePoses(this.env.state(), this.next);
        this.prev.set(this.next);
        this.prevT = this.nextT;
        this.prevStep = this.nextStep;
      }
    }
  }

  /** A step that reports a failing driver or diverging physics instead of throwing. */
  private safeStep(record: boolean): boolean {
    try {
      this.stepOnce(record);
      return true;
    } catch (err) {
      const message = `the simulation stopped: ${(err as Error).message}`;
      this.options.log?.(message);
      this.pages.send({ op: 'notice', level: 'error', message: message.slice(0, 1000) });
      this.paused = true;
      return false;
    }
  }

  private schedule(): void {
    const period = 1000 / this.options.streamHz;
    this.nextTickAt += period;
    const now = performance.now();
    if (this.nextTickAt < now - period) this.nextTickAt = now; // fell behind: do not burst
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.nextTickAt - now));
  }

  private tick(): void {
    const now = performance.now();
    const dt = Math.min(now - this.lastTick, 250) / 1000;
    this.lastTick = now;
    if (!this.paused && !this.done) this.advance(dt, now);
    if (this.done && this.autoReset && !this.paused && now - this.doneAt >= this.options.holdMs) {
      this.resetEpisode(this.seed + 1 > 0xffffffff ? 0 : this.seed + 1);
    }
    if (now - this.rateSince >= 500) {
      this.stepsPerSecond = (this.stepsSince * 1000) / (now - this.rateSince);
      this.stepsSince = 0;
      this.rateSince = now;
      if (this.paused || this.done) this.dirty = true;
    }
    if (this.pages.size > 0 && (this.dirty || (!this.paused && !this.done))) this.sendFrames(this.currentAlpha());
    this.schedule();
  }

  private advance(dt: number, now: number): void {
    if (this.speed === 0) {
      // As fast as possible: spend most of a tick stepping, show the newest state.
      const budget = (600 / this.options.streamHz);
      let steps = 0;
      while (!this.done && (steps === 0 || performance.now() - now < budget)) {
        if (!this.safeStep(false)) return;
        steps++;
      }
      writePoses(this.env.state(), this.next);
      this.prev.set(this.next);
      this.prevT = this.nextT;
      this.prevStep = this.nextStep;
      this.clock = this.nextT;
      if (this.contacts) this.collectContacts();
      return;
    }
    this.clock += dt * this.speed;
    let steps = 0;
    while (!this.done && this.nextT < this.clock) {
      if (steps >= MAX_TICK_STEPS || !this.safeStep(true)) {
        this.clock = this.nextT; // cannot keep up: drop the backlog rather than spiral
        break;
      }
      steps++;
    }
    if (this.done && this.clock > this.nextT) this.clock = this.nextT;
    if (steps > 0 && this.contacts) this.collectContacts();
  }

  private currentAlpha(): number {
    const span = this.nextT - this.prevT;
    if (span <= 0) return 1;
    return Math.min(1, Math.max(0, (this.clock - this.prevT) / span));
  }

  private sendFrames(alpha: number): void {
    this.dirty = false;
    this.pages.sendFrame(this.poseFrame(alpha));
    if (this.contacts) this.pages.sendFrame(encodeContactFrame(this.contactBuf, this.contactCount, this.seq));
  }

  private poseFrame(alpha: number): Uint8Array {
    interpolatePoses(this.prev, this.next, alpha, this.bodies, this.out);
    const m = this.moment;
    m.time = this.prevT + (this.nextT - this.prevT) * alpha;
    m.step = alpha >= 1 ? this.nextStep : this.prevStep;
    m.reward = this.reward;
    m.success = this.success;
    m.fail = this.fail;
    m.paused = this.paused;
    m.done = this.done;
    m.stepsPerSecond = this.stepsPerSecond;
    m.episode = this.episode;
    m.seed = this.seed;
    m.speed = this.speed;
    return encodePoseFrame(m, this.out, this.bodies, this.seq++);
  }

  private collectContacts(): void {
    const world = this.env.scene.tabletop.world;
    const buf = this.contactBuf;
    const max = this.options.maxContacts;
    let n = 0;
    for (const c of world.contacts) {
      if (n >= max) break;
      const o = n * CONTACT_COLUMNS;
      buf[o] = c.bi.position.x + c.ri.x;
      buf[o + 1] = c.bi.position.y + c.ri.y;
      buf[o + 2] = c.bi.position.z + c.ri.z;
      buf[o + 3] = c.ni.x;
      buf[o + 4] = c.ni.y;
      buf[o + 5] = c.ni.z;
      n++;
    }
    this.contactCount = n;
  }

  private episodeMessage() {
    return {
      op: 'episode' as const,
      episode: this.episode,
      seed: this.seed,
      scenario: this.entry,
      taskId: this.scenario.task.id,
      maxSteps: this.limited.maxSteps,
      controlHz: this.scenario.control.rateHz,
      ...(this.scenario.visual ? { visual: this.scenario.visual } : {}),
      state: this.env.state(),
    };
  }

  private statusMessage() {
    return {
      op: 'status' as const,
      paused: this.paused,
      speed: this.speed,
      autoReset: this.autoReset,
      contacts: this.contacts,
      ...(this.stage ? { stage: this.stage.slice(0, 64) } : {}),
    };
  }
}

/** SimState bodies → rows `[id, px, py, pz, qx, qy, qz, qw]`. */
export function writePoses(state: SimState, out: Float64Array): void {
  const bodies = state.bodies;
  for (let i = 0; i < bodies.length; i++) {
    const b = bodies[i], o = i * POSE_COLUMNS;
    out[o] = b.id;
    out[o + 1] = b.position[0]; out[o + 2] = b.position[1]; out[o + 3] = b.position[2];
    out[o + 4] = b.quaternion[0]; out[o + 5] = b.quaternion[1]; out[o + 6] = b.quaternion[2]; out[o + 7] = b.quaternion[3];
  }
}

/** Pose rows between `a` (alpha 0) and `b` (alpha 1): positions linear, rotations normalized-linear on the short arc. */
export function interpolatePoses(a: Float64Array, b: Float64Array, alpha: number, bodies: number, out: Float64Array): void {
  if (alpha >= 1) {
    out.set(b.subarray(0, bodies * POSE_COLUMNS));
    return;
  }
  const u = 1 - alpha;
  for (let i = 0; i < bodies; i++) {
    const o = i * POSE_COLUMNS;
    out[o] = b[o];
    out[o + 1] = u * a[o + 1] + alpha * b[o + 1];
    out[o + 2] = u * a[o + 2] + alpha * b[o + 2];
    out[o + 3] = u * a[o + 3] + alpha * b[o + 3];
    const dot = a[o + 4] * b[o + 4] + a[o + 5] * b[o + 5] + a[o + 6] * b[o + 6] + a[o + 7] * b[o + 7];
    const s = dot < 0 ? -alpha : alpha;
    const x = u * a[o + 4] + s * b[o + 4], y = u * a[o + 5] + s * b[o + 5], z = u * a[o + 6] + s * b[o + 6], w = u * a[o + 7] + s * b[o + 7];
    const n = Math.hypot(x, y, z, w) || 1;
    out[o + 4] = x / n; out[o + 5] = y / n; out[o + 6] = z / n; out[o + 7] = w / n;
  }
}
