/**
 * The stability checks the physics settings are held to (used by the physics bench and the
 * tests): a resting stack must not drift, and a grasped block must not slip while carried.
 */
import { Body, Box, GSSolver, Plane, Vec3, World } from 'cannon-es';
import type { Material } from 'cannon-es';
import { createTabletop, GROUP_GRIPPER, GROUP_OBJECT, GROUP_STATIC } from '../physics/world.ts';
import { DEFAULT_GRIPPER_PARAMS, Gripper } from '../robot/gripper.ts';
import { graspHeight } from '../experts/motion.ts';
import { WORKSPACE } from '../scene.ts';
import { createMujocoScene } from './mujoco.ts';

export interface StackDriftResult {
  blocks: number;
  seconds: number;
  /** Distance the top block's centre moved from where it was placed (mm). */
  topDriftMm: number;
  /** Largest such distance at any step (mm). */
  maxDriftMm: number;
  /** First time (s) the top block had moved more than 1 cm, or null. */
  collapsedAt: number | null;
}

function driftTracker(n: number, size: number) {
  const z0 = size / 2 + size * (n - 1);
  let max = 0, collapsed: number | null = null;
  return {
    update(p: [number, number, number], t: number): number {
      const d = Math.hypot(p[0], p[1], p[2] - z0);
      if (d > max) max = d;
      if (d > 0.01 && collapsed === null) collapsed = t;
      return d;
    },
    result(p: [number, number, number], seconds: number): StackDriftResult {
      return { blocks: n, seconds, topDriftMm: Math.hypot(p[0], p[1], p[2] - z0) * 1000, maxDriftMm: max * 1000, collapsedAt: collapsed };
    },
  };
}

/**
 * A tower of `n` cubes (edge `size`, 0.1 kg, friction 0.8) resting on the table for `seconds`
 * at 1/240 s. `engine`: simreal's tuned world, cannon-es with its defaults, or MuJoCo.
 */
export async function stackDrift(n: number, seconds: number, engine: 'simreal' | 'cannon-defaults' | 'mujoco', size = 0.05): Promise<StackDriftResult> {
  const dt = 1 / 240, steps = Math.round(seconds / dt);
  const track = driftTracker(n, size);
  if (engine === 'mujoco') {
    const blocks = Array.from({ length: n }, (_, i) => ({ x: 0, y: 0, z: size / 2 + size * i, size, mass: 0.1 }));
    const mj = await createMujocoScene(blocks, null, 0.8, dt);
    for (let i = 0; i < steps; i++) {
      mj.step();
      if (i % 24 === 0) track.update(mj.position(`block${n - 1}`), i * dt);
    }
    const r = track.result(mj.position(`block${n - 1}`), seconds);
    mj.dispose();
    return r;
  }
  let world: World;
  let material: Material | undefined;
  if (engine === 'simreal') {
    const t = createTabletop({ tableFriction: 0.8, objectFriction: 0.8, fingerFriction: 0.8, restitution: 0 });
    world = t.world;
    material = t.materials.object;
  } else {
    world = new World({ gravity: new Vec3(0, 0, -9.81) });
    (world.solver as GSSolver).iterations = 10;
    world.defaultContactMaterial.friction = 0.8;
    world.addBody(new Body({ mass: 0, shape: new Plane() }));
    material = undefined;
  }
  const h = size / 2;
  let top: Body | null = null;
  for (let i = 0; i < n; i++) {
    top = new Body({
      mass: 0.1, shape: new Box(new Vec3(h, h, h)), material,
      collisionFilterGroup: GROUP_OBJECT, collisionFilterMask: GROUP_STATIC | GROUP_OBJECT | GROUP_GRIPPER,
    });
    top.position.set(0, 0, h + size * i);
    world.addBody(top);
  }
  const b = top as Body;
  for (let i = 0; i < steps; i++) {
    world.step(dt);
    track.update([b.position.x, b.position.y, b.position.z], i * dt);
  }
  return track.result([b.position.x, b.position.y, b.position.z], seconds);
}

export interface GraspSlipResult {
  /** Movement of the block relative to the palm between the end of the lift and the end of the carry (mm). */
  slipMm: number;
  lift: number;
  carry: number;
  speed: number;
  /** Block height at the end (m), proof it was carried rather than dropped. */
  finalBlockZ: number;
}

/**
 * Grasps a cube (edge `size`, `mass` kg) from the table, lifts it `lift` metres and carries it
 * `carry` metres at `speed` m/s, in simreal's world with the nominal gripper.
 */
export function graspSlip(options: { size?: number; mass?: number; friction?: number; lift?: number; carry?: number; speed?: number; yaw?: number } = {}): GraspSlipResult {
  const size = options.size ?? 0.05, mass = options.mass ?? 0.1, mu = options.friction ?? 0.8;
  const lift = options.lift ?? 0.2, carry = options.carry ?? 0.45, speed = options.speed ?? 0.3, yaw = options.yaw ?? 0;
  const dt = 1 / 240;
  const t = createTabletop({ tableFriction: mu, objectFriction: mu, fingerFriction: mu, restitution: 0 });
  const h = size / 2;
  const block = new Body({
    mass, shape: new Box(new Vec3(h, h, h)), material: t.materials.object,
    collisionFilterGroup: GROUP_OBJECT, collisionFilterMask: GROUP_STATIC | GROUP_OBJECT | GROUP_GRIPPER,
  });
  block.position.set(-carry / 2, 0, h);
  block.quaternion.setFromAxisAngle(new Vec3(0, 0, 1), yaw);
  t.world.addBody(block);
  const workspace = { min: WORKSPACE.min, max: [0.5, 0.5, 0.5] as [number, number, number] };
  const g = new Gripper({ world: t.world, material: t.materials.finger, params: DEFAULT_GRIPPER_PARAMS, workspace, start: [-carry / 2, 0, 0.2], startYaw: yaw });
  const run = (steps: number): void => {
    for (let i = 0; i < steps; i++) {
      g.control(dt, t.world.gravity);
      t.world.step(dt);
      g.afterStep(dt);
    }
  };
  // Palm height that puts the finger pads at the expert's grasp height.
  const palmZ = graspHeight(h, size) + g.geometry.palmHalf[2] + g.geometry.fingerHalf[2];
  g.setTarget(-carry / 2, 0, palmZ, yaw);
  run(240);
  g.grip = 1;
  run(120);
  g.setTarget(-carry / 2, 0, palmZ + lift, yaw);
  run(240);
  const rel0 = block.position.vsub(g.palm.position);
  const steps = Math.round(carry / speed / dt);
  for (let i = 1; i <= steps; i++) {
    g.setTarget(-carry / 2 + (carry * i) / steps, 0, palmZ + lift, yaw);
    run(1);
  }
  run(60);
  const rel1 = block.position.vsub(g.palm.position);
  return { slipMm: rel1.vsub(rel0).length() * 1000, lift, carry, speed, finalBlockZ: block.position.z };
}
