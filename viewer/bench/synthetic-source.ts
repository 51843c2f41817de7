/**
 * A stand-in simulation for the browser benchmark: a table, `blocks` cubes circling it and the
 * gripper sweeping above them, streamed as pose frames at `hz`. It exercises exactly the page's
 * drawing path (episode message, then pose frames) with a fixed, known load, independent of
 * physics speed. Motion is a pure function of the frame number.
 */
import { GRIPPER_GEOMETRY } from '../../sim/robot/gripper.ts';
import { TABLE_HALF_EXTENT, TABLE_THICKNESS } from '../../sim/scene.ts';
import type { BodyState, SimState } from '../../sim/state.ts';
import { POSE_COLUMNS, encodePoseFrame } from '../protocol.ts';
import type { Moment, ViewerClientMessage } from '../protocol.ts';
import { writePoses } from '../server/sim-source.ts';
import { Pages } from '../server/source.ts';
import type { HelloInfo, PageLink, ViewerSource } from '../server/source.ts';

export class SyntheticSource implements ViewerSource {
  readonly mode = 'sim' as const;
  private readonly pages = new Pages();
  private readonly hz: number;
  private readonly state: SimState;
  private readonly rows: Float64Array;
  private timer: NodeJS.Timeout | null = null;
  private frame = 0;
  /** Pose frames sent so far (to every page). */
  sent = 0;
  private readonly moment: Moment = {
    time: 0, step: 0, reward: 0, success: false, fail: false, paused: false, done: false, stepsPerSecond: 0, episode: 0, seed: 0, speed: 1,
  };

  constructor(options: { blocks: number; hz: number }) {
    this.hz = options.hz;
    const h = 0.025;
    const g = GRIPPER_GEOMETRY;
    const bodies: BodyState[] = [
      { id: 1, name: 'table', kind: 'table', shape: { type: 'box', halfExtents: [TABLE_HALF_EXTENT, TABLE_HALF_EXTENT, TABLE_THICKNESS / 2] }, position: [0, 0, -TABLE_THICKNESS / 2], quaternion: [0, 0, 0, 1] },
    ];
    for (let i = 0; i < options.blocks; i++) {
      bodies.push({ id: 2 + i, name: `block${i}`, kind: 'block', shape: { type: 'box', halfExtents: [h, h, h] }, position: [0, 0, h], quaternion: [0, 0, 0, 1] });
    }
    let id = 2 + options.blocks;
    bodies.push({ id: id++, name: 'palm', kind: 'palm', shape: { type: 'box', halfExtents: [...g.palmHalf] }, position: [0, 0, 0.2], quaternion: [0, 0, 0, 1] });
    bodies.push({ id: id++, name: 'finger_l', kind: 'finger', shape: { type: 'box', halfExtents: [...g.fingerHalf] }, position: [-0.05, 0, 0.17], quaternion: [0, 0, 0, 1] });
    bodies.push({ id: id++, name: 'finger_r', kind: 'finger', shape: { type: 'box', halfExtents: [...g.fingerHalf] }, position: [0.05, 0, 0.17], quaternion: [0, 0, 0, 1] });
    this.state = { time: 0, step: 0, task: 'bench', bodies, gripper: { position: [0, 0, 0.2], yaw: 0, width: 0.1, grip: -1 }, goals: [] };
    this.rows = new Float64Array(bodies.length * POSE_COLUMNS);
    this.move(0);
  }

  private move(k: number): void {
    const t = k / this.hz;
    const blocks = this.state.bodies.filter((b) => b.kind === 'block');
    blocks.forEach((b, i) => {
      const a = (2 * Math.PI * i) / blocks.length + 0.3 * t;
      const yaw = 0.8 * t + i;
      b.position[0] = 0.22 * Math.cos(a);
      b.position[1] = 0.22 * Math.sin(a);
      b.quaternion[2] = Math.sin(yaw / 2);
      b.quaternion[3] = Math.cos(yaw / 2);
    });
    const px = 0.15 * Math.cos(0.5 * t), py = 0.15 * Math.sin(0.7 * t), pz = 0.15 + 0.05 * Math.sin(t);
    for (const b of this.state.bodies) {
      if (b.kind === 'palm') { b.position[0] = px; b.position[1] = py; b.position[2] = pz; }
      if (b.name === 'finger_l') { b.position[0] = px - 0.05; b.position[1] = py; b.position[2] = pz - 0.032; }
      if (b.name === 'finger_r') { b.position[0] = px + 0.05; b.position[1] = py; b.position[2] = pz - 0.032; }
    }
    this.state.time = t;
    this.state.step = k;
    writePoses(this.state, this.rows);
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => {
      this.move(++this.frame);
      this.moment.time = this.state.time;
      this.moment.step = this.state.step;
      if (this.pages.size > 0) {
        this.pages.sendFrame(encodePoseFrame(this.moment, this.rows, this.state.bodies.length, this.frame));
        this.sent++;
      }
    }, 1000 / this.hz);
  }

  hello(): HelloInfo {
    return { streamHz: this.hz, scenarios: [], driver: 'synthetic' };
  }

  attach(page: PageLink): void {
    this.pages.add(page);
    page.send({ op: 'episode', episode: 0, seed: 0, scenario: { path: 'synthetic', id: 'synthetic' }, taskId: 'bench', maxSteps: 1, controlHz: this.hz, state: this.state });
    page.send({ op: 'status', paused: false, speed: 1, autoReset: false, contacts: false });
  }

  detach(page: PageLink): void {
    this.pages.delete(page);
  }

  handle(page: PageLink, msg: ViewerClientMessage): void {
    page.send({ op: 'notice', level: 'info', message: `${msg.op}: the benchmark source has no controls` });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
