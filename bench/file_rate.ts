/**
 * The rate at which a program works through a capture file, with its
 * start-up cost taken out: the CPU time of a run on a tiny cut of the same
 * file is subtracted from the run on the whole file, so programs that take a
 * second to load (tshark's dissectors, Deno's modules) are compared with
 * in-process measurements on their work alone.
 *
 * @module
 */
import { type CommandTiming, timeCommand } from "./command_timing.ts";

/** A capture and a small cut of it (same link type and format). */
export interface FileRateInput {
  /** The capture. */
  path: string;
  /** Packets in it. */
  packets: number;
  /** The first packets of it, for the start-up run. */
  tinyPath: string;
  /** Packets in the tiny cut. */
  tinyPackets: number;
}

/** Options for {@linkcode measureFileRate}. */
export interface FileRateOptions {
  /** Runs on the whole file; the best one counts (likewise for the tiny file). @default {1} */
  repeats?: number;
  /** CPU to pin the program to; null leaves it unpinned. @default {null} */
  cpu?: number | null;
  /** Extra environment variables. @default {{}} */
  env?: Record<string, string>;
}

/** What {@linkcode measureFileRate} found. */
export interface FileRate {
  /** (packets - tinyPackets) / (cpuSec - startupCpuSec). */
  packetsPerSec: number;
  /** CPU seconds of the best run on the whole file. */
  cpuSec: number;
  /** CPU seconds of the best run on the tiny file. */
  startupCpuSec: number;
  /** Wall seconds of the best run on the whole file. */
  wallSec: number;
}

/** Resolution of the CPU times the shell reports. */
const CPU_TICK_SEC = 0.01;
/** Least work, in CPU ticks, that makes a rate: below it the rounding is the result. */
const MIN_WORK_TICKS = 3;

/** Raised when a run is too short to rate, or did not read the file. */
export class FileRateError extends Error {
  /** @param message what was measured and why it is no rate */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "FileRateError";
  }
}

async function best(
  repeats: number,
  run: () => Promise<CommandTiming>,
): Promise<CommandTiming> {
  let min: CommandTiming | null = null;
  for (let i = 0; i < repeats; i++) {
    const timing = await run();
    if (min === null || timing.cpuSec < min.cpuSec) min = timing;
  }
  return min!;
}

/**
 * Times `argsFor(file)` on the whole capture and on its tiny cut and returns
 * the start-up-corrected rate.
 *
 * @example
 * ```ts
 * const rate = await measureFileRate("tcpdump", (f) => ["-r", f, "-w", "/dev/null"], input, {
 *   repeats: 3,
 *   cpu: 1,
 * });
 * ```
 */
export async function measureFileRate(
  command: string,
  argsFor: (file: string) => string[],
  input: FileRateInput,
  options: FileRateOptions = {},
): Promise<FileRate> {
  const repeats = options.repeats ?? 1;
  if (!(Number.isInteger(repeats) && repeats >= 1)) {
    throw new RangeError(
      `Cannot measure a file rate as 'repeats' must be an integer >= 1: current value is ${repeats}`,
    );
  }
  const timeOn = (file: string) => () =>
    timeCommand(command, argsFor(file), { cpu: options.cpu, env: options.env });
  const startup = await best(repeats, timeOn(input.tinyPath));
  const whole = await best(repeats, timeOn(input.path));
  // Some tools (argus) exit 0 on a file they cannot open; a whole file that costs no
  // more than its first packets was not read.
  if (whole.cpuSec < startup.cpuSec + MIN_WORK_TICKS * CPU_TICK_SEC) {
    throw new FileRateError(
      `the whole file (${input.packets} packets) took ${whole.cpuSec.toFixed(2)} s CPU and ` +
        `its first ${input.tinyPackets} packets ${startup.cpuSec.toFixed(2)} s: ` +
        "too little to rate, or the file was not read",
    );
  }
  const workSec = whole.cpuSec - startup.cpuSec;
  return {
    packetsPerSec: (input.packets - input.tinyPackets) / workSec,
    cpuSec: whole.cpuSec,
    startupCpuSec: startup.cpuSec,
    wallSec: whole.wallSec,
  };
}
