/**
 * SO-101 datasets in LeRobot's own form, both ways: a dataset written the way LeRobot records an
 * SO-101 (by a fixture here, with its default RANGE_M100_100 joints and the arm's calibration, PNG
 * camera frames) round-trips through DuckDB and `simreal dataset import` into frames simreal trains
 * from; and simreal's own SO-101 datasets carry LeRobot's feature names and units.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFrames } from '../../policy/data/load.ts';
import { DatasetError } from '../../sim/dataset/format.ts';
import { importLeRobotSo101 } from '../../sim/dataset/import-so101.ts';
import { encodePngRgb } from '../../sim/dataset/png.ts';
import { DatasetWriter } from '../../sim/dataset/writer.ts';
import { ROBOT_FEATURES } from '../../sim/tasks/features.ts';
import { SO101_BASE } from '../../sim/robot/so101/arm.ts';
import { parseCalibration } from '../../sim/robot/so101/calibration.ts';
import { toBase, toolPose } from '../../sim/robot/so101/command.ts';
import { toolOffset, widthAt } from '../../sim/robot/so101/jaw.ts';
import { inverseKinematics, JAW_LIMITS, kinematicToUrdf } from '../../sim/robot/so101/kinematics.ts';
import { LEROBOT_SO101_NAMES, LEROBOT_SO101_TYPE, toRangeM100 } from '../../sim/robot/so101/lerobot.ts';
import { makeDataset, tempDir } from './helpers.ts';

/** A LeRobot calibration file's content (as lerobot-calibrate writes it for an SO-101). */
const CALIBRATION = parseCalibration({
  shoulder_pan: { id: 1, drive_mode: 0, homing_offset: -1470, range_min: 758, range_max: 3292 },
  shoulder_lift: { id: 2, drive_mode: 0, homing_offset: 157, range_min: 830, range_max: 3215 },
  elbow_flex: { id: 3, drive_mode: 0, homing_offset: 1122, range_min: 871, range_max: 3090 },
  wrist_flex: { id: 4, drive_mode: 0, homing_offset: -1145, range_min: 824, range_max: 3194 },
  wrist_roll: { id: 5, drive_mode: 0, homing_offset: -1382, range_min: 0, range_max: 4095 },
  gripper: { id: 6, drive_mode: 0, homing_offset: 1407, range_min: 2031, range_max: 3476 },
});

const tmp = tempDir('simreal-so101-ds-');
const lerobotDir = join(tmp.dir, 'lerobot-so101');
const W = 32, H = 24, FPS = 30;

/** The recorded trajectory: the tool point circling above the table, the jaws opening and closing. */
function trajectory(episode: number, n: number): Array<{ joints: number[]; jaw: number }> {
  const out = [];
  for (let t = 0; t < n; t++) {
    const a = (2 * Math.PI * t) / n + episode;
    const jaw = 0.2 + 0.6 * (0.5 + 0.5 * Math.sin(a));
    const tool = toolOffset(widthAt(jaw));
    // Fingertip point for a tool point circling at (0.03 cos, 0.04 + 0.03 sin, 0.06), jaws along x.
    const tip = [0.03 * Math.cos(a) - tool.u, 0.04 + 0.03 * Math.sin(a), 0.06 - tool.s, 0];
    out.push({ joints: [...inverseKinematics(toBase(SO101_BASE, tip), 0).joints], jaw });
  }
  return out;
}

/** One frame in LeRobot's default units: joints in RANGE_M100_100 of CALIBRATION, gripper 0–100. */
function lerobotValues(p: { joints: number[]; jaw: number }): number[] {
  return [...p.joints.map((q, i) => toRangeM100(i, q, CALIBRATION)), ((p.jaw - JAW_LIMITS[0]) / (JAW_LIMITS[1] - JAW_LIMITS[0])) * 100];
}

let db: DuckDBConnection;
let instance: DuckDBInstance;
const episodes = [40, 30];

beforeAll(async () => {
  // The fixture: a LeRobot v3 dataset as LeRobot records an SO-101 (robot_type so101_follower,
  // observation.state/action the six {motor}.pos, a camera), action = the next frame's joints.
  const features = {
    'observation.state': { dtype: 'float32', shape: [6], names: [...LEROBOT_SO101_NAMES] },
    'observation.images.front': { dtype: 'image', shape: [H, W, 3], names: ['height', 'width', 'channels'] },
    action: { dtype: 'float32', shape: [6], names: [...LEROBOT_SO101_NAMES] },
    timestamp: { dtype: 'float32', shape: [1], names: null },
    frame_index: { dtype: 'int64', shape: [1], names: null },
    episode_index: { dtype: 'int64', shape: [1], names: null },
    index: { dtype: 'int64', shape: [1], names: null },
    task_index: { dtype: 'int64', shape: [1], names: null },
  };
  const writer = DatasetWriter.create(lerobotDir, FPS, features, { robotType: LEROBOT_SO101_TYPE });
  for (let e = 0; e < episodes.length; e++) {
    const traj = trajectory(e, episodes[e]);
    const n = traj.length;
    const state = new Float32Array(n * 6), action = new Float32Array(n * 6);
    const images: Uint8Array[] = [];
    for (let t = 0; t < n; t++) {
      state.set(lerobotValues(traj[t]), t * 6);
      action.set(lerobotValues(traj[Math.min(t + 1, n - 1)]), t * 6);
      images.push(encodePngRgb(W, H, new Uint8Array(W * H * 3).fill((t * 7) % 256)));
    }
    await writer.append({ frames: { length: n, columns: { 'observation.state': state, action }, images: { 'observation.images.front': images } }, task: 'Circle above the table.' });
  }
  await writer.close();
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
});

afterAll(() => {
  db?.closeSync();
  instance?.closeSync();
  tmp.cleanup();
});

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

describe('a LeRobot SO-101 dataset', () => {
  it('reads in DuckDB as LeRobot wrote it: six motors per frame, in its units', async () => {
    const cols = Object.fromEntries((await rows(`DESCRIBE SELECT * FROM read_parquet('${lerobotDir}/data/*/*.parquet')`)).map((c) => [c.column_name, c.column_type]));
    expect(cols['observation.state']).toBe('FLOAT[]');
    expect(cols.action).toBe('FLOAT[]');
    const [r] = await rows(`SELECT "observation.state" AS s, action AS a FROM read_parquet('${lerobotDir}/data/*/*.parquet') WHERE episode_index = 1 AND frame_index = 7`);
    const expected = lerobotValues(trajectory(1, episodes[1])[7]);
    (r.s as number[]).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 3));
    expect((r.a as number[]).length).toBe(6);
    const [count] = await rows(`SELECT count(*) AS n FROM read_parquet('${lerobotDir}/data/*/*.parquet')`);
    expect(Number(count.n)).toBe(episodes[0] + episodes[1]);
  });

  it('imports into frames simreal trains from: degrees, the tool point, steps toward the recorded goals', async () => {
    const out = join(tmp.dir, 'imported');
    const r = await importLeRobotSo101(lerobotDir, out, { units: 'range', calibration: CALIBRATION });
    expect(r).toEqual({ episodes: 2, frames: episodes[0] + episodes[1], cameras: ['front'], units: 'range' });
    const set = await loadFrames(out, { purpose: 'a test', camera: 'front' });
    expect(set.stateNames).toEqual(ROBOT_FEATURES);
    expect(set.actionNames).toEqual(['dx', 'dy', 'dz', 'dyaw', 'grip']);
    expect(set.images?.width).toBe(W);
    const S = set.stateNames.length;
    let worst = 0;
    for (let e = 0; e < episodes.length; e++) {
      const traj = trajectory(e, episodes[e]);
      for (let t = 0; t < traj.length; t++) {
        const f = set.episodes[e].start + t;
        const want = toolPose(SO101_BASE, traj[t].joints, toolOffset(widthAt(traj[t].jaw)));
        for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(set.state[f * S + k] - want[k]));
        // The step toward the next frame's joints points where the tool point goes next.
        if (t + 1 < traj.length) {
          const next = toolPose(SO101_BASE, traj[t + 1].joints, toolOffset(widthAt(traj[t].jaw)));
          const step = [0, 1].map((k) => set.action[f * 5 + k]);
          const moved = [next[0] - want[0], next[1] - want[1]];
          expect(step[0] * moved[0] + step[1] * moved[1]).toBeGreaterThan(0);
        }
      }
    }
    // Within the calibration's tick resolution (RANGE_M100_100 values through whole ticks).
    expect(worst).toBeLessThan(0.0015);
    // The joints are kept in degrees: the URDF angles.
    const { DatasetReader } = await import('../../sim/dataset/reader.ts');
    const reader = await DatasetReader.open(out);
    const [row] = await reader.readEpisode(reader.episodes[0], ['observation.state']);
    const deg = row['observation.state'] as number[];
    expect(deg[1]).toBeCloseTo((kinematicToUrdf(1, trajectory(0, episodes[0])[0].joints[1]) * 180) / Math.PI, 0);
    await reader.close();
  });

  it('is refused, naming the fix, when its joint units are not said or it is not an SO-101', async () => {
    await expect(importLeRobotSo101(lerobotDir, join(tmp.dir, 'no-units'))).rejects.toThrow(/--units degrees.*--units range --calibration/);
    await expect(importLeRobotSo101(lerobotDir, join(tmp.dir, 'no-cal'), { units: 'range' })).rejects.toThrow(/calibration/);
    const mount = join(tmp.dir, 'mount');
    await makeDataset(mount, { episodes: 1 });
    await expect(importLeRobotSo101(mount, join(tmp.dir, 'from-mount'), { units: 'degrees' })).rejects.toThrow(DatasetError);
    await expect(importLeRobotSo101(mount, join(tmp.dir, 'from-mount2'), { units: 'degrees' })).rejects.toThrow(/six motors/);
  });
});

describe("simreal's own SO-101 datasets", () => {
  it("carry LeRobot's SO-101 features, which DuckDB reads, and import back unchanged in their joints", async () => {
    const dir = join(tmp.dir, 'simreal-so101');
    const records = await makeDataset(dir, { scenario: 'so101-stack-2', episodes: 2 });
    const info = JSON.parse((await import('node:fs')).readFileSync(join(dir, 'meta/info.json'), 'utf8'));
    expect(info.robot_type).toBe('so101_follower');
    expect(info.features['observation.state'].names).toEqual(LEROBOT_SO101_NAMES);
    expect(info.features.action.names).toEqual(LEROBOT_SO101_NAMES);
    expect(info.features['sim.state'].names).toEqual(records[0].observationNames);
    const [r] = await rows(`SELECT "observation.state" AS s, "sim.state" AS o FROM read_parquet('${dir}/data/*/*.parquet') WHERE episode_index = 0 AND frame_index = 3`);
    (r.s as number[]).forEach((v, i) => expect(v).toBeCloseTo(records[0].joints![3 * 6 + i], 4));
    // simreal's policies still train on simreal's observation.
    const set = await loadFrames(dir, { purpose: 'a test' });
    expect(set.stateNames).toEqual(records[0].observationNames);
    // Importing it back (degrees, told by its meta/simreal.json) gives the same joints and tool point.
    const back = join(tmp.dir, 'simreal-so101-imported');
    await importLeRobotSo101(dir, back);
    const again = await loadFrames(back, { purpose: 'a test' });
    const S = set.stateNames.length, R = again.stateNames.length;
    for (let t = 0; t < records[0].length; t++) {
      for (let k = 0; k < 3; k++) expect(again.state[t * R + k]).toBeCloseTo(set.state[t * S + k], 2);
    }
  });
});
