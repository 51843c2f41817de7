/**
 * The benchmark's reference: the same tabletop in MuJoCo's official WebAssembly build
 * (`mujoco-js`), with MuJoCo's default solver settings (Newton, 100 iterations). Only the physics
 * bench uses it; it is a devDependency.
 */
import type { MjData, MjModel } from 'mujoco-js';

export interface MujocoScene {
  step(): void;
  /** Sets the mount setpoint (x, y, z, yaw) and the finger opening (m). */
  control(x: number, y: number, z: number, yaw: number, width: number): void;
  /** Position of body `name`. */
  position(name: string): [number, number, number];
  dispose(): void;
}

export interface MujocoBlock {
  x: number;
  y: number;
  z: number;
  size: number;
  mass: number;
}

interface MujocoModule {
  FS: { mkdir(p: string): void; mount(t: unknown, o: unknown, p: string): void; writeFile(p: string, s: string): void; unlink(p: string): void };
  MEMFS: unknown;
  MjModel: { loadFromXML(path: string): MjModel };
  MjData: new (m: MjModel) => MjData;
  mj_step(m: MjModel, d: MjData): void;
  mj_forward(m: MjModel, d: MjData): void;
  mj_name2id(m: MjModel, type: number, name: string): number;
}

let modulePromise: Promise<MujocoModule> | null = null;
let counter = 0;

async function loadModule(): Promise<MujocoModule> {
  if (!modulePromise) {
    modulePromise = (async () => {
      let factory: (o?: unknown) => Promise<unknown>;
      try {
        factory = (await import('mujoco-js')).default as unknown as (o?: unknown) => Promise<unknown>;
      } catch (err) {
        throw new Error(`the physics bench compares against MuJoCo's WebAssembly build: install it with \`npm install --save-dev mujoco-js\` (${(err as Error).message})`);
      }
      const mj = (await factory()) as MujocoModule;
      mj.FS.mkdir('/bench');
      mj.FS.mount(mj.MEMFS, { root: '.' }, '/bench');
      return mj;
    })();
  }
  return modulePromise;
}

/** MJCF for blocks on a table and, optionally, the 4-DoF gripper with position-servoed fingers. */
export function tabletopXml(blocks: MujocoBlock[], gripper: { x: number; y: number; z: number } | null, friction: number, dt: number): string {
  const bodies = blocks
    .map((b, i) => {
      const h = b.size / 2;
      return `<body name="block${i}" pos="${b.x} ${b.y} ${b.z}"><freejoint/><geom type="box" size="${h} ${h} ${h}" mass="${b.mass}" contype="3" conaffinity="3"/></body>`;
    })
    .join('\n    ');
  // Geometry as sim/robot/gripper.ts: palm 13 x 3.2 x 2 cm, fingers 1.2 x 2.4 x 4.4 cm hanging below.
  const g = gripper
    ? `<body name="mount" pos="0 0 0" gravcomp="1">
      <joint name="x" type="slide" axis="1 0 0" ref="0"/><joint name="y" type="slide" axis="0 1 0"/>
      <joint name="z" type="slide" axis="0 0 1"/><joint name="yaw" type="hinge" axis="0 0 1"/>
      <geom name="palm" type="box" size="0.065 0.016 0.01" mass="1" contype="2" conaffinity="2"/>
      <body name="finger_l" pos="-0.056 0 -0.032" gravcomp="1"><joint name="fl" type="slide" axis="1 0 0" range="0 0.05"/><geom type="box" size="0.006 0.012 0.022" mass="0.2" contype="3" conaffinity="3"/></body>
      <body name="finger_r" pos="0.056 0 -0.032" gravcomp="1"><joint name="fr" type="slide" axis="-1 0 0" range="0 0.05"/><geom type="box" size="0.006 0.012 0.022" mass="0.2" contype="3" conaffinity="3"/></body>
    </body>`
    : '';
  const actuators = gripper
    ? `<actuator>
    <position joint="x" kp="2000" kv="100"/><position joint="y" kp="2000" kv="100"/><position joint="z" kp="2000" kv="100"/>
    <position joint="yaw" kp="50" kv="5"/>
    <position joint="fl" kp="500" forcerange="-12 12"/><position joint="fr" kp="500" forcerange="-12 12"/>
  </actuator>`
    : '';
  return `<mujoco model="simreal-tabletop">
  <option timestep="${dt}" gravity="0 0 -9.81" integrator="implicitfast"/>
  <default><geom friction="${friction} 0.005 0.0001" condim="3"/></default>
  <worldbody>
    <geom name="table" type="plane" size="0.4 0.4 0.01" contype="1" conaffinity="1"/>
    ${bodies}
    ${g}
  </worldbody>
  ${actuators}
</mujoco>`;
}

export async function createMujocoScene(blocks: MujocoBlock[], gripper: { x: number; y: number; z: number } | null, friction: number, dt: number): Promise<MujocoScene> {
  const mj = await loadModule();
  const path = `/bench/scene${counter++}.xml`;
  mj.FS.writeFile(path, tabletopXml(blocks, gripper, friction, dt));
  const model = mj.MjModel.loadFromXML(path);
  mj.FS.unlink(path);
  const data = new mj.MjData(model);
  const qpos = data.qpos as unknown as Float64Array;
  const ctrl = data.ctrl as unknown as Float64Array;
  const nFree = blocks.length * 7;
  if (gripper) {
    qpos[nFree] = gripper.x;
    qpos[nFree + 1] = gripper.y;
    qpos[nFree + 2] = gripper.z;
    ctrl[0] = gripper.x; ctrl[1] = gripper.y; ctrl[2] = gripper.z;
  }
  mj.mj_forward(model, data);
  const mjOBJ_BODY = 1;
  const bodyIndex = (name: string): number => {
    const b = mj.mj_name2id(model, mjOBJ_BODY, name);
    if (b < 0) throw new Error(`no body ${name} in the MuJoCo model`);
    return b;
  };
  return {
    step() {
      mj.mj_step(model, data);
    },
    control(x, y, z, yaw, width) {
      ctrl[0] = x; ctrl[1] = y; ctrl[2] = z; ctrl[3] = yaw;
      // Each finger's joint measures how far it has closed from fully open (5 cm travel).
      const closed = Math.max(0, Math.min(0.05, (0.1 - width) / 2));
      ctrl[4] = closed; ctrl[5] = closed;
    },
    position(name) {
      const b = bodyIndex(name);
      const xpos = data.xpos as unknown as Float64Array;
      return [xpos[3 * b], xpos[3 * b + 1], xpos[3 * b + 2]];
    },
    dispose() {
      data.delete();
      model.delete();
    },
  };
}
