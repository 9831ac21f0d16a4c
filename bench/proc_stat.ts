/**
 * Another process's CPU time and the machine's load, read the way a bench
 * script may: Deno lets a process read another's /proc entries (and
 * /proc/loadavg) only with `--allow-all`, which the bench never gives, so the
 * /proc files are read by `cat` (the script needs `--allow-run=cat`).
 *
 * @module
 */

/** A /proc file read by `cat`, or null when it cannot be read. */
export async function readProcFile(path: string): Promise<string | null> {
  try {
    const out = await new Deno.Command("cat", {
      args: [path],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds of a running process (Linux `/proc/<pid>/stat`), or null. */
export async function processCpuSeconds(pid: number): Promise<number | null> {
  const stat = await readProcFile(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime, fields 14 and 15 of the line, in clock ticks (100 a second on Linux).
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / 100 : null;
}

/** The 1, 5 and 15 minute load averages as `ps` and `uptime` print them, or "?". */
export function loadAverageText(): string {
  try {
    // Deno.loadavg() needs only --allow-sys, where reading /proc/loadavg needs --allow-all.
    return Deno.loadavg().map((load) => load.toFixed(2)).join(" ");
  } catch {
    return "?";
  }
}
