/**
 * The physics world every simreal task runs in: cannon-es, tuned for contact-rich tabletop
 * manipulation with 4–6 cm blocks at a fixed 1/240 s step.
 *
 * The settings and why (measured on a 5-block stack of 5 cm, 0.1 kg blocks resting 60 s, and on
 * the stack-3 scene with the gripper moving through it; `npx simreal bench physics` repeats it):
 *
 * | setting | value | why |
 * | --- | --- | --- |
 * | contact generation | `box-contacts.ts`, 2 mm margin | cannon-es keeps only penetrating points, so resting contacts flicker (2–8 per face) and stacks walk; a stable 4-point manifold per face is the single biggest fix, and the specialised box–box test is also faster than the generic convex path |
 * | solver | `WarmStartSolver`, warm start 0.6, 14 sweeps of which the first 4 include friction rows | from-scratch Gauss-Seidel never converges on a stack; warm starting does, across steps, at the same cost per step. 0.6 drifted least (0.3–0.6 all within 1 mm; 0.9+ overshoots). Friction rows settle in a few sweeps while normal impulses need more: 14/4 costs 27 % less than 10 full sweeps and drifts 1.0 mm instead of 0.35 mm (10/10), both within the 2 mm target |
 * | Coulomb friction | each friction row bounded by mu × its contact's normal impulse | cannon-es's bound (mu·|g|·mass, compared with an impulse) ignores how hard surfaces press |
 * | friction anchors | on, 2 mm slip | velocity-only friction lets residual error accumulate as creep (a 5-stack slid 32 cm without anchors, even with the manifold) |
 * | contact stiffness / relaxation | 1e7 / 3 (cannon defaults) | stiffer (1e8) or more relaxed (4–5) settings changed nothing measurable once the two fixes above were in |
 * | solver tolerance | 1e-7 | early exit on resting frames |
 * | broadphase | naive (all pairs, bounding spheres) | ≤ 12 bodies: a sort-and-sweep costs more than it saves |
 * | sleeping | off | the gripper wakes everything it nears, and sleeping would hide drift rather than fix it |
 * | step | fixed 1/240 s; a control period is N substeps | never wall-clock time on a training path |
 * | `frictionGravity` | unset (uses gravity) | cannon-es caps friction at mu·|g|·reduced mass, independent of the normal force; the nominal value already holds a 0.2 kg block with 8 finger contacts |
 *
 * With these, the 5-stack's top block stays within 1 mm for 60 s (2 mm is the target; cannon-es's
 * defaults let it fall within 2 s), and the stack-3 scene steps faster than MuJoCo's WebAssembly
 * build on the same machine (`npx simreal bench physics`).
 */
import { Body, ContactMaterial, Material, NaiveBroadphase, Plane, Vec3, World } from 'cannon-es';
import { installBoxContacts } from './box-contacts.ts';
import { WarmStartSolver } from './solver.ts';

export const PHYSICS_DT = 1 / 240;

/** Collision groups: the gripper's own parts never collide with each other. */
export const GROUP_STATIC = 1;
export const GROUP_OBJECT = 2;
export const GROUP_GRIPPER = 4;

export interface WorldOptions {
  /** Gravity vector (m/s²). Default (0, 0, -9.81). */
  gravity?: [number, number, number];
  /** Solver sweeps per step. Default 14. */
  iterations?: number;
  /** Of those, sweeps that include friction rows. Default 4. */
  frictionIterations?: number;
  /** Warm-start fraction. Default 0.6. */
  warmStart?: number;
  /** Contact margin (m). Default 0.002. */
  contactMargin?: number;
}

export interface TabletopMaterials {
  table: Material;
  object: Material;
  finger: Material;
}

export interface ContactParams {
  /** Friction coefficient of objects on the table. */
  tableFriction: number;
  /** Friction between two objects. */
  objectFriction: number;
  /** Friction between a finger and an object. */
  fingerFriction: number;
  restitution: number;
}

export interface Tabletop {
  world: World;
  table: Body;
  materials: TabletopMaterials;
  solver: WarmStartSolver;
}

/** A world with the tuned solver and contacts, and the table top as the plane z = 0. */
export function createTabletop(contact: ContactParams, options: WorldOptions = {}): Tabletop {
  const g = options.gravity ?? [0, 0, -9.81];
  const world = new World({ gravity: new Vec3(g[0], g[1], g[2]), allowSleep: false });
  const solver = new WarmStartSolver({
    iterations: options.iterations ?? 14,
    frictionIterations: options.frictionIterations ?? 4,
    warmStart: options.warmStart ?? 0.6,
  });
  world.solver = solver;
  world.broadphase = new NaiveBroadphase();
  installBoxContacts(world.narrowphase, { margin: options.contactMargin ?? 0.002 });

  const materials: TabletopMaterials = {
    table: new Material('table'),
    object: new Material('object'),
    finger: new Material('finger'),
  };
  const pair = (a: Material, b: Material, friction: number): void => {
    world.addContactMaterial(new ContactMaterial(a, b, { friction, restitution: contact.restitution }));
  };
  pair(materials.object, materials.table, contact.tableFriction);
  pair(materials.object, materials.object, contact.objectFriction);
  pair(materials.finger, materials.object, contact.fingerFriction);
  pair(materials.finger, materials.table, contact.tableFriction);
  // cannon-es looks contact materials up by a string key built on every call (a steady source of
  // garbage in the contact loop); a numeric key does the same job allocation-free.
  const materialTable = new Map<number, ContactMaterial>();
  for (const cm of world.contactmaterials) {
    const [a, b] = cm.materials;
    materialTable.set(Math.min(a.id, b.id) * 65536 + Math.max(a.id, b.id), cm);
  }
  world.getContactMaterial = (m1: Material, m2: Material) =>
    materialTable.get(Math.min(m1.id, m2.id) * 65536 + Math.max(m1.id, m2.id)) as ContactMaterial;
  world.defaultContactMaterial.friction = contact.objectFriction;
  world.defaultContactMaterial.restitution = contact.restitution;

  const table = new Body({
    mass: 0,
    shape: new Plane(),
    material: materials.table,
    collisionFilterGroup: GROUP_STATIC,
    collisionFilterMask: GROUP_OBJECT | GROUP_GRIPPER,
  });
  world.addBody(table);
  return { world, table, materials, solver };
}
