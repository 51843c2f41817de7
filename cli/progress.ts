/**
 * Progress bars (cli-progress): count, rate, ETA and a free-form field such as the success rate.
 * Disabled (or drawn to a non-TTY as plain lines every few seconds) so logs stay readable.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number, fields?: Record<string, string>): void;
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  start?: number;
  unit: string;
  enabled?: boolean;
  /** Extra payload fields shown after the bar, with their initial text. */
  fields?: Record<string, string>;
  /** Where the bar is drawn (default stderr). */
  stream?: NodeJS.WritableStream;
}

export function createProgress(options: ProgressOptions): Progress {
  const fields = options.fields ?? { success: '-' };
  if (options.enabled === false) return { update() {}, stop() {} };
  // cli-progress placeholders are word characters only: "val loss" is shown as its label and
  // carried under the key val_loss.
  const key = (label: string): string => `f_${label.replace(/\W+/g, '_')}`;
  const payload = (f: Record<string, string> | undefined): Record<string, string> =>
    Object.fromEntries(Object.entries(f ?? {}).map(([k, v]) => [key(k), v]));
  const extra = Object.keys(fields).map((k) => `${k} {${key(k)}}`).join(' | ');
  const bar = new cliProgress.SingleBar(
    {
      format: `{bar} {value}/{total} ${options.unit} | {rate}/s | ETA {eta_text}${extra ? ` | ${extra}` : ''}`,
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      hideCursor: true,
      etaBuffer: 20,
      fps: 5,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      stream: options.stream ?? process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  const start = options.start ?? 0;
  bar.start(options.total, start, { ...payload(fields), rate: '0.0', eta_text: '-' });
  return {
    update(value, f) {
      const s = (performance.now() - t0) / 1000;
      const rate = (value - start) / Math.max(s, 1e-3);
      bar.update(value, { ...payload(f), rate: rate.toFixed(1), eta_text: rate > 0 ? formatEta((options.total - value) / rate) : '-' });
    },
    stop() {
      bar.stop();
    },
  };
}

/** Seconds left as "42s", "3m05s" or "1h07m" (whole units, never "2m60s"). */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const t = Math.round(seconds);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}
