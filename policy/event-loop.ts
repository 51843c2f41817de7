/**
 * Awaiting tfjs on a CPU backend resolves as microtasks only, which never hand the event loop
 * back: timers (a progress bar redraw) and signal handlers (Ctrl-C) would wait for the whole
 * computation. Long loops call the function this returns once per iteration; every `everyMs` it
 * yields to the event loop for one turn.
 */
export function periodicYield(everyMs = 200): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last <= everyMs) return;
    await new Promise((r) => setImmediate(r));
    last = performance.now();
  };
}
