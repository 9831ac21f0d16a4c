/**
 * Another process's CPU time and the machine's load, read the way a bench
 * script may: Deno lets a process read another's /proc entries (and
 * /proc/loadavg) only with `--allow-all`, which the bench never gives, so the
 * /proc files are read by `cat` (the script needs `--allow-run=cat`).
 *
 * @module
 */
import { parseProcStat } from "./proc_stat_line.ts";
import { type CpuTicks, parseCpuTicks } from "./machine_quiet.ts";

/** Options for {@linkcode readProcFile}. */
export interface ReadProcFileOptions {
  /**
   * A network namespace to read the file in (`ip netns exec` mounts the
   * namespace's own /sys, where its interfaces' counters are).
   */
  namespace?: string;
}

/** A /proc (or /sys) file read by `cat`, or null when it cannot be read. */
export async function readProcFile(
  path: string,
  options: ReadProcFileOptions = {},
): Promise<string | null> {
  const inNamespace = options.namespace === undefined
    ? []
    : ["ip", "netns", "exec", options.namespace];
  try {
    const [command, ...args] = [...inNamespace, "cat", path];
    const out = await new Deno.Command(command, {
      args,
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
  return stat === null ? null : parseProcStat(stat)?.cpuSeconds ?? null;
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

/** The machine-wide CPU counters of `/proc/stat`, or null when it cannot be read. */
export async function readCpuTicks(): Promise<CpuTicks | null> {
  const text = await readProcFile("/proc/stat");
  return text === null ? null : parseCpuTicks(text);
}
