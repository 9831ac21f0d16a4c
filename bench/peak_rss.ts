/**
 * Peak resident memory (VmRSS from /proc) of a few processes, sampled on a
 * timer while they run: what the bench reports as each program's peak RSS.
 *
 * @module
 */

/** Resident memory of a process in bytes, from /proc; null once it is gone. */
export async function rssBytes(pid: number): Promise<number | null> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => null);
  const kb = status?.match(/^VmRSS:\s+(\d+) kB/m)?.[1];
  return kb === undefined ? null : Number(kb) * 1024;
}

/** Options for {@linkcode PeakRss}. */
export interface PeakRssOptions {
  /** Milliseconds between samples. @default 100 */
  intervalMs?: number;
  /** Reads a process's RSS; tests pass their own. @default rssBytes */
  read?: (pid: number) => Promise<number | null>;
}

/**
 * Samples the RSS of named processes until {@linkcode PeakRss.stop}, keeping
 * each name's peak. A name stays in {@linkcode PeakRss.peaks} after its
 * process is unwatched or gone.
 */
export class PeakRss {
  readonly #pids = new Map<string, number>();
  readonly #peaks = new Map<string, number | null>();
  readonly #read: (pid: number) => Promise<number | null>;
  readonly #timer: ReturnType<typeof setInterval>;
  #sampling: Promise<void> = Promise.resolve();

  constructor(options: PeakRssOptions = {}) {
    this.#read = options.read ?? rssBytes;
    this.#timer = setInterval(() => {
      this.#sampling = this.#sampling.then(() => this.sample());
    }, options.intervalMs ?? 100);
  }

  /** Starts sampling `pid` under `name`, from the next tick on. */
  watch(name: string, pid: number): void {
    this.#pids.set(name, pid);
    if (!this.#peaks.has(name)) this.#peaks.set(name, null);
  }

  /** Stops sampling `name`; its peak stays. */
  unwatch(name: string): void {
    this.#pids.delete(name);
  }

  /** Takes one sample of every watched process now. */
  async sample(): Promise<void> {
    for (const [name, pid] of this.#pids) {
      const rss = await this.#read(pid);
      if (rss === null) continue;
      const peak = this.#peaks.get(name) ?? null;
      if (peak === null || rss > peak) this.#peaks.set(name, rss);
    }
  }

  /** Stops the timer (safe to call twice). */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** Each name's peak in bytes; null when no sample was taken. */
  peaks(): Record<string, number | null> {
    return Object.fromEntries(this.#peaks);
  }
}
