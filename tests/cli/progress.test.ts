import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../cli/progress.ts';

describe('progress bar', () => {
  it('shows fields whose names have spaces with their values, not their placeholders', () => {
    let text = '';
    const stream = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    const bar = createProgress({ total: 10, unit: 'samples', fields: { epoch: '-', 'val loss': '-' }, stream });
    bar.update(5, { epoch: '1/3', 'val loss': '0.0312' });
    bar.stop();
    expect(text).toContain('5/10 samples');
    expect(text).toContain('epoch 1/3');
    expect(text).toContain('val loss 0.0312');
    expect(text).not.toMatch(/\{[\w ]+\}/);
  });
});
