/**
 * The robots side panel (bridge and replay modes): each robot's hub state (connected, lease,
 * e-stop, hold), its latest `state` features, its camera panels, and an e-stop button that
 * works when the server holds the controller token.
 *
 * A camera panel shows the stream with a caption (feature, size, frames per second, whether it
 * is calibrated) and, where a controller publishes estimates from it (`estimate`) and the
 * camera carries its calibration, the estimated blocks drawn into the image: each block's cube
 * projected with the calibration, in the ghost boxes' colour, into the frames captured up to
 * ESTIMATE_MAX_AGE_MS after the one the estimate was made from.
 */
import { IMAGE_FORMAT_LAYOUT } from '../../bridge/protocol.ts';
import type { Frame, HubMessageOf, Observation, RobotInfo, RobotState } from '../../bridge/protocol.ts';
import { cameraForImage } from '../../sim/camera/camera.ts';
import type { CameraFile } from '../../sim/camera/camera-file.ts';
import { project } from '../../sim/camera/projection.ts';

/** Colour of estimated blocks (as the 3D view's ghost boxes). */
const GHOST_COLOUR = 'rgb(51, 217, 255)';
/**
 * An estimate is drawn into frames captured at most this long after the frame it was made from
 * (both times on the camera's clock): once its controller stops publishing, the outlines go.
 */
export const ESTIMATE_MAX_AGE_MS = 2000;

interface CameraView {
  canvas: HTMLCanvasElement;
  ctx: CanvasRenderingContext2D;
  image: ImageData | null;
  caption: HTMLElement;
  calibration: CameraFile | undefined;
  frames: number;
  /** Frames counted since `since` (for the caption's rate). */
  recent: number;
  since: number;
  fps: number;
  /** Estimated block outlines drawn into the last frame. */
  outlines: number;
}

interface RobotView {
  info: RobotInfo;
  root: HTMLElement;
  status: HTMLElement;
  values: HTMLElement;
  estop: HTMLButtonElement;
  /** Feature key by binary channel index. */
  channels: string[];
  canvases: Map<string, CameraView>;
  lastValues: number;
  hold: string;
  /** The newest estimate a controller published for this robot. */
  estimate: HubMessageOf<'estimate'> | null;
}

export class RobotPanel {
  private readonly root: HTMLElement;
  private readonly onEstop: (robot: string) => void;
  private readonly robots = new Map<string, RobotView>();
  private readonly byHandle = new Map<number, RobotView>();
  private canEstop = false;
  private readonly link: HTMLElement;

  constructor(root: HTMLElement, onEstop: (robot: string) => void) {
    this.root = root;
    this.onEstop = onEstop;
    this.link = document.createElement('div');
    this.link.className = 'robot';
    this.link.textContent = 'waiting for robots…';
    root.append(this.link);
  }

  setLink(connected: boolean, message: string): void {
    this.link.textContent = message;
    this.link.classList.toggle('estopped', !connected);
  }

  setRobots(list: RobotInfo[], canEstop: boolean | null): void {
    if (canEstop !== null) this.canEstop = canEstop;
    const seen = new Set<string>();
    for (const info of list) {
      seen.add(info.id);
      let v = this.robots.get(info.id);
      // Rebuilt when its features change too: a camera attached (or detached) on the same handle
      // adds a channel, and its calibration comes with it.
      if (!v || v.info.handle !== info.handle || JSON.stringify(v.info.features.observation) !== JSON.stringify(info.features.observation)) {
        const estimate = v && v.info.handle === info.handle ? v.estimate : null;
        if (v) {
          v.root.remove();
          this.byHandle.delete(v.info.handle);
        }
        v = this.build(info);
        v.estimate = estimate;
        this.robots.set(info.id, v);
      }
      v.info = info;
      this.byHandle.set(info.handle, v);
      this.showState(v);
    }
    for (const [id, v] of this.robots) {
      if (!seen.has(id)) {
        v.root.remove();
        this.robots.delete(id);
        this.byHandle.delete(v.info.handle);
      }
    }
    this.link.hidden = this.robots.size > 0;
  }

  private build(info: RobotInfo): RobotView {
    const root = document.createElement('div');
    root.className = 'robot';
    root.dataset.robot = info.id;
    const h = document.createElement('h3');
    h.textContent = `${info.id}${info.model ? ` · ${info.model}` : ''}`;
    const status = document.createElement('div');
    status.className = 'state status';
    const values = document.createElement('div');
    values.className = 'state values';
    const estop = document.createElement('button');
    estop.className = 'danger estop';
    estop.textContent = 'E-STOP';
    estop.onclick = () => this.onEstop(info.id);
    root.append(h, status, estop, values);
    const channels = Object.keys(info.features.observation);
    const canvases: RobotView['canvases'] = new Map();
    for (const [key, f] of Object.entries(info.features.observation)) {
      if (f.kind !== 'image') continue;
      const panel = document.createElement('figure');
      panel.className = 'camera';
      panel.dataset.feature = key;
      const canvas = document.createElement('canvas');
      canvas.width = f.shape[1];
      canvas.height = f.shape[0];
      canvas.title = key;
      canvas.dataset.feature = key;
      const caption = document.createElement('figcaption');
      caption.textContent = `${key} · ${f.shape[1]}x${f.shape[0]} · ${f.calibration ? 'calibrated' : 'no calibration'} · waiting for frames`;
      const ctx = canvas.getContext('2d');
      if (!ctx) continue;
      panel.append(canvas, caption);
      root.append(panel);
      canvases.set(key, { canvas, ctx, image: null, caption, calibration: f.calibration, frames: 0, recent: 0, since: performance.now(), fps: 0, outlines: 0 });
    }
    this.root.append(root);
    return { info, root, status, values, estop, channels, canvases, lastValues: 0, hold: '', estimate: null };
  }

  /** A controller's estimate of this robot's blocks: drawn into the camera it came from. */
  estimate(m: HubMessageOf<'estimate'>): void {
    const v = this.robots.get(m.robot);
    if (v) v.estimate = m;
  }

  /** The camera panels' counters, for tests and tools: frames drawn and block outlines in the last one. */
  cameras(): Array<{ robot: string; feature: string; frames: number; outlines: number; calibrated: boolean }> {
    const out = [];
    for (const [id, v] of this.robots) for (const [key, c] of v.canvases) out.push({ robot: id, feature: key, frames: c.frames, outlines: c.outlines, calibrated: !!c.calibration });
    return out;
  }

  /**
   * Draws the estimated blocks' cubes into a camera image with its calibration (scaled to the
   * frame's size if it differs, refused for another aspect ratio); returns how many of them
   * reach into the image.
   */
  private drawEstimate(c: CameraView, m: HubMessageOf<'estimate'>): number {
    if (!c.calibration) return 0;
    const w = c.canvas.width, hgt = c.canvas.height;
    let cal: CameraFile;
    try {
      cal = cameraForImage(c.calibration, w, hgt);
    } catch {
      return 0;
    }
    const ctx = c.ctx;
    ctx.strokeStyle = GHOST_COLOUR;
    ctx.lineWidth = Math.max(1, c.canvas.width / 160);
    let drawn = 0;
    for (const b of m.blocks) {
      const h = b.size / 2, cy = Math.cos(b.yaw), sy = Math.sin(b.yaw);
      const corners: Array<{ u: number; v: number } | null> = [];
      for (const dz of [-h, h]) {
        for (const [dx, dy] of [[-h, -h], [h, -h], [h, h], [-h, h]]) {
          const p = project(cal, [b.position[0] + cy * dx - sy * dy, b.position[1] + sy * dx + cy * dy, b.position[2] + dz]);
          corners.push(p.depth > 0 && Number.isFinite(p.u + p.v) ? { u: p.u, v: p.v } : null);
        }
      }
      if (corners.some((q) => q === null)) continue;
      const q = corners as Array<{ u: number; v: number }>;
      const us = q.map((p) => p.u), vs = q.map((p) => p.v);
      if (Math.max(...us) < 0 || Math.min(...us) > w || Math.max(...vs) < 0 || Math.min(...vs) > hgt) continue;
      ctx.beginPath();
      for (let i = 0; i < 4; i++) {
        const j = (i + 1) % 4;
        for (const [a, z] of [[i, j], [i + 4, j + 4], [i, i + 4]]) {
          ctx.moveTo(q[a].u, q[a].v);
          ctx.lineTo(q[z].u, q[z].v);
        }
      }
      ctx.stroke();
      drawn++;
    }
    return drawn;
  }

  private showState(v: RobotView): void {
    const s = v.info.state;
    const lines = [
      s.connected ? 'connected' : 'offline',
      `lease: ${s.lease ? `${s.lease.name ?? s.lease.role} (${s.lease.session.slice(0, 8)})` : 'free'}`,
      s.estop ? `E-STOPPED: ${s.estop.reason || 'no reason'}` : 'e-stop: clear',
      s.holding ? `holding${s.holdReason ? ` (${s.holdReason})` : ''}` : 'moving',
    ];
    v.status.textContent = lines.join('\n');
    v.status.classList.toggle('estopped', !!s.estop);
    v.estop.disabled = !this.canEstop || !!s.estop || !s.connected;
    v.estop.title = this.canEstop ? 'Raise the latched e-stop (the lease holder must reset it)' : 'Read-only: start the viewer with the controller token to e-stop';
  }

  robotState(id: string, state: RobotState): void {
    const v = this.robots.get(id);
    if (!v) return;
    v.info = { ...v.info, state };
    this.showState(v);
  }

  estop(id: string, reason: string): void {
    const v = this.robots.get(id);
    if (!v) return;
    v.status.classList.add('estopped');
    v.estop.disabled = true;
    if (!v.info.state.estop) v.status.textContent += `\nE-STOPPED: ${reason}`;
  }

  hold(id: string, message: string): void {
    const v = this.robots.get(id);
    if (v) v.hold = message;
  }

  observation(m: Observation): void {
    const v = this.robots.get(m.robot);
    if (!v) return;
    const now = performance.now();
    if (now - v.lastValues < 100) return;
    v.lastValues = now;
    const lines: string[] = [];
    for (const [key, values] of Object.entries(m.state)) {
      const shown = values.slice(0, 8).map((x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3))).join(' ');
      lines.push(`${key}: ${shown}${values.length > 8 ? ' …' : ''}`);
    }
    v.values.textContent = lines.join('\n');
  }

  /** Draws an image frame into its robot's canvas; false if it is not one this panel shows. */
  frame(f: Frame): boolean {
    const v = this.byHandle.get(f.handle);
    if (!v || f.kind !== 'image' || !f.format) return false;
    const key = v.channels[f.channel];
    const c = key ? v.canvases.get(key) : undefined;
    if (!c) return false;
    const [h, w] = f.shape;
    if (!c.image || c.image.width !== w || c.image.height !== h) {
      c.canvas.width = w;
      c.canvas.height = h;
      c.image = c.ctx.createImageData(w, h);
    }
    const out = c.image.data, src = f.payload, n = w * h;
    const layout = IMAGE_FORMAT_LAYOUT[f.format];
    if (f.format === 'rgb8') {
      for (let i = 0, j = 0; i < n; i++, j += 3) { const o = i * 4; out[o] = src[j]; out[o + 1] = src[j + 1]; out[o + 2] = src[j + 2]; out[o + 3] = 255; }
    } else if (f.format === 'rgba8') {
      out.set(src.subarray(0, n * 4));
    } else if (f.format === 'mono8') {
      for (let i = 0; i < n; i++) { const o = i * 4; out[o] = out[o + 1] = out[o + 2] = src[i]; out[o + 3] = 255; }
    } else {
      // Depth: near bright, far dark, over 0–2 m.
      const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      const bytes = layout.dtype === 'uint16' ? 2 : 4;
      for (let i = 0; i < n; i++) {
        const d = bytes === 2 ? dv.getUint16(i * 2, true) / 1000 : dv.getFloat32(i * 4, true);
        const g = d > 0 && Number.isFinite(d) ? Math.max(0, Math.min(255, 255 - d * 127)) : 0;
        const o = i * 4; out[o] = out[o + 1] = out[o + 2] = g; out[o + 3] = 255;
      }
    }
    c.ctx.putImageData(c.image, 0, 0);
    const est = v.estimate && v.estimate.camera === key && f.t - v.estimate.t <= ESTIMATE_MAX_AGE_MS ? v.estimate : null;
    c.outlines = est ? this.drawEstimate(c, est) : 0;
    c.frames++;
    c.recent++;
    const now = performance.now();
    if (now - c.since >= 500) {
      c.fps = (c.recent * 1000) / (now - c.since);
      c.recent = 0;
      c.since = now;
      const by = est ? ` · ${c.outlines} estimated blocks from ${est.by.name ?? est.by.session}` : '';
      c.caption.textContent = `${key} · ${w}x${h} · ${c.fps.toFixed(0)} fps · ${c.calibration ? 'calibrated' : 'no calibration'}${by}`;
    }
    return true;
  }
}
