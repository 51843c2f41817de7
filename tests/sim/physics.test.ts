import { Body, Box, Vec3 } from 'cannon-es';
import { describe, expect, it } from 'vitest';
import { graspSlip, stackDrift } from '../../sim/bench/stability.ts';
import { createTabletop, GROUP_GRIPPER, GROUP_OBJECT, GROUP_STATIC } from '../../sim/physics/world.ts';

describe('stable tabletop physics', () => {
  it('keeps a resting 5-block tower within 2 mm for 60 simulated seconds', async () => {
    const r = await stackDrift(5, 60, 'simreal');
    expect(r.collapsedAt).toBeNull();
    expect(r.topDriftMm).toBeLessThanOrEqual(2);
    expect(r.maxDriftMm).toBeLessThanOrEqual(2);
  });

  it('is what makes the difference: cannon-es defaults let the same tower fall', async () => {
    const r = await stackDrift(5, 10, 'cannon-defaults');
    expect(r.collapsedAt).not.toBeNull();
  });

  it('holds a grasped 5 cm block lifted 20 cm and carried at 0.3 m/s with <= 5 mm slip', () => {
    const r = graspSlip();
    expect(r.finalBlockZ).toBeGreaterThan(0.2);
    expect(r.slipMm).toBeLessThanOrEqual(5);
  });

  it('holds a small, heavy, slippery, yawed block too', () => {
    const r = graspSlip({ size: 0.04, mass: 0.2, friction: 0.6, yaw: 0.4 });
    expect(r.finalBlockZ).toBeGreaterThan(0.18);
    expect(r.slipMm).toBeLessThanOrEqual(5);
  });

  it('applies Coulomb friction: a block sliding at 1 m/s stops after about v^2 / (2 mu g)', () => {
    for (const mu of [0.3, 0.6]) {
      const t = createTabletop({ tableFriction: mu, objectFriction: mu, fingerFriction: mu, restitution: 0 });
      const b = new Body({
        mass: 0.1, shape: new Box(new Vec3(0.025, 0.025, 0.025)), material: t.materials.object,
        collisionFilterGroup: GROUP_OBJECT, collisionFilterMask: GROUP_STATIC | GROUP_OBJECT | GROUP_GRIPPER,
      });
      b.position.set(0, 0, 0.025);
      t.world.addBody(b);
      for (let i = 0; i < 24; i++) t.world.step(1 / 240);
      b.velocity.set(1, 0, 0);
      for (let i = 0; i < 480; i++) t.world.step(1 / 240);
      const expected = 1 / (2 * mu * 9.81);
      expect(b.position.x).toBeGreaterThan(expected * 0.9);
      expect(b.position.x).toBeLessThan(expected * 1.1);
    }
  });

  it('gives a resting face a stable four-point manifold', () => {
    const t = createTabletop({ tableFriction: 0.8, objectFriction: 0.8, fingerFriction: 0.8, restitution: 0 });
    const mk = (z: number): Body => {
      const b = new Body({
        mass: 0.1, shape: new Box(new Vec3(0.025, 0.025, 0.025)), material: t.materials.object,
        collisionFilterGroup: GROUP_OBJECT, collisionFilterMask: GROUP_STATIC | GROUP_OBJECT | GROUP_GRIPPER,
      });
      b.position.set(0, 0, z);
      t.world.addBody(b);
      return b;
    };
    const lower = mk(0.025), upper = mk(0.075);
    for (let i = 0; i < 480; i++) {
      t.world.step(1 / 240);
      const between = t.world.contacts.filter((c) => (c.bi === lower && c.bj === upper) || (c.bi === upper && c.bj === lower)).length;
      const onTable = t.world.contacts.filter((c) => c.bi === lower || c.bj === lower).length - between;
      expect(between).toBe(4);
      expect(onTable).toBe(4);
    }
  });
});
