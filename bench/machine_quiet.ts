/**
 * Waiting for the machine to go quiet before a case. The cases rate our
 * code by its CPU time, but CPU time is not immune to the rest of the
 * machine: what else the guest runs (an earlier case's PostgreSQL work, a
 * system left started) competes with a pinned process for the caches and
 * the memory it shares with it. This rules that out, and prints it. It cannot see the host: on 5
 * December 2026 the flows case's merge took 1.9–2.2 s of CPU alone at
 * 10:50–11:35 UTC and 2.7–3.6 s at 11:55, the machine 99 % idle each time.
 *
 * @module
 */
/** The machine-wide CPU counters of `/proc/stat`'s first line, in clock ticks. */
export interface CpuTicks {
  /** Ticks idle or waiting for I/O. */
  idle: number;
  /** All ticks. */
  total: number;
}

/** The `cpu` line of a `/proc/stat` text, or null when it has none. */
export function parseCpuTicks(procStat: string): CpuTicks | null {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) return null;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is counted in user already).
  if (ticks.length < 4 || ticks.some((t) => !Number.isFinite(t))) return null;
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = ticks;
  return {
    idle: idle + iowait,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
  };
}

/** Share of the time between two readings that the CPUs were idle (0..1), or null. */
export function idleShare(before: CpuTicks, after: CpuTicks): number | null {
  const total = after.total - before.total;
  if (!(total > 0)) return null;
  return Math.min(1, Math.max(0, (after.idle - before.idle) / total));
}

/** Options for {@linkcode waitForQuietMachine}. */
export interface WaitForQuietOptions {
  /** Idle share to wait for, over one interval. @default 0.9 */
  minIdle?: number;
  /** Longest wait, in seconds; then the case runs anyway. @default 120 */
  maxWaitSec?: number;
  /** Length of one measuring interval, in ms. @default 2000 */
  intervalMs?: number;
  /**
   * Reads the machine's counters: `readCpuTicks` of proc_stat.ts, which
   * spawns `cat` (kept there, so that this module spawns nothing), or a
   * test's own.
   */
  readTicks: () => Promise<CpuTicks | null>;
  /** Waits; tests pass their own. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/** What {@linkcode waitForQuietMachine} saw. */
export interface QuietResult {
  /** The machine reached the idle share asked for. */
  quiet: boolean;
  /** Idle share of the last interval; null when the counters could not be read. */
  idle: number | null;
  /** Seconds waited (intervals measured). */
  waitedSec: number;
}

/**
 * Waits until the CPUs were idle at least `minIdle` of one interval, or
 * `maxWaitSec` passed. Without readable counters it returns at once
 * (`idle` null): a bench that cannot tell is not held up.
 */
export async function waitForQuietMachine(
  options: WaitForQuietOptions,
): Promise<QuietResult> {
  const minIdle = options.minIdle ?? 0.9;
  const maxWaitSec = options.maxWaitSec ?? 120;
  const intervalMs = options.intervalMs ?? 2000;
  const readTicks = options.readTicks;
  const sleep = options.sleep ??
    ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let before = await readTicks();
  let waitedMs = 0;
  let idle: number | null = null;
  while (before !== null) {
    await sleep(intervalMs);
    waitedMs += intervalMs;
    const after = await readTicks();
    if (after === null) break;
    idle = idleShare(before, after);
    if (idle !== null && idle >= minIdle) return { quiet: true, idle, waitedSec: waitedMs / 1000 };
    if (waitedMs >= maxWaitSec * 1000) break;
    before = after;
  }
  return { quiet: false, idle, waitedSec: waitedMs / 1000 };
}

/** One line on how quiet the machine was before a case. */
export function quietText(result: QuietResult): string {
  if (result.idle === null) return "machine load unknown (/proc/stat unreadable); case run at once";
  const idle = `${Math.round(result.idle * 100)} % idle`;
  return result.quiet
    ? `machine quiet before the case: ${idle} (checked over ${result.waitedSec} s)`
    : `machine still busy after ${result.waitedSec} s (${idle}): this case's rates may read low`;
}
