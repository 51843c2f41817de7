import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { decode } from 'fast-png';
import { describe, expect, it, vi } from 'vitest';
import { renderCommand } from '../../cli/render.ts';
import { UserError } from '../../cli/errors.ts';
import { parseBenchArgs } from '../../sim/render/bench.ts';
import { needs } from '../system-packages.ts';

function program(): Command {
  const p = new Command('simreal').exitOverride();
  const bench = new Command('bench').exitOverride();
  renderCommand.register(p, bench);
  p.addCommand(bench);
  return p;
}

function captureStdout(): { text: () => string; restore: () => void } {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return { text: () => out, restore: () => { spy.mockRestore(); err.mockRestore(); } };
}

describe('simreal render preview', () => {
  it('writes a contact sheet of N frames', needs('webgpu'), async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simreal-render-'));
    const out = join(dir, 'montage.png');
    const cap = captureStdout();
    try {
      await program().parseAsync(['render', 'preview', 'scenarios/stack-3.json', '--seed', '7', '--n', '4', '--size', '32', '--cameras', 'front,wrist', '--steps', '5', '--out', out], { from: 'user' });
    } finally {
      cap.restore();
    }
    const png = decode(readFileSync(out));
    expect(png.channels).toBe(3);
    // 2 x 2 cells of two 32-pixel views with gutters.
    expect(png.width).toBeGreaterThan(4 * 32);
    expect(png.height).toBeGreaterThan(2 * 32);
    expect(cap.text()).toMatch(/wrote .*montage\.png/);
  });

  it('names the cameras there are for an unknown one', async () => {
    await expect(program().parseAsync(['render', 'preview', 'scenarios/stack-3.json', '--cameras', 'side'], { from: 'user' })).rejects.toThrow(UserError);
  });
});

describe('simreal bench render', () => {
  it('prints one JSON object with frames/s per mode and size on its last line', needs('webgpu'), async () => {
    const cap = captureStdout();
    try {
      await program().parseAsync(['bench', 'render', '--json', '--sizes', '16', '--seconds', '0.2', '--processes', '1', '--look-every', '5'], { from: 'user' });
    } finally {
      cap.restore();
    }
    const last = cap.text().trim().split('\n').pop() as string;
    const r = JSON.parse(last);
    expect(r.bench).toBe('render');
    expect(Object.keys(r.fps).sort()).toEqual(['rgb_16', 'rgbds_16']);
    expect(r.fps.rgb_16).toBeGreaterThan(0);
    expect(r.cpu_ms_per_frame.rgbds_16).toBeGreaterThan(0);
  });

  it('parses the standalone flags and refuses unknown ones', () => {
    expect(parseBenchArgs(['--sizes', '64,128', '--tiles', '16', '--processes', '8', '--json'])).toMatchObject({ sizes: [64, 128], tiles: 16, processes: 8, json: true });
    expect(() => parseBenchArgs(['--modes', 'depth'])).toThrow(/rgb/);
    expect(() => parseBenchArgs(['--frobnicate'])).toThrow(/unknown flag/);
  });
});
