/**
 * The viewer page: connects to the `simreal view` server, draws what it streams with the shared
 * scene builder, and sends the user's controls back. One page for the three modes the server
 * can be in: `sim` (a live simulation with its controls), `bridge` (robots on a hub, read-only
 * unless the server holds the controller token, then with e-stop) and `replay` (a recording with
 * a timeline).
 */
import type { Frame, HubMessage, RobotInfo } from '../../bridge/protocol.ts';
import type { SimState } from '../../sim/state.ts';
import { SIM_HANDLE, readContactFrame, readPoseFrame } from '../protocol.ts';
import type { Moment, ServerMessageOf, ViewerMode, ViewerServerMessage } from '../protocol.ts';
import { Connection } from './connection.ts';
import { ESTIMATE_MAX_AGE_MS, RobotPanel } from './robot-panel.ts';
import { Stage } from './stage.ts';

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const ui = {
  banner: $('banner'),
  mode: $('mode-label'),
  simControls: $('sim-controls'),
  pause: $<HTMLButtonElement>('pause'),
  resume: $<HTMLButtonElement>('resume'),
  step: $<HTMLButtonElement>('step'),
  reset: $<HTMLButtonElement>('reset'),
  seed: $<HTMLInputElement>('seed'),
  scenario: $<HTMLSelectElement>('scenario'),
  speed: $<HTMLSelectElement>('speed'),
  autoReset: $<HTMLInputElement>('auto-reset'),
  contacts: $<HTMLInputElement>('toggle-contacts'),
  frustum: $<HTMLInputElement>('toggle-frustum'),
  randomized: $<HTMLInputElement>('toggle-randomized'),
  newLook: $<HTMLButtonElement>('new-look'),
  labelClean: $('label-clean'),
  labelRandom: $('label-random'),
  hud: {
    time: $('hud-time'), step: $('hud-step'), sps: $('hud-sps'), reward: $('hud-reward'),
    success: $('hud-success'), stage: $('hud-stage'), fps: $('hud-fps'), driver: $('hud-driver'),
  },
  robots: $('robots'),
  notices: $('notices'),
  timeline: $('timeline'),
  tlPlay: $<HTMLButtonElement>('tl-play'),
  tlRange: $<HTMLInputElement>('tl-range'),
  tlTime: $('tl-time'),
  canvas: $<HTMLCanvasElement>('view'),
};

const stage = new Stage(ui.canvas);
const panel = new RobotPanel(ui.robots, (robot) => conn.send({ op: 'estop', robot, reason: 'viewer e-stop' }));

/** What the page knows, exposed for tests and tools as `window.simrealViewer`. */
const view = {
  ready: false,
  backend: '',
  mode: '' as ViewerMode | '',
  server: '',
  connected: false,
  /** Bridge mode: whether the server is connected to the hub. */
  linked: false,
  opens: 0,
  hellos: 0,
  episode: -1,
  seed: 0,
  scenario: '',
  /** The latest streamed moment (sim mode, and the robot pose in bridge and replay modes). */
  moment: { time: 0, step: 0, reward: 0, success: false, fail: false, paused: false, done: false, stepsPerSecond: 0, episode: -1, seed: 0, speed: 1 } as Moment,
  poseFrames: 0,
  contactFrames: 0,
  cameraFrames: 0,
  /** Estimates controllers published for the robot drawn in 3D (bridge mode). */
  estimates: 0,
  status: null as ServerMessageOf<'status'> | null,
  timeline: null as ServerMessageOf<'timeline'> | null,
  notices: [] as string[],
  badMessages: 0,
  /** requestAnimationFrame deltas (ms), newest last; at most 4096 kept. */
  rafDeltas: new Float64Array(4096),
  rafCount: 0,
  stage,
  /** Canvas position (CSS px from the canvas's top-left) of a world point in the clean view. */
  project: (x: number, y: number, z: number) => stage.project(x, y, z),
  /** World position of a body as last drawn. */
  bodyPosition: (name: string): [number, number, number] | null => {
    const b = stage.state?.bodies.find((x) => x.name === name);
    return b ? [b.position[0], b.position[1], b.position[2]] : null;
  },
  state: (): SimState | null => stage.state,
  pick: (x: number, y: number) => stage.pick(x, y),
  /** The estimated blocks drawn as ghost boxes. */
  ghosts: () => stage.ghostBlocks,
  /** The camera panels: frames drawn and estimated blocks outlined in the last one. */
  cameras: () => panel.cameras(),
};
(window as unknown as { simrealViewer: typeof view }).simrealViewer = view;

let tlDragging = false;
let fpsFrames = 0;
let fpsSince = performance.now();
let fps = 0;
let hudDirty = true;
let hudAt = 0;
/** When the ghost boxes were last set (page clock, ms; 0: none shown). */
let ghostsAt = 0;

const conn = new Connection({
  onOpen() {
    view.connected = true;
    view.opens = conn.opens;
    showBanner();
  },
  onClose() {
    view.connected = false;
    showBanner();
  },
  onMessage: handleMessage,
  onFrame: handleFrame,
  onBadMessage(reason) {
    view.badMessages++;
    notice('warn', `ignored a bad message from the server: ${reason}`);
  },
});

function handleMessage(msg: ViewerServerMessage): void {
  switch (msg.op) {
    case 'hello': {
      if (view.server && view.server !== msg.server) notice('info', 'the viewer server restarted');
      view.server = msg.server;
      view.hellos++;
      setMode(msg.mode);
      ui.hud.driver.textContent = msg.mode === 'sim' ? `driver: ${msg.driver}` : msg.bridge ? `${msg.bridge.url} as ${msg.bridge.role}` : '';
      fillScenarios(msg.scenarios);
      break;
    }
    case 'episode': {
      stage.setEpisode(msg.state, msg.seed, msg.visual);
      view.episode = msg.episode;
      view.seed = msg.seed;
      view.scenario = msg.scenario.path;
      if (document.activeElement !== ui.seed) ui.seed.value = String(msg.seed);
      if (ui.scenario.value !== msg.scenario.path) ui.scenario.value = msg.scenario.path;
      view.moment.time = msg.state.time;
      view.moment.step = msg.state.step;
      view.moment.episode = msg.episode;
      view.moment.seed = msg.seed;
      hudDirty = true;
      break;
    }
    case 'status': {
      view.status = msg;
      ui.pause.disabled = msg.paused;
      ui.resume.disabled = !msg.paused;
      ui.autoReset.checked = msg.autoReset;
      ui.contacts.checked = msg.contacts;
      stage.setContactsVisible(msg.contacts);
      const sp = String(msg.speed);
      if ([...ui.speed.options].some((o) => o.value === sp)) ui.speed.value = sp;
      ui.hud.stage.textContent = msg.stage ?? '–';
      break;
    }
    case 'timeline': {
      view.timeline = msg;
      ui.timeline.hidden = false;
      ui.tlRange.max = String(Math.max(1, Math.round(msg.endMs - msg.startMs)));
      if (!tlDragging) ui.tlRange.value = String(Math.round(msg.t - msg.startMs));
      ui.tlTime.textContent = `${((msg.t - msg.startMs) / 1000).toFixed(2)} / ${((msg.endMs - msg.startMs) / 1000).toFixed(2)} s`;
      ui.tlPlay.textContent = msg.playing ? 'Pause' : 'Play';
      break;
    }
    case 'robots':
      panel.setRobots(msg.robots, msg.canEstop);
      break;
    case 'link':
      if (msg.connected !== view.linked) notice(msg.connected ? 'info' : 'warn', msg.message);
      view.linked = msg.connected;
      panel.setLink(msg.connected, msg.message);
      showBanner();
      break;
    case 'hub':
      handleHub(msg.msg);
      break;
    case 'notice':
      notice(msg.level, msg.message);
      break;
  }
}

/** The banner: the viewer server is unreachable, or (bridge mode) the server lost the bridge. */
function showBanner(): void {
  if (!view.connected) {
    ui.banner.textContent = view.opens > 0 ? 'Disconnected from the viewer server — reconnecting…' : 'Connecting to the viewer server…';
    ui.banner.className = 'banner';
    ui.banner.hidden = false;
  } else if (view.mode === 'bridge' && !view.linked) {
    ui.banner.textContent = 'The viewer server lost the bridge — reconnecting…';
    ui.banner.className = 'banner warn';
    ui.banner.hidden = false;
  } else {
    ui.banner.hidden = true;
  }
}

function handleHub(m: HubMessage): void {
  switch (m.op) {
    case 'observation': panel.observation(m); break;
    case 'robot_state': panel.robotState(m.robot, m.state); break;
    case 'estop': panel.estop(m.robot, m.reason); break;
    case 'hold': panel.hold(m.robot, m.message); break;
    case 'robots': panel.setRobots(m.robots as RobotInfo[], null); break;
    case 'status': notice(m.level, m.message); break;
    case 'estimate':
      panel.estimate(m);
      // Ghost boxes for the robot drawn in 3D (its episode's scenario is `robot:<id>`); they go
      // when its controllers stop publishing (frame()).
      if (view.scenario === `robot:${m.robot}`) {
        stage.setGhosts(m.blocks);
        ghostsAt = performance.now();
        view.estimates++;
      }
      break;
    default: break;
  }
}

function handleFrame(frame: Frame): void {
  if (frame.handle !== SIM_HANDLE) {
    if (panel.frame(frame)) view.cameraFrames++;
    return;
  }
  const rows = readPoseFrame(frame, view.moment);
  if (rows) {
    view.poseFrames++;
    stage.applyPoses(rows, view.moment.time, view.moment.step);
    hudDirty = true;
    return;
  }
  const contacts = readContactFrame(frame);
  if (contacts) {
    view.contactFrames++;
    if (stage.showContacts) stage.applyContacts(contacts);
  }
}

function setMode(mode: ViewerMode): void {
  view.mode = mode;
  ui.mode.textContent = mode === 'sim' ? 'simulation' : mode === 'bridge' ? 'bridge' : 'replay';
  ui.simControls.hidden = mode !== 'sim';
  ui.robots.hidden = mode === 'sim';
  ui.timeline.hidden = mode !== 'replay';
  ui.contacts.parentElement!.hidden = mode !== 'sim';
}

function fillScenarios(list: Array<{ path: string; id: string; description?: string }>): void {
  ui.scenario.replaceChildren(...list.map((s) => {
    const o = document.createElement('option');
    o.value = s.path;
    o.textContent = s.id;
    if (s.description) o.title = s.description;
    return o;
  }));
  if (view.scenario) ui.scenario.value = view.scenario;
}

function notice(level: 'info' | 'warn' | 'error', text: string): void {
  view.notices.push(`${level}: ${text}`);
  if (view.notices.length > 50) view.notices.shift();
  const el = document.createElement('div');
  el.className = `notice ${level}`;
  el.textContent = text;
  ui.notices.append(el);
  while (ui.notices.childElementCount > 4) ui.notices.firstElementChild!.remove();
  setTimeout(() => el.remove(), level === 'error' ? 12_000 : 6000);
}

function readSeed(): number | undefined {
  const v = Number(ui.seed.value);
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : undefined;
}

// Controls -----------------------------------------------------------------------------------
ui.pause.onclick = () => conn.send({ op: 'pause' });
ui.resume.onclick = () => conn.send({ op: 'resume' });
ui.step.onclick = () => conn.send({ op: 'step', n: 1 });
ui.reset.onclick = () => conn.send({ op: 'reset', seed: readSeed() });
ui.seed.onchange = () => {
  const seed = readSeed();
  if (seed === undefined) notice('warn', 'a seed is an integer from 0 to 4294967295');
  else conn.send({ op: 'reset', seed });
};
ui.scenario.onchange = () => conn.send({ op: 'scenario', path: ui.scenario.value, seed: readSeed() });
ui.speed.onchange = () => conn.send({ op: 'speed', value: Number(ui.speed.value) });
ui.autoReset.onchange = () => conn.send({ op: 'autoReset', on: ui.autoReset.checked });
ui.contacts.onchange = () => {
  stage.setContactsVisible(ui.contacts.checked);
  conn.send({ op: 'contacts', on: ui.contacts.checked });
};
ui.frustum.onchange = () => stage.setFrustumVisible(ui.frustum.checked);
ui.randomized.onchange = () => {
  const on = ui.randomized.checked;
  stage.setRandomized(on);
  ui.newLook.hidden = !on;
  ui.labelClean.hidden = !on;
  ui.labelRandom.hidden = !on;
};
ui.newLook.onclick = () => stage.nextLook();
window.addEventListener('resize', () => { stage.dirty = true; });
ui.tlPlay.onclick = () => conn.send({ op: view.timeline?.playing ? 'pause' : 'play' });
ui.tlRange.oninput = () => {
  tlDragging = true;
  if (view.timeline) conn.send({ op: 'seek', t: view.timeline.startMs + Number(ui.tlRange.value) });
};
ui.tlRange.onchange = () => { tlDragging = false; };
window.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || view.mode !== 'sim') return;
  if (e.key === ' ') { conn.send({ op: view.moment.paused ? 'resume' : 'pause' }); e.preventDefault(); }
  else if (e.key === '.') conn.send({ op: 'step', n: 1 });
  else if (e.key === 'r') conn.send({ op: 'reset', seed: readSeed() });
});

// Drawing ------------------------------------------------------------------------------------
function updateHud(): void {
  const m = view.moment, h = ui.hud;
  h.time.textContent = `${m.time.toFixed(2)} s`;
  h.step.textContent = String(m.step);
  h.sps.textContent = view.mode === 'sim' ? m.stepsPerSecond.toFixed(0) : '–';
  h.reward.textContent = view.mode === 'sim' ? m.reward.toFixed(3) : '–';
  h.success.textContent = view.mode !== 'sim' ? '–' : m.success ? 'yes' : m.fail ? 'failed' : m.done ? 'no (time limit)' : 'not yet';
  h.success.className = m.success ? 'ok' : m.fail || (m.done && !m.success) ? 'bad' : '';
  h.fps.textContent = fps.toFixed(0);
}

let lastRaf = 0;
function frame(now: number): void {
  if (lastRaf > 0) {
    view.rafDeltas[view.rafCount % view.rafDeltas.length] = now - lastRaf;
    view.rafCount++;
  }
  lastRaf = now;
  if (ghostsAt > 0 && now - ghostsAt > ESTIMATE_MAX_AGE_MS) {
    stage.setGhosts([]);
    ghostsAt = 0;
  }
  if (stage.render()) fpsFrames++;
  if (now - fpsSince >= 500) {
    fps = (fpsFrames * 1000) / (now - fpsSince);
    fpsFrames = 0;
    fpsSince = now;
    hudDirty = true;
  }
  if (hudDirty && now - hudAt >= 100) {
    hudDirty = false;
    hudAt = now;
    updateHud();
  }
  requestAnimationFrame(frame);
}

async function boot(): Promise<void> {
  showBanner();
  await stage.init();
  view.backend = stage.backendName;
  conn.connect();
  requestAnimationFrame(frame);
  view.ready = true;
}

boot().catch((err: unknown) => {
  ui.banner.textContent = `The viewer could not start: ${err instanceof Error ? err.message : String(err)}`;
  ui.banner.hidden = false;
  throw err;
});
