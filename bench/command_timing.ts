/**
 * Times a program run on a capture file, for the rates the bench compares:
 * wall time, and the CPU time (user + system) the program and its children
 * used, read from the shell's `times` builtin after the program exits.
 *
 * CPU time is the basis of the file rates: argus, for one, only notices the
 * end of its input on a one-second timer, so its wall time says more about
 * that timer than about its work; and CPU time does not count the time other
 * jobs on a shared machine take from the run.
 *
 * @module
 */

/** How long a run took. */
export interface CommandTiming {
  /** Wall-clock seconds from spawn to exit. */
  wallSec: number;
  /** User + system CPU seconds of the program and its children (10 ms resolution). */
  cpuSec: number;
}

/** Options for {@linkcode timeCommand}. */
export interface TimeCommandOptions {
  /**
   * CPU to pin the program to with `taskset`; null leaves it unpinned.
   * @default {null}
   */
  cpu?: number | null;
  /** Extra environment variables. @default {{}} */
  env?: Record<string, string>;
}

/** Raised when a timed program fails; carries its exit code and the end of its stderr. */
export class CommandFailedError extends Error {
  /** Exit code of the program. */
  readonly code: number;
  /** @param message what failed, with the end of its stderr */
  constructor(message: string, options: { code: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "CommandFailedError";
    this.code = options.code;
  }
}

/** Exit code of the shell (and of taskset) when the program does not exist. */
export const COMMAND_NOT_FOUND = 127;

// The program's stdout goes to /dev/null (the tools under test write their
// output there); its stderr reaches us for error messages; `times` prints the
// shell's own and its children's user and system times on stdout.
const TIMING_SCRIPT = '"$@" >/dev/null; status=$?; times; exit $status';
const TIMES_ENTRY = /(\d+)m([\d.]+)s/g;
const STDERR_TAIL_CHARS = 2000;

/** Reads the children's user + system seconds from the output of `times`. */
export function parseTimesOutput(text: string): number {
  const lines = text.trim().split("\n");
  const children = lines.at(-1) ?? "";
  const entries = [...children.matchAll(TIMES_ENTRY)];
  if (lines.length < 2 || entries.length !== 2) {
    throw new RangeError(`Cannot read CPU times from the shell's 'times': ${JSON.stringify(text)}`);
  }
  return entries.reduce(
    (sum, [, minutes, seconds]) => sum + Number(minutes) * 60 + Number(seconds),
    0,
  );
}

/**
 * Runs `command args...` (pinned to one CPU when asked) with its stdout
 * discarded, and returns its wall and CPU time.
 *
 * @throws {CommandFailedError} when it exits with a non-zero code.
 *
 * @example
 * ```ts
 * const { cpuSec } = await timeCommand("tcpdump", ["-r", "x.pcap", "-w", "/dev/null"], { cpu: 1 });
 * ```
 */
export async function timeCommand(
  command: string,
  args: readonly string[],
  options: TimeCommandOptions = {},
): Promise<CommandTiming> {
  const cpu = options.cpu ?? null;
  if (cpu !== null && !(Number.isInteger(cpu) && cpu >= 0)) {
    throw new RangeError(
      `Cannot time a command as 'cpu' must be an integer >= 0 or null: current value is ${cpu}`,
    );
  }
  const argv = cpu === null ? [command, ...args] : ["taskset", "-c", String(cpu), command, ...args];
  const started = performance.now();
  const output = await new Deno.Command("sh", {
    args: ["-c", TIMING_SCRIPT, "sh", ...argv],
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wallSec = (performance.now() - started) / 1000;
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim().slice(-STDERR_TAIL_CHARS);
    throw new CommandFailedError(
      `${argv.join(" ")} exited with code ${output.code}${stderr ? `: ${stderr}` : ""}`,
      { code: output.code },
    );
  }
  return { wallSec, cpuSec: parseTimesOutput(new TextDecoder().decode(output.stdout)) };
}
