/**
 * Failures a user can act on: each is one line on stderr naming the fix, with the documented exit
 * code (1 usage, 2 simreal's own checks, 3 a missing system dependency, 4 the bridge unreachable
 * or lost), and nothing is left behind that would block running the command again.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetWriter } from '../../sim/dataset/writer.ts';
import { simrealFeatures } from '../../sim/dataset/format.ts';
import { verifyDataset } from '../../sim/dataset/verify.ts';
import { framesFromRecords } from '../../policy/data/load.ts';
import { trainBc } from '../../policy/train/bc.ts';
import { RobotClient } from '../../bridge/robot-client.ts';
import { EmulatedRobot } from '../../bridge/robots/emulated/emulated.ts';
import { loadReality } from '../../bridge/robots/emulated/reality.ts';
import { TOKEN, startTestBridge } from '../bridge/helpers.ts';
import { makeDataset } from '../dataset/helpers.ts';
import { expertEpisodes, scenario, wasmBackend } from '../policy/helpers.ts';
import { EXIT_CODES } from '../../cli/errors.ts';
import { runCli } from './run-cli.ts';

const root = mkdtempSync(join(tmpdir(), 'simreal-failures-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** stderr without the Vulkan loader's own warnings (printed by the driver, not by simreal). */
function ours(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() && !/^Warning: |^\s+at Check/.test(l));
}

describe('clean failures', () => {
  it('documents one exit-code scheme', () => {
    expect(EXIT_CODES).toMatchObject({ usage: 1, input: 2, systemDependency: 3, connection: 4 });
  });

  it('usage errors exit 1', async () => {
    const r = await runCli(['generate', 'scenarios/stack-2.json', '-n', '1', '--out', join(root, 'u'), '--no-such-flag']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown option '--no-such-flag'/);
  });

  it('generate --cameras bogus: one line naming the cameras there are, exit 2, nothing written', async () => {
    const out = join(root, 'bogus');
    const r = await runCli(['generate', 'scenarios/stack-2.json', '-n', '1', '--render', '64', '--cameras', 'bogus', '--out', out, '--no-progress']);
    expect(r.code).toBe(2);
    expect(ours(r.stderr)).toEqual(['simreal: --cameras: no camera named "bogus"; the cameras are front, wrist']);
    expect(existsSync(out)).toBe(false);
  });

  it('generate --render without a GPU adapter: one line naming what to install, exit 3, nothing written, and the rerun works', async () => {
    const out = join(root, 'no-adapter');
    const noVulkan = { VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' };
    const r = await runCli(['generate', 'scenarios/stack-2.json', '-n', '1', '--render', '64', '--image-format', 'png', '--out', out, '--no-progress'], { env: noVulkan });
    expect(r.code).toBe(3);
    const lines = ours(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^simreal: no WebGPU adapter found.*apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1/);
    expect(existsSync(out)).toBe(false);
    // The same command without rendering then runs in the same folder.
    const again = await runCli(['generate', 'scenarios/stack-2.json', '-n', '1', '--out', out, '--no-progress', '--workers', '0']);
    expect(again.code, again.stderr).toBe(0);
  }, 60_000);

  it('--verify flags a dataset that holds no episode', async () => {
    const dir = join(root, 'empty-dataset');
    DatasetWriter.create(dir, 20, simrealFeatures({ observationNames: ['a'], blockCount: 1 }));
    const r = await verifyDataset(dir);
    expect(r.ok).toBe(false);
    expect(r.problems).toContain('meta/episodes: the dataset holds no episode (a generation or merge that never committed one); generate or merge it again');
  });

  it('--verify on a truncated episodes table blames the table, not the data file', async () => {
    const dir = join(root, 'cut-table');
    await makeDataset(dir, { episodes: 2, writer: { commitIntervalMs: 0 } });
    const table = join(dir, 'meta/episodes/chunk-000/file-001.parquet');
    truncateSync(table, statSync(table).size - 40);
    const r = await verifyDataset(dir);
    expect(r.problems.join('\n')).toMatch(/meta\/episodes\/chunk-000\/file-001\.parquet: /);
    expect(r.problems.join('\n')).not.toMatch(/no episode refers to this data file/);
    expect(r.notes.join('\n')).toMatch(/data\/chunk-000\/file-001\.parquet: not checked, its episodes may be in the unreadable meta\/episodes\/chunk-000\/file-001\.parquet/);
  });

  it('a failed merge removes what it started, so the rerun works once the input is fixed', async () => {
    const a = join(root, 'merge-a'), b = join(root, 'merge-b');
    await makeDataset(a, { episodes: 4, shard: { index: 0, count: 2 } });
    await makeDataset(b, { episodes: 4, shard: { index: 1, count: 2 } });
    const f = join(b, 'data/chunk-000/file-000.parquet');
    const whole = readFileSync(f);
    truncateSync(f, whole.length - 60);
    const out = join(root, 'merged');
    const r = await runCli(['dataset', 'merge', a, b, '--out', out]);
    expect(r.code).toBe(2);
    expect(ours(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/merge-b\/data\/chunk-000\/file-000\.parquet/);
    expect(existsSync(out)).toBe(false);
    // An empty folder given as --out is emptied again, not removed.
    const given = join(root, 'merged-given');
    await import('node:fs').then((fs) => fs.mkdirSync(given));
    expect((await runCli(['dataset', 'merge', a, b, '--out', given])).code).toBe(2);
    expect(readdirSync(given)).toEqual([]);
    // Input repaired: the very same command succeeds.
    writeFileSync(f, whole);
    const ok = await runCli(['dataset', 'merge', a, b, '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await verifyDataset(out)).ok).toBe(true);
  }, 60_000);

  it('train on a truncated data file names the dataset and the file, exit 2', async () => {
    const dir = join(root, 'cut-data');
    await makeDataset(dir, { episodes: 2, writer: { commitIntervalMs: 0 } });
    const f = join(dir, 'data/chunk-000/file-001.parquet');
    truncateSync(f, statSync(f).size - 60);
    const r = await runCli(['train', 'bc', dir, '--out', join(root, 'model-x'), '--epochs', '1', '--backend', 'cpu'], { timeoutMs: 120_000 });
    expect(r.code).toBe(2);
    const line = ours(r.stderr).find((l) => l.startsWith('simreal:'))!;
    expect(line).toContain(`dataset ${dir}: data/chunk-000/file-001.parquet`);
    expect(line).toMatch(/--verify/);
  }, 120_000);

  it('policy run: an unreachable bridge and a bridge that dies mid-run are one line each, exit 4', async () => {
    const tokenFile = join(root, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    chmodSync(tokenFile, 0o600);
    const model = join(root, 'policy');
    const sc = scenario('stack-2');
    await trainBc({ datasets: [], frames: framesFromRecords(expertEpisodes(sc, 4), { scenario: sc, randomization: 'train' }), out: model, choice: await wasmBackend(), epochs: 1, hidden: [16], batchSize: 128, seed: 1, selectEpisodes: 0 });

    const dead = await runCli(['policy', 'run', model, '--bridge', 'ws://127.0.0.1:1', '--token-file', tokenFile, '--backend', 'cpu', '--json'], { timeoutMs: 60_000 });
    expect(dead.code).toBe(4);
    expect(ours(dead.stderr).filter((l) => l.startsWith('simreal:'))).toEqual([expect.stringMatching(/^simreal: cannot reach the bridge \(ECONNREFUSED\).*is `simreal bridge` running/)]);

    const bridge = await startTestBridge();
    const robot = new RobotClient({ url: bridge.url, token: bridge.robotToken('emu-1'), id: 'emu-1', robot: new EmulatedRobot(loadReality('scenarios/reality/lab.json'), { speed: 4 }), backoff: { initialMs: 50, maxMs: 200 } });
    await robot.start();
    await robot.waitRegistered(10_000);
    let leased!: () => void;
    const holdsLease = new Promise<void>((r) => (leased = r));
    const run = runCli(['policy', 'run', model, '--bridge', bridge.url, '--token-file', tokenFile, '--backend', 'cpu', '--episodes', '50', '--json'], {
      timeoutMs: 90_000,
      onStderr: (text) => {
        if (/leased emu-1/.test(text)) leased();
      },
    });
    // Close the hub once the policy holds the lease and drives the robot.
    await Promise.race([holdsLease, run]);
    await new Promise((r) => setTimeout(r, 500));
    await robot.stop();
    await bridge.close();
    const r = await run;
    expect(r.code).toBe(4);
    const lines = ours(r.stderr).filter((l) => l.startsWith('simreal:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^simreal: lost the bridge: the connection to ws:\/\/127\.0\.0\.1:\d+\/? closed \(code \d+.*\) after \d+ of 50 episodes; is the hub still running\?/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 180_000);
});
