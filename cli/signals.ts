/** How long-running commands meet Ctrl-C and SIGTERM. */

/** Resolves when the process is asked to stop (Ctrl-C, SIGTERM). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = (): void => on('SIGINT');
    const onTerm = (): void => on('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

export interface Interrupt {
  /** Aborts at the first Ctrl-C. */
  signal: AbortSignal;
  /** Removes the handler. */
  release(): void;
}

/**
 * Ctrl-C in two stages: the first asks the work to stop at its next safe point (`signal` aborts;
 * "stopping <stopsWhen>" is printed), a second exits at once with code 130 (saying what
 * `kept`).
 */
export function twoStageInterrupt(words: { stopsWhen: string; kept: string }): Interrupt {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write(`\nsimreal: second Ctrl-C, exiting now; ${words.kept}.\n`);
      process.exit(130);
    }
    process.stderr.write(`\nsimreal: stopping ${words.stopsWhen} (Ctrl-C again to quit at once)...\n`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, release: () => void process.off('SIGINT', onSigint) };
}
