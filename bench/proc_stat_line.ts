/**
 * One line of a Linux `/proc/<pid>/stat` read into the figures the bench
 * reports (CPU time and resident pages); apart from `proc_stat.ts`, which
 * spawns `cat` to read the file, so that this stays a plain unit test.
 *
 * @module
 */

/** What {@link parseProcStat} reads from a `/proc/<pid>/stat` line. */
export interface ProcStat {
  pid: number;
  /** User + system CPU time, to the clock tick (1/100 s). */
  cpuSeconds: number;
  /** Resident set size in pages. */
  rssPages: number;
}

/** Clock ticks a second in /proc/PID/stat (USER_HZ: 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/** One line of a Linux `/proc/<pid>/stat`, or null when it is not one. */
export function parseProcStat(line: string): ProcStat | null {
  // pid (comm) state ppid ...: the command name may hold spaces and parentheses.
  const close = line.lastIndexOf(")");
  if (close < 0) return null;
  const pid = Number(line.slice(0, line.indexOf(" ")));
  const fields = line.slice(close + 2).split(" ");
  // Fields 14 and 15 (utime, stime, in clock ticks) and 24 (rss), counted from pid as 1.
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssPages = Number(fields[21]);
  if (!Number.isInteger(pid) || !Number.isFinite(ticks) || !Number.isFinite(rssPages)) return null;
  return { pid, cpuSeconds: ticks / TICKS_PER_SECOND, rssPages };
}
