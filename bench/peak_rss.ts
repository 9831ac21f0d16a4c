/**
 * Peak resident memory (VmRSS, through `ps`) of a few processes, sampled on a
 * timer while they run: what the bench reports as each program's peak RSS.
 *
 * @module
 */

/**
 * Resident memory of a process in bytes (VmRSS, as `ps -o rss=` reads it
 * from /proc); null once it is gone. Through `ps` because Deno lets a
 * process read another's /proc entries only with --allow-all, which the
 * bench never grants.
 */
export async function rssBytes(pid: number): Promise<number | null> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  if (out === null || !out.success) return null;
  const kb = Number(new TextDecoder().decode(out.stdout).trim());
  return Number.isFinite(kb) && kb > 0 ? kb * 1024 : null;
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

  /** Stops the timer and waits for the sample under way (safe to call twice). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sampling;
  }

  /** Each name's peak in bytes; null when no sample was taken. */
  peaks(): Record<string, number | null> {
    return Object.fromEntries(this.#peaks);
  }
}
