/**
 * Peak resident memory (VmRSS, from /proc) of a few processes, sampled on a
 * timer while they run: what the bench reports as each program's peak RSS;
 * and the CPU time each used, from the same samples.
 *
 * @module
 */
import { parseProcStat } from "./proc_stat_line.ts";

/** One process's sample: resident bytes and CPU seconds used so far (user + system). */
export interface ProcessSample {
  /** VmRSS in bytes. */
  rssBytes: number;
  /** CPU time so far, in seconds to the clock tick (1/100 s, as /proc/PID/stat counts it). */
  cpuSeconds: number;
}

/** Bytes of a page, the unit of the RSS there (4 KiB on x86-64 and most arm64 kernels). */
const PAGE_BYTES = 4096;

/**
 * RSS and CPU seconds of several processes with one `cat` of their
 * /proc/PID/stat (one process spawned per sample, whatever the number
 * watched: the samples compete for the same cores as what they measure). A
 * process that is gone is absent. Through a child because Deno lets a process
 * read another's /proc entries only with --allow-all, which the bench never
 * grants; /proc rather than `ps`, whose CPU time is in whole seconds (too
 * coarse to compare two runs' CPU a packet).
 */
export async function sampleProcesses(pids: number[]): Promise<Map<number, ProcessSample>> {
  const samples = new Map<number, ProcessSample>();
  if (pids.length === 0) return samples;
  const out = await new Deno.Command("cat", {
    args: pids.map((pid) => `/proc/${pid}/stat`),
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  if (out === null) return samples;
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const stat = parseProcStat(line);
    if (stat !== null && stat.rssPages > 0) {
      samples.set(stat.pid, { rssBytes: stat.rssPages * PAGE_BYTES, cpuSeconds: stat.cpuSeconds });
    }
  }
  return samples;
}

/** Options for {@linkcode PeakRss}. */
export interface PeakRssOptions {
  /** Milliseconds between samples. @default 100 */
  intervalMs?: number;
  /**
   * Reads a process's RSS; tests pass their own. @default {every watched
   * process with one `ps` per sample, see sampleProcesses}
   */
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
  readonly #cpu = new Map<string, number>();
  readonly #read: ((pid: number) => Promise<number | null>) | null;
  readonly #timer: ReturnType<typeof setInterval>;
  #sampling: Promise<void> = Promise.resolve();

  constructor(options: PeakRssOptions = {}) {
    this.#read = options.read ?? null;
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
    if (this.#read === null) {
      const samples = await sampleProcesses([...this.#pids.values()]);
      for (const [name, pid] of this.#pids) {
        const sample = samples.get(pid);
        if (sample === undefined) continue;
        this.#keep(name, sample.rssBytes);
        this.#cpu.set(name, sample.cpuSeconds);
      }
      return;
    }
    for (const [name, pid] of this.#pids) {
      const rss = await this.#read(pid);
      if (rss !== null) this.#keep(name, rss);
    }
  }

  #keep(name: string, rss: number): void {
    const peak = this.#peaks.get(name) ?? null;
    if (peak === null || rss > peak) this.#peaks.set(name, rss);
  }

  /** Stops the timer and waits for the sample under way (safe to call twice). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sampling;
  }

  /**
   * Each name's CPU seconds at its last sample (to 1/100 s; the last 100 ms
   * before a process ends are not seen); absent when never sampled.
   */
  cpuSeconds(): Record<string, number> {
    return Object.fromEntries(this.#cpu);
  }

  /** Each name's peak in bytes; null when no sample was taken. */
  peaks(): Record<string, number | null> {
    return Object.fromEntries(this.#peaks);
  }
}
