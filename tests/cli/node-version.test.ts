import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NODE_RANGE, nodeVersionProblem as problem } from '../../bin/node-version.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the Node.js version check of bin/simreal.js', () => {
  it('refuses every Node that cannot strip types by default, with one line naming the versions and the fix', () => {
    for (const v of ['v18.20.4', 'v20.20.2', 'v22.12.0', 'v22.17.1', 'v23.5.0']) {
      expect(problem(v, v.startsWith('v18') || v.startsWith('v20') ? undefined : false), v).toBe(
        `simreal needs Node.js 22.18+ or 23.6+, which run its TypeScript sources directly; this is ${v}. Run it through npm, which uses the Node 24 the project pins (after \`npm install\`): \`npx simreal …\` or \`npm start\`.`,
      );
    }
    for (const v of ['v22.18.0', 'v23.6.0', 'v24.0.0', 'v24.21.0', 'v26.1.0']) expect(problem(v, 'strip'), v).toBeNull();
  });

  it('says the same as package.json engines', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(NODE_RANGE);
  });

  it('stops a Node with type stripping turned off before it meets a .ts file', () => {
    const r = spawnSync(process.execPath, ['--no-experimental-strip-types', 'bin/simreal.js', '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`simreal runs its TypeScript sources directly, but this Node (${process.version}) has type stripping turned off (--no-experimental-strip-types): run it without that flag.\n`);
  });
});
