/**
 * Turns libpcap's cumulative per-interface drop counters into increments
 * for the agent's `kernel_dropped` counter.
 *
 * @module
 */

/** The drop fields of a capture's stats (`CaptureStats` of `agent/capture`). */
export interface DropStats {
  /** Packets the kernel dropped because the ring buffer was full (`ps_drop`). */
  kernelDropped: number;
  /** Packets the interface or driver dropped (`ps_ifdrop`). */
  interfaceDropped: number;
}

/** libpcap's counters are 32-bit and wrap. */
const COUNTER_MODULUS = 2 ** 32;

/**
 * Remembers the last reading per interface and returns what was dropped
 * since, across every interface. A counter that went down wrapped around
 * (or its capture was reopened), and is read modulo 2^32.
 *
 * @example
 * ```ts
 * const tracker = new KernelDropTracker();
 * setInterval(() => {
 *   const dropped = tracker.update(group.stats());
 *   if (dropped > 0) outbox.addCounters({ kernel_dropped: dropped });
 * }, 10_000);
 * ```
 */
export class KernelDropTracker {
  readonly #last = new Map<string, number>();

  /** Drops since the previous call (the first call counts from zero). */
  update(stats: Record<string, DropStats>): number {
    let added = 0;
    for (const [name, s] of Object.entries(stats)) {
      const total = s.kernelDropped + s.interfaceDropped;
      const previous = this.#last.get(name) ?? 0;
      added += total >= previous
        ? total - previous
        : (total - previous + COUNTER_MODULUS) % COUNTER_MODULUS;
      this.#last.set(name, total);
    }
    return added;
  }
}
