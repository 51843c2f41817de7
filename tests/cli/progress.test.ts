import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, createProgressGroup, formatEta } from '../../cli/progress.ts';

describe('progress bar', () => {
  it('shows fields whose names have spaces with their values, not their placeholders', () => {
    const { stream, text } = capture();
    const bar = createProgress({ total: 10, unit: 'samples', fields: { epoch: '-', 'val loss': '-' }, stream });
    bar.update(5, { epoch: '1/3', 'val loss': '0.0312' });
    bar.stop();
    expect(text()).toContain('5/10 samples');
    expect(text()).toContain('epoch 1/3');
    expect(text()).toContain('val loss 0.0312');
    expect(text()).not.toMatch(/\{[\w ]+\}/);
  });

  it('formats the time left in whole units', () => {
    expect(formatEta(42.4)).toBe('42s');
    expect(formatEta(179.6)).toBe('3m00s');
    expect(formatEta(185)).toBe('3m05s');
    expect(formatEta(4020)).toBe('1h07m');
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe('-');
  });
});

/** A stream that keeps what is written to it. */
function capture(): { stream: Writable; text: () => string } {
  let written = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      written += String(chunk);
      done();
    },
  });
  return { stream, text: () => written };
}

describe('progress bars side by side', () => {
  it('draws each bar of a group on its own line with its own unit and fields, and ends with their last values', () => {
    const { stream, text } = capture();
    const bars = createProgressGroup({ stream });
    const a = bars({ total: 10, unit: 'samples (policy)', fields: { epoch: '-' } });
    const b = bars({ total: 20, unit: 'samples (ablation)', fields: { epoch: '-' } });
    a.update(4, { epoch: '1/2' });
    b.update(15, { epoch: '2/2' });
    a.stop();
    b.update(20, { epoch: '2/2' });
    b.stop();
    const lines = text().split('\n').filter((l) => l.includes('samples'));
    expect(lines.some((l) => l.includes('4/10 samples (policy)') && l.includes('epoch 1/2'))).toBe(true);
    expect(lines.some((l) => l.includes('20/20 samples (ablation)') && l.includes('epoch 2/2'))).toBe(true);
    expect(text()).not.toMatch(/\{[\w ]+\}/);
    // A bar made after the group ended starts a new group.
    const c = bars({ total: 3, unit: 'episodes' });
    c.update(3);
    c.stop();
    expect(text()).toContain('3/3 episodes');
  });

  it('prints logged lines above live bars and keeps every one, even those logged just before the last bar stops', () => {
    const { stream, text } = capture();
    const bars = createProgressGroup({ stream });
    bars.log('before any bar');
    const a = bars({ total: 4, unit: 'episodes (robot)' });
    a.update(1);
    bars.log('eval train: 91.0 %');
    bars.log('eval heldout: 90.5 %');
    a.update(4);
    a.stop();
    bars.log('after the bars');
    const order = ['before any bar', 'eval train: 91.0 %', 'eval heldout: 90.5 %', 'after the bars'].map((l) => text().indexOf(l));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(text().split('eval heldout: 90.5 %').length).toBe(2);
    // Disabled bars still log.
    const quiet = capture();
    const q = createProgressGroup({ enabled: false, stream: quiet.stream });
    q({ total: 2, unit: 'x' }).update(1);
    q.log('a line');
    expect(quiet.text()).toBe('a line\n');
  });
});
