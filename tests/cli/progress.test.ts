import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatEta } from '../../cli/progress.ts';

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

  it('formats the time left in whole units', () => {
    expect(formatEta(42.4)).toBe('42s');
    expect(formatEta(179.6)).toBe('3m00s');
    expect(formatEta(185)).toBe('3m05s');
    expect(formatEta(4020)).toBe('1h07m');
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe('-');
  });
});
