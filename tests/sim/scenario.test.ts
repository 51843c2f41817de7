import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario, ScenarioError } from '../../sim/scenario.ts';

const base = JSON.parse(readFileSync('scenarios/stack-3.json', 'utf8'));

function errorOf(data: unknown): ScenarioError {
  try {
    parseScenario(data, 'test.json');
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('expected a ScenarioError');
}

describe('scenario validation', () => {
  it('accepts every shipped scenario', () => {
    const files = readdirSync('scenarios').filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) expect(() => loadScenario(`scenarios/${f}`)).not.toThrow();
  });

  it('names the path, the value and what was expected for a wrong type', () => {
    const e = errorOf({ ...base, maxSteps: 'many' });
    expect(e.message).toMatch(/maxSteps: .*number.*got "many"/i);
  });

  it('rejects unknown keys', () => {
    const e = errorOf({ ...base, randomization: { ...base.randomization, colour: [0, 1] } });
    expect(e.message).toMatch(/randomization: .*colour/);
  });

  it('rejects out-of-range values', () => {
    const e = errorOf({ ...base, task: { id: 'StackBlocks-v1', blocks: 9 } });
    expect(e.message).toMatch(/task\.blocks: .*5.*got 9/);
  });

  it('rejects min > max', () => {
    const e = errorOf({ ...base, randomization: { ...base.randomization, blockMass: [0.2, 0.1] } });
    expect(e.message).toMatch(/randomization\.blockMass.*min <= max.*\[0\.2,0\.1\]/);
  });

  it('rejects a task it does not know and a wrong schema version', () => {
    expect(errorOf({ ...base, task: { id: 'Juggle-v1' } }).message).toMatch(/task\.id/);
    expect(errorOf({ ...base, schemaVersion: 2 }).message).toMatch(/schemaVersion/);
  });

  it('explains unreadable and non-JSON files', () => {
    expect(() => loadScenario('scenarios/nope.json')).toThrow(/cannot read the file/);
    expect(() => loadScenario('package.json')).toThrow(ScenarioError);
  });
});
