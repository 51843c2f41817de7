/**
 * A generation run with the LeRobot sink in its own process, for the kill -9 test:
 * `npx node tests/dataset/generate-child.ts <out> <episodes> [--resume]`. Commits every 150 ms so
 * a kill finds both committed episodes and a half-written data file.
 */
import { makeDataset } from './helpers.ts';

const [out, episodes, flag] = process.argv.slice(2);
await makeDataset(out, { episodes: Number(episodes), resume: flag === '--resume', writer: { commitIntervalMs: 150 } });
