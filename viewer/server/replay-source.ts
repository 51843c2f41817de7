/**
 * `simreal view --replay session.mcap`: a bridge recording played back with a timeline.
 *
 * The recording is read once at start (bridge/mcap/reader.ts, time order) into per-robot
 * timelines: robot lists, hub states, observations and camera frames (frames up to a memory
 * budget; past it, later frames are left out and the page is told) and the estimates controllers
 * published of each robot's blocks. Playback moves a clock at `speed` × wall time; a seek jumps it
 * anywhere. At each tick the page gets what was true at the clock: the robot list and states, each
 * robot's newest observation, camera frame and estimate, and the drawn robot's pose, as a live
 * bridge would have shown them. The hub records an estimate as the controller sent it, without
 * the `by` it adds when relaying it; the replay names the controller that was connected when it
 * was sent (the one that connected last, where several were).
 */
import { performance } from 'node:perf_hooks';
import { readRecording } from '../../bridge/mcap/reader.ts';
import { EstimateSchema, FRAME_HEADER_BYTES, ObservationSchema, PeerSchema, RobotInfoSchema, RobotStateSchema, writeFrameHeader } from '../../bridge/protocol.ts';
import type { Frame, HubMessageOf, Observation, Peer, RobotInfo, RobotState } from '../../bridge/protocol.ts';
import { MAX_SPEED } from '../protocol.ts';
import type { ServerMessageOf, ViewerClientMessage } from '../protocol.ts';
import { RobotScene } from './robot-scene.ts';
import { Pages } from './source.ts';
import type { HelloInfo, PageLink, ViewerSource } from './source.ts';

export interface ReplaySourceOptions {
  file: string;
  /** Robot drawn in 3D (default: the first that reports a pose). */
  robot?: string;
  /** Playback speed (default 1). */
  speed?: number;
  /** Start playing at once (default true). */
  play?: boolean;
  /** Loop at the end (default false: stop there). */
  loop?: boolean;
  /** Ticks per second (default 60). */
  streamHz?: number;
  /** Most bytes of camera frames kept in memory (default 512 MiB). */
  frameBudgetBytes?: number;
}

interface Timed<T> { t: number; v: T }

/** Index of the last entry with t ≤ at (-1 if none). */
function lastAtOrBefore<T>(list: Array<Timed<T>>, at: number): number {
  let lo = 0, hi = list.length - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].t <= at) { ans = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return ans;
}

function frameBytes(f: Frame): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + f.payload.byteLength);
  writeFrameHeader(out, f);
  out.set(f.payload, FRAME_HEADER_BYTES);
  return out;
}

export class ReplaySource implements ViewerSource {
  readonly mode = 'replay' as const;
  private readonly pages = new Pages();
  private readonly options: ReplaySourceOptions;
  private readonly scene: RobotScene;
  private robotLists: Array<Timed<RobotInfo[]>> = [];
  private states = new Map<string, Array<Timed<RobotState>>>();
  private observations = new Map<string, Array<Timed<Observation>>>();
  private frames = new Map<string, Array<Timed<Uint8Array>>>();
  private estimates = new Map<string, Array<Timed<HubMessageOf<'estimate'>>>>();
  private startMs = 0;
  private endMs = 0;
  private messages = 0;
  private droppedFrames = 0;

  private t = 0;
  private playing: boolean;
  private speed: number;
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  private lastTimeline = 0;
  // What the pages were last sent, by index into the timelines.
  private shownList = -2;
  private readonly shownState = new Map<string, number>();
  private readonly shownObs = new Map<string, number>();
  private readonly shownFrame = new Map<string, number>();
  private readonly shownEstimate = new Map<string, number>();

  constructor(options: ReplaySourceOptions) {
    this.options = options;
    this.playing = options.play ?? true;
    this.speed = options.speed ?? 1;
    if (!(this.speed > 0 && this.speed <= MAX_SPEED)) throw new RangeError(`replay speed must be in (0, ${MAX_SPEED}], got ${this.speed}`);
    this.scene = new RobotScene(this.pages, { robot: options.robot, canEstop: false });
  }

  async start(): Promise<void> {
    const budget = this.options.frameBudgetBytes ?? 512 << 20;
    let frameBytesKept = 0;
    let first = Infinity, last = -Infinity;
    const push = <T>(map: Map<string, Array<Timed<T>>>, key: string, t: number, v: T): void => {
      let list = map.get(key);
      if (!list) map.set(key, (list = []));
      list.push({ t, v });
    };
    // Controllers connected at each point of the recording (session id → peer), in connect order.
    const controllers = new Map<string, Peer>();
    for await (const m of readRecording(this.options.file)) {
      this.messages++;
      first = Math.min(first, m.t);
      last = Math.max(last, m.t);
      if (m.frame) {
        if (m.robot === null) continue;
        if (frameBytesKept + m.frame.payload.byteLength > budget) { this.droppedFrames++; continue; }
        frameBytesKept += m.frame.payload.byteLength + FRAME_HEADER_BYTES;
        push(this.frames, `${m.robot}\u0000${m.frame.channel}`, m.t, frameBytes(m.frame));
        continue;
      }
      if (m.dir === 'session') {
        const e = m.json as { event?: unknown; session?: unknown } | undefined;
        const peer = PeerSchema.safeParse(e);
        if (e?.event === 'connect' && peer.success && peer.data.role === 'controller') controllers.set(peer.data.session, peer.data);
        else if (e?.event === 'disconnect' && typeof e.session === 'string') controllers.delete(e.session);
        continue;
      }
      const j = m.json as { op?: string; robots?: unknown; state?: unknown; robot?: unknown } | undefined;
      if (!j || typeof j.op !== 'string') continue;
      if (m.dir === 'out' && (j.op === 'robots' || j.op === 'welcome')) {
        const list = RobotInfoSchema.array().safeParse(j.robots);
        if (list.success && (j.op === 'robots' || list.data.length > 0)) this.robotLists.push({ t: m.t, v: list.data });
      } else if (m.dir === 'out' && (j.op === 'robot' || j.op === 'robot_removed')) {
        // Since protocol 1.1 the hub sends one robot's entry, or its removal: apply it to the last list.
        const prev = this.robotLists.length ? this.robotLists[this.robotLists.length - 1].v : [];
        const info = j.op === 'robot' ? RobotInfoSchema.safeParse((j as { info?: unknown }).info) : null;
        const id = info?.success ? info.data.id : typeof j.robot === 'string' ? j.robot : null;
        if (id !== null && (j.op === 'robot_removed' || info?.success)) {
          const next = prev.filter((r) => r.id !== id);
          if (info?.success) next.push(info.data);
          this.robotLists.push({ t: m.t, v: next });
        }
      } else if (m.dir === 'out' && j.op === 'robot_state' && typeof j.robot === 'string') {
        const s = RobotStateSchema.safeParse(j.state);
        if (s.success) push(this.states, j.robot, m.t, s.data);
      } else if (m.dir === 'in' && j.op === 'observation') {
        const o = ObservationSchema.safeParse(j);
        if (o.success) push(this.observations, o.data.robot, m.t, o.data);
      } else if (m.dir === 'in' && j.op === 'estimate') {
        const e = EstimateSchema.safeParse(j);
        if (e.success) push(this.estimates, e.data.robot, m.t, { ...e.data, by: [...controllers.values()].at(-1) ?? { role: 'controller', session: 'unknown' } });
      }
    }
    if (this.messages === 0) throw new Error(`${this.options.file} holds no messages`);
    // The timeline starts at the first observation (what came before is registration and setup).
    let firstObs = Infinity;
    for (const l of this.observations.values()) if (l.length) firstObs = Math.min(firstObs, l[0].t);
    this.startMs = Number.isFinite(firstObs) ? firstObs : first;
    this.endMs = Math.max(last, this.startMs + 1);
    this.t = this.startMs;
    this.scene.origin = this.startMs;
    this.present(true);
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), 1000 / (this.options.streamHz ?? 60));
  }

  /** What was read (for the CLI's summary and tests). */
  summary(): { startMs: number; endMs: number; messages: number; robots: string[]; observations: number; frames: number; estimates: number; droppedFrames: number } {
    const count = (m: Map<string, unknown[]>): number => [...m.values()].reduce((n, l) => n + l.length, 0);
    return {
      startMs: this.startMs, endMs: this.endMs, messages: this.messages, robots: this.robotIds(),
      observations: count(this.observations), frames: count(this.frames), estimates: count(this.estimates), droppedFrames: this.droppedFrames,
    };
  }

  hello(): HelloInfo {
    return { streamHz: this.options.streamHz ?? 60, scenarios: [], driver: 'replay' };
  }

  attach(page: PageLink): void {
    this.pages.add(page);
    this.scene.attach(page);
    for (const [key, i] of this.shownFrame) {
      const list = this.frames.get(key);
      if (list && i >= 0) page.sendFrame(list[i].v);
    }
    page.send(this.timeline());
    if (this.droppedFrames > 0) page.send({ op: 'notice', level: 'warn', message: `${this.droppedFrames} camera frames past the memory budget are not shown` });
  }

  detach(page: PageLink): void {
    this.pages.delete(page);
  }

  handle(page: PageLink, msg: ViewerClientMessage): void {
    switch (msg.op) {
      case 'seek':
        this.t = Math.max(this.startMs, Math.min(this.endMs, msg.t));
        this.present(true);
        break;
      case 'play':
      case 'resume':
        if (this.t >= this.endMs) {
          this.t = this.startMs;
          this.present(true);
        }
        this.playing = true;
        this.lastTick = performance.now();
        break;
      case 'pause':
        this.playing = false;
        break;
      case 'speed':
        if (msg.value > 0) this.speed = msg.value;
        break;
      default:
        page.send({ op: 'notice', level: 'warn', message: `${msg.op} does nothing in replay mode` });
        return;
    }
    this.pages.send(this.timeline());
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The playback clock (ms since the Unix epoch). */
  get time(): number {
    return this.t;
  }

  // -------------------------------------------------------------------------------------------

  private robotIds(): string[] {
    const ids = new Set<string>([...this.observations.keys(), ...this.states.keys()]);
    for (const l of this.robotLists) for (const r of l.v) ids.add(r.id);
    return [...ids].sort();
  }

  private timeline(): ServerMessageOf<'timeline'> {
    return {
      op: 'timeline', file: this.options.file, startMs: this.startMs, endMs: this.endMs, t: this.t,
      playing: this.playing, speed: this.speed, robots: this.robotIds(), messages: this.messages,
    };
  }

  private tick(): void {
    const now = performance.now();
    const dt = Math.min(now - this.lastTick, 250);
    this.lastTick = now;
    if (this.playing) {
      this.t += dt * this.speed;
      if (this.t >= this.endMs) {
        if (this.options.loop) {
          this.t = this.startMs;
          this.present(true);
        } else {
          this.t = this.endMs;
          this.playing = false;
          this.pages.send(this.timeline());
        }
      }
      this.present(false);
      if (now - this.lastTimeline >= 100) {
        this.lastTimeline = now;
        this.pages.send(this.timeline());
      }
    }
    this.scene.flush();
  }

  /**
   * Sends what changed between what the pages last saw and the clock. `jump` (a seek, a loop):
   * the clock may have moved backwards, so each robot's newest observation, frame and estimate are
   * resent.
   */
  private present(jump: boolean): void {
    const t = this.t;
    if (jump) {
      this.shownObs.clear();
      this.shownFrame.clear();
      this.shownEstimate.clear();
      this.scene.clearObservations();
    }
    // Robot list, then each robot's hub state at t.
    const li = lastAtOrBefore(this.robotLists, t);
    const firstList = this.robotLists[0]?.v;
    if (li !== this.shownList || jump) {
      this.shownList = li;
      const list = li >= 0 ? this.robotLists[li].v : firstList ?? [];
      this.scene.setRobots(list.map((r) => {
        const states = this.states.get(r.id);
        const si = states ? lastAtOrBefore(states, t) : -1;
        return si >= 0 ? { ...r, state: states![si].v } : r;
      }));
      this.shownState.clear();
    }
    for (const [id, states] of this.states) {
      const si = lastAtOrBefore(states, t);
      if (si >= 0 && si !== this.shownState.get(id)) {
        this.shownState.set(id, si);
        this.scene.robotState(id, states[si].v);
      }
    }
    for (const [id, list] of this.observations) {
      const oi = lastAtOrBefore(list, t);
      if (oi >= 0 && oi !== this.shownObs.get(id)) {
        this.shownObs.set(id, oi);
        this.scene.observation(list[oi].v);
      }
    }
    for (const [key, list] of this.frames) {
      const fi = lastAtOrBefore(list, t);
      if (fi >= 0 && fi !== this.shownFrame.get(key)) {
        this.shownFrame.set(key, fi);
        this.pages.sendFrame(list[fi].v);
      }
    }
    for (const [id, list] of this.estimates) {
      const ei = lastAtOrBefore(list, t);
      if (ei >= 0 && ei !== this.shownEstimate.get(id)) {
        this.shownEstimate.set(id, ei);
        this.scene.relay(list[ei].v);
      }
    }
    if (jump) this.scene.flush();
  }
}
