/**
 * The lighting model the scene builder shades with: a hemisphere ambient term plus four light
 * slots (point, directional or spot; unused slots are black), Lambertian, no shadows. Written in
 * TSL instead of using three's lights so that every light set shares one compiled shader (three
 * compiles a pipeline per combination of light kinds) and so that lighting can be evaluated per
 * vertex: on lavapipe, per-fragment work is what limits frames per second.
 *
 * Units: a light's `intensity` is the irradiance it gives at 1 m (point, spot) or everywhere
 * (directional); a white surface facing a directional light of intensity 1 renders at 1 (linear).
 * Browser-safe (three.js only).
 */
import { Vector3, Vector4 } from 'three/webgpu';
import type { Node } from 'three/webgpu';
import { dot, float, inverseSqrt, max, mix, renderGroup, smoothstep, uniform } from 'three/tsl';
import type { Look } from './look.ts';

export const LIGHT_SLOTS = 4;

export class Lighting {
  /** xyz: light position (w = 1) or direction toward the light (w = 0). */
  private readonly pos = Array.from({ length: LIGHT_SLOTS }, () => uniform(new Vector4(0, 0, 1, 0)).setGroup(renderGroup));
  /** Colour × intensity (black: slot unused). */
  private readonly color = Array.from({ length: LIGHT_SLOTS }, () => uniform(new Vector3()).setGroup(renderGroup));
  /** xyz: spot axis (from the light); w: cosine of the cone half-angle (−2: not a spot). */
  private readonly spot = Array.from({ length: LIGHT_SLOTS }, () => uniform(new Vector4(0, 0, -1, -2)).setGroup(renderGroup));
  private readonly sky = uniform(new Vector3(0.5, 0.5, 0.5)).setGroup(renderGroup);
  private readonly ground = uniform(new Vector3(0.2, 0.2, 0.2)).setGroup(renderGroup);

  /** Irradiance (linear RGB) at world point P with unit world normal N (both vec3 nodes). */
  irradiance(P: Node<'vec3'>, N: Node<'vec3'>): Node<'vec3'> {
    let total: Node<'vec3'> = mix(this.ground, this.sky, N.z.mul(0.5).add(0.5));
    for (let i = 0; i < LIGHT_SLOTS; i++) {
      const p = this.pos[i], s = this.spot[i];
      const Lv = p.xyz.sub(P.mul(p.w));
      const d2 = max(dot(Lv, Lv), float(1e-4));
      const l = Lv.mul(inverseSqrt(d2));
      const att = mix(float(1), d2.reciprocal(), p.w);
      const cone = smoothstep(s.w, s.w.add(0.04), dot(l.negate(), s.xyz));
      total = total.add(this.color[i].mul(max(dot(N, l), 0).mul(att).mul(cone)));
    }
    return total;
  }

  /** Sets the slots from a look (lights past LIGHT_SLOTS are dropped). */
  set(look: Pick<Look, 'lights' | 'ambient'>): void {
    for (let i = 0; i < LIGHT_SLOTS; i++) {
      const L = look.lights[i];
      const pos = this.pos[i].value as Vector4, color = this.color[i].value as Vector3, spot = this.spot[i].value as Vector4;
      if (!L) {
        color.set(0, 0, 0);
        continue;
      }
      const [x, y, z] = L.position;
      if (L.kind === 'directional') {
        const n = Math.hypot(x, y, z) || 1;
        pos.set(x / n, y / n, z / n, 0);
      } else {
        pos.set(x, y, z, 1);
      }
      color.set(L.color[0] * L.intensity, L.color[1] * L.intensity, L.color[2] * L.intensity);
      if (L.kind === 'spot') {
        // Spots aim at the table centre.
        const n = Math.hypot(x, y, z) || 1;
        spot.set(-x / n, -y / n, -z / n, Math.cos(((L.angleDeg ?? 30) * Math.PI) / 180));
      } else {
        spot.set(0, 0, -1, -2);
      }
    }
    const a = look.ambient;
    (this.sky.value as Vector3).set(a.sky[0] * a.intensity, a.sky[1] * a.intensity, a.sky[2] * a.intensity);
    (this.ground.value as Vector3).set(a.ground[0] * a.intensity, a.ground[1] * a.intensity, a.ground[2] * a.intensity);
  }
}
