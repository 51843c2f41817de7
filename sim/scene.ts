/**
 * A Scene is one episode's physical world: the table, the robot (the gripper on its mount, or the
 * SO-101 arm) and the blocks, built from a physics sample and a layout. It is the one place that touches cannon-es bodies; tasks, experts
 * and the environment read it through small accessors, and everything outside sim/ sees only the
 * plain SimState it produces.
 */
import { Body, Box, Vec3 } from 'cannon-es';
import type { Quaternion } from 'cannon-es';
import { createTabletop, GROUP_GRIPPER, GROUP_OBJECT, GROUP_STATIC } from './physics/world.ts';
import type { Tabletop } from './physics/world.ts';
import { Gripper, GRIPPER_GEOMETRY } from './robot/gripper.ts';
import type { Workspace } from './robot/gripper.ts';
import type { RobotKind, SimRobot } from './robot/robot.ts';
import { addRiser, NOMINAL_ARM, So101Arm } from './robot/so101/arm.ts';
import type { PhysicsSample } from './randomization.ts';
import type { BodyState, SimState, Vec3 as V3 } from './state.ts';

/** Where a block starts: on the table at (x, y), rotated by yaw; or anywhere with `z`. */
export interface BlockPose {
  x: number;
  y: number;
  yaw: number;
  /** Centre height; default: resting on the table. */
  z?: number;
}

export interface Layout {
  blocks: BlockPose[];
  /** Gripper start: palm centre and yaw (the SO-101: the fingertip point on its roll axis). */
  gripper: { position: V3; yaw: number };
  /** Task targets to draw and observe (world frame). */
  goals: V3[];
}

/** Half size of the square table top (m); physics uses the unbounded plane z = 0 beneath it. */
export const TABLE_HALF_EXTENT = 0.4;
/** Thickness the table is drawn with (m). */
export const TABLE_THICKNESS = 0.04;

/** The palm's setpoint box. z keeps the fingertips 3 mm above the table at the lowest. */
export const WORKSPACE: Workspace = {
  min: [-0.3, -0.3, GRIPPER_GEOMETRY.palmHalf[2] + 2 * GRIPPER_GEOMETRY.fingerHalf[2] + 0.003],
  max: [0.3, 0.3, 0.35],
};

/** A body's pose and velocity. */
export interface BodyMotion {
  position: V3;
  quaternion: [number, number, number, number];
  velocity: V3;
  angularVelocity: V3;
}

/**
 * Everything that changes while a scene runs, as plain data: blocks, palm and fingers (in that
 * order), the gripper's setpoint, finger command and yaw, and what the solver remembers from the
 * last step. With the scene rebuilt from the same physics sample and layout, `restoreState` carries
 * the episode on from here. What touches what (the contact list experts and tasks read) is known
 * again after the next physics step.
 */
export interface SceneState {
  step: number;
  time: number;
  bodies: BodyMotion[];
  gripper: { setpoint: [number, number, number, number]; grip: number; yaw: number };
  solver: { headBodies: number; rows: number[] };
}

export interface SceneOptions {
  /** The task's id (recorded in the state). */
  task: string;
  /** This episode's physics parameters (sizes, masses, friction, gains…). */
  physics: PhysicsSample;
  /** Where the blocks and the gripper start, and the goals. */
  layout: Layout;
  /** Physics substep (s). */
  dt: number;
  /** Default 'mount'. */
  robot?: RobotKind;
}

export class Scene {
  readonly tabletop: Tabletop;
  /** The robot (named for the gripper every robot ends in; `robot` is the same object). */
  readonly gripper: SimRobot;
  readonly robot: SimRobot;
  readonly blocks: Body[];
  readonly blockSizes: number[];
  readonly goals: V3[];
  readonly physics: PhysicsSample;
  readonly task: string;
  readonly dt: number;
  /** Control steps since reset. */
  step = 0;
  /** Simulated seconds since reset. */
  time = 0;
  private readonly gravity: Vec3;

  constructor({ task, physics, layout, dt, robot = 'mount' }: SceneOptions) {
    if (layout.blocks.length !== physics.blockSize.length) {
      throw new Error(`layout has ${layout.blocks.length} blocks but the physics sample has ${physics.blockSize.length}`);
    }
    this.task = task;
    this.physics = physics;
    this.dt = dt;
    this.goals = layout.goals.map((g) => [...g] as V3);
    this.tabletop = createTabletop(
      {
        tableFriction: physics.tableFriction,
        objectFriction: physics.objectFriction,
        fingerFriction: physics.fingerFriction,
        restitution: physics.restitution,
      },
      { gravity: physics.gravity },
    );
    const { world, materials } = this.tabletop;
    this.gravity = world.gravity;
    this.blockSizes = [...physics.blockSize];
    this.blocks = layout.blocks.map((pose, i) => {
      const h = physics.blockSize[i] / 2;
      const b = new Body({
        mass: physics.blockMass[i],
        shape: new Box(new Vec3(h, h, h)),
        material: materials.object,
        linearDamping: physics.linearDamping,
        angularDamping: physics.angularDamping,
        collisionFilterGroup: GROUP_OBJECT,
        collisionFilterMask: GROUP_STATIC | GROUP_OBJECT | GROUP_GRIPPER,
      });
      b.position.set(pose.x, pose.y, pose.z ?? h);
      b.quaternion.setFromAxisAngle(new Vec3(0, 0, 1), pose.yaw);
      world.addBody(b);
      return b;
    });
    if (robot === 'so101') {
      addRiser(world, materials.table);
      this.gripper = new So101Arm({
        world,
        material: materials.finger,
        params: {
          servoGain: physics.servoGain ?? NOMINAL_ARM.servoGain,
          servoSpeed: physics.servoSpeed ?? NOMINAL_ARM.servoSpeed,
          jointOffset: physics.jointOffset ?? NOMINAL_ARM.jointOffset,
          backlash: physics.backlash ?? NOMINAL_ARM.backlash,
          gripForce: physics.gripForce,
        },
        start: layout.gripper.position,
        startYaw: layout.gripper.yaw,
      });
    } else {
      this.gripper = new Gripper({
        world,
        material: materials.finger,
        params: {
          gain: physics.gripperGain,
          maxSpeed: 0.6,
          maxYawRate: 3,
          fingerSpeed: 0.15,
          gripForce: physics.gripForce,
          fingerMass: 0.2,
        },
        workspace: WORKSPACE,
        start: layout.gripper.position,
        startYaw: layout.gripper.yaw,
      });
    }
    this.robot = this.gripper;
  }

  /** Advances physics by `substeps` fixed steps with the gripper's current commands. */
  advance(substeps: number): void {
    const { world } = this.tabletop;
    const dt = this.dt;
    for (let i = 0; i < substeps; i++) {
      this.gripper.control(dt, this.gravity);
      world.step(dt);
      this.gripper.afterStep(dt);
    }
    this.time += substeps * dt;
    this.step += 1;
  }

  /** True if the physics state holds a NaN or an infinity anywhere (a corrupted world). */
  corrupted(): boolean {
    for (const b of this.tabletop.world.bodies) {
      const p = b.position, q = b.quaternion, v = b.velocity;
      if (!Number.isFinite(p.x + p.y + p.z + q.x + q.y + q.z + q.w + v.x + v.y + v.z)) return true;
    }
    return false;
  }

  /** Tool centre point: midway between the finger pads (world frame). */
  tcp(out: Vec3 = new Vec3()): Vec3 {
    return this.gripper.graspPoint(out);
  }

  /** The plain-data snapshot of this moment. Ids: table 1, blocks 2…, palm, left finger, right finger, then the arm's links. */
  snapshot(): SimState {
    const bodies: BodyState[] = [];
    const pose = (b: Body): { position: V3; quaternion: [number, number, number, number] } => ({
      position: [b.position.x, b.position.y, b.position.z],
      quaternion: [b.quaternion.x, b.quaternion.y, b.quaternion.z, b.quaternion.w],
    });
    bodies.push({
      id: 1, name: 'table', kind: 'table',
      shape: { type: 'box', halfExtents: [TABLE_HALF_EXTENT, TABLE_HALF_EXTENT, TABLE_THICKNESS / 2] },
      position: [0, 0, -TABLE_THICKNESS / 2], quaternion: [0, 0, 0, 1],
    });
    this.blocks.forEach((b, i) => {
      const h = this.blockSizes[i] / 2;
      bodies.push({ id: 2 + i, name: `block${i}`, kind: 'block', shape: { type: 'box', halfExtents: [h, h, h] }, ...pose(b) });
    });
    bodies.push(...this.gripper.bodies(2 + this.blocks.length));
    return {
      time: this.time,
      step: this.step,
      task: this.task,
      ...(this.gripper.kind === 'so101' ? { robot: 'so101' as const } : {}),
      bodies,
      gripper: this.gripper.state(),
      goals: this.goals.map((g2) => [...g2] as V3),
    };
  }

  /** The gripper on its mount, whose state a snapshot can hold (the SO-101's servos it cannot yet). */
  private mount(): Gripper {
    if (!(this.gripper instanceof Gripper)) {
      throw new RangeError(`saving and restoring a scene mid-episode works with the gripper on its mount; this scene has the ${this.gripper.kind}, whose servo states a snapshot does not hold yet`);
    }
    return this.gripper;
  }

  private moving(): Body[] {
    const g = this.mount();
    return [...this.blocks, g.palm, ...g.fingers];
  }

  /** The scene's changing state (see SceneState). */
  saveState(): SceneState {
    const v = (x: Vec3): V3 => [x.x, x.y, x.z];
    const g = this.mount();
    return {
      step: this.step,
      time: this.time,
      bodies: this.moving().map((b) => ({
        position: v(b.position), quaternion: [b.quaternion.x, b.quaternion.y, b.quaternion.z, b.quaternion.w], velocity: v(b.velocity), angularVelocity: v(b.angularVelocity),
      })),
      gripper: { setpoint: [g.setpoint[0], g.setpoint[1], g.setpoint[2], g.setpoint[3]], grip: g.grip, yaw: g.yaw },
      solver: this.tabletop.solver.memory(),
    };
  }

  /** Puts a `saveState()` of a scene built from the same physics sample and layout into this one. */
  restoreState(state: SceneState): void {
    const bodies = this.moving();
    if (state.bodies.length !== bodies.length) {
      throw new RangeError(`the saved state has ${state.bodies.length} moving bodies but this scene has ${bodies.length}: it comes from another task or layout`);
    }
    bodies.forEach((b, i) => {
      const m = state.bodies[i];
      b.position.set(...m.position);
      b.previousPosition.set(...m.position);
      b.quaternion.set(...m.quaternion);
      b.previousQuaternion.set(...m.quaternion);
      b.velocity.set(...m.velocity);
      b.angularVelocity.set(...m.angularVelocity);
      b.force.set(0, 0, 0);
      b.torque.set(0, 0, 0);
    });
    const g = this.mount();
    for (let i = 0; i < 4; i++) g.setpoint[i] = state.gripper.setpoint[i];
    g.grip = state.gripper.grip;
    g.yaw = state.gripper.yaw;
    this.tabletop.world.contacts.length = 0;
    this.tabletop.solver.setMemory(state.solver);
    this.step = state.step;
    this.time = state.time;
  }

  /** Yaw of a block about world z (meaningful while it is upright). */
  static yawOf(q: Quaternion): number {
    return Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z));
  }
}
