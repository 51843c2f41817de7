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

const BAR_LOOK = {
  barCompleteChar: '\u2588',
  barIncompleteChar: '\u2591',
  hideCursor: true,
  etaBuffer: 20,
  fps: 5,
  noTTYOutput: true,
  notTTYSchedule: 5000,
};

/** One bar's format, first payload and updates, whichever cli-progress object draws it. */
function barParts(options: ProgressOptions): {
  format: string;
  start: number;
  first: Record<string, string>;
  next(value: number, f?: Record<string, string>): Record<string, string>;
} {
  const fields = options.fields ?? { success: '-' };
  // cli-progress placeholders are word characters only: "val loss" is shown as its label and
  // carried under the key val_loss.
  const key = (label: string): string => `f_${label.replace(/\W+/g, '_')}`;
  const payload = (f: Record<string, string> | undefined): Record<string, string> =>
    Object.fromEntries(Object.entries(f ?? {}).map(([k, v]) => [key(k), v]));
  const extra = Object.keys(fields).map((k) => `${k} {${key(k)}}`).join(' | ');
  const t0 = performance.now();
  const start = options.start ?? 0;
  return {
    format: `{bar} {value}/{total} ${options.unit} | {rate}/s | ETA {eta_text}${extra ? ` | ${extra}` : ''}`,
    start,
    first: { ...payload(fields), rate: '0.0', eta_text: '-' },
    next(value, f) {
      const s = (performance.now() - t0) / 1000;
      const rate = (value - start) / Math.max(s, 1e-3);
      return { ...payload(f), rate: rate.toFixed(1), eta_text: rate > 0 ? formatEta((options.total - value) / rate) : '-' };
    },
  };
}

export function createProgress(options: ProgressOptions): Progress {
  if (options.enabled === false) return { update() {}, stop() {} };
  const parts = barParts(options);
  const bar = new cliProgress.SingleBar({ ...BAR_LOOK, format: parts.format, stream: options.stream ?? process.stderr }, cliProgress.Presets.shades_classic);
  bar.start(options.total, parts.start, parts.first);
  return {
    update(value, f) {
      bar.update(value, parts.next(value, f));
    },
    stop() {
      bar.stop();
    },
  };
}

/** Bars drawn together, and a log that prints its lines above them while they are alive. */
export interface ProgressGroup {
  (options: Omit<ProgressOptions, 'enabled' | 'stream'>): Progress;
  /** One line of text: written at once when no bar is alive, else above the bars at their next redraw (and at the latest when the last one stops). */
  log(line: string): void;
}

/**
 * Bars that may be alive at the same time (stages running side by side), one line each: returns
 * a factory like createProgress. Bars made while others run join them; when the last one stops,
 * the lines stay as they ended, as a single bar's does.
 */
export function createProgressGroup(group: { enabled?: boolean; stream?: NodeJS.WritableStream } = {}): ProgressGroup {
  const stream = group.stream ?? process.stderr;
  let multi: cliProgress.MultiBar | null = null;
  let alive = 0;
  const factory = ((options: Omit<ProgressOptions, 'enabled' | 'stream'>): Progress => {
    if (group.enabled === false) return { update() {}, stop() {} };
    const parts = barParts(options);
    multi ??= new cliProgress.MultiBar({ ...BAR_LOOK, stream }, cliProgress.Presets.shades_classic);
    const owner = multi;
    const bar = owner.create(options.total, parts.start, parts.first, { format: parts.format });
    alive++;
    let stopped = false;
    return {
      update(value, f) {
        bar.update(value, parts.next(value, f));
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.stop();
        if (alive > 1) {
          // Others are still running: this one leaves the live area and its last line stays
          // above it (otherwise every redraw, every 5 s on a non-TTY, prints it again).
          const live = owner as unknown as { update(): void };
          live.update();
          const last = (bar as unknown as { lastDrawnString: string | null }).lastDrawnString;
          owner.remove(bar);
          if (last) owner.log(`${last}\n`);
          alive--;
          return;
        }
        if (--alive === 0) {
          // A redraw first: it writes the lines logged since the last one, which stop() alone drops.
          (owner as unknown as { update(): void }).update();
          owner.stop();
          if (multi === owner) multi = null;
        }
      },
    };
  }) as ProgressGroup;
  factory.log = (line) => {
    if (multi) multi.log(`${line}\n`);
    else stream.write(`${line}\n`);
  };
  return factory;
}

/** Seconds left as "42s", "3m05s" or "1h07m" (whole units, never "2m60s"). */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const t = Math.round(seconds);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}
