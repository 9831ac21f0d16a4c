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

/** Options for {@linkcode measurePairedFileRates}. */
export interface PairedFileRateOptions {
  /** Pairs of whole-file runs (base, then variant, back to back). @default {3} */
  pairs?: number;
  /** Start-up runs on the tiny file per side, interleaved likewise; the best counts. @default {pairs} */
  startupRepeats?: number;
  /** CPU to pin the program to; null leaves it unpinned. @default {null} */
  cpu?: number | null;
  /** Environment of the base runs (the denominator). */
  baseEnv: Record<string, string>;
  /** Environment of the variant runs (the numerator). */
  variantEnv: Record<string, string>;
}

/** One pair of whole-file runs, base then variant, start-up subtracted. */
export interface RatePair {
  /** The base run's rate. */
  basePacketsPerSec: number;
  /** The variant run's rate, measured right after the base run. */
  variantPacketsPerSec: number;
  /** variant / base. */
  ratio: number;
}

/** What {@linkcode measurePairedFileRates} found. */
export interface PairedFileRates {
  /** Each pair in the order it ran. */
  pairs: RatePair[];
  /** Median of the pairs' ratios. */
  ratio: number;
  /** Least pair ratio. */
  minRatio: number;
  /** Greatest pair ratio. */
  maxRatio: number;
  /** Median rate of the base runs. */
  basePacketsPerSec: number;
  /** Median rate of the variant runs. */
  variantPacketsPerSec: number;
  /** Best start-up CPU seconds of each side. */
  startupCpuSec: { base: number; variant: number };
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("Cannot take the median of no values");
  const sorted = values.toSorted((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The median, least and greatest of the pairs' ratios, and each side's median rate. */
export function summarizePairs(
  pairs: readonly RatePair[],
): Omit<PairedFileRates, "pairs" | "startupCpuSec"> {
  const ratios = pairs.map((pair) => pair.ratio);
  return {
    ratio: median(ratios),
    minRatio: Math.min(...ratios),
    maxRatio: Math.max(...ratios),
    basePacketsPerSec: median(pairs.map((pair) => pair.basePacketsPerSec)),
    variantPacketsPerSec: median(pairs.map((pair) => pair.variantPacketsPerSec)),
  };
}

/**
 * Rates the same command on the same file with two environments, the runs
 * interleaved (base, variant, base, variant, ...) so that a change of load
 * during the measurement falls on both sides alike: each pair's ratio comes
 * from two runs back to back, and the result is the median of those ratios.
 * The start-up runs on the tiny file are interleaved the same way, and each
 * side's best is subtracted from its whole-file runs.
 *
 * @example
 * ```ts
 * const rates = await measurePairedFileRates("agent", (f) => ["--read", f], input, {
 *   pairs: 3,
 *   baseEnv: { APP_METADATA: "off" },
 *   variantEnv: { APP_METADATA: "on" },
 * });
 * console.log(rates.ratio, rates.minRatio, rates.maxRatio);
 * ```
 */
export async function measurePairedFileRates(
  command: string,
  argsFor: (file: string) => string[],
  input: FileRateInput,
  options: PairedFileRateOptions,
): Promise<PairedFileRates> {
  const pairCount = options.pairs ?? 3;
  const startupRepeats = options.startupRepeats ?? pairCount;
  for (const [name, value] of [["pairs", pairCount], ["startupRepeats", startupRepeats]] as const) {
    if (!(Number.isInteger(value) && value >= 1)) {
      throw new RangeError(
        `Cannot measure paired file rates as '${name}' must be an integer >= 1: current value is ${value}`,
      );
    }
  }
  const time = (file: string, env: Record<string, string>) =>
    timeCommand(command, argsFor(file), { cpu: options.cpu, env });
  let startupBase = Infinity;
  let startupVariant = Infinity;
  for (let i = 0; i < startupRepeats; i++) {
    startupBase = Math.min(startupBase, (await time(input.tinyPath, options.baseEnv)).cpuSec);
    startupVariant = Math.min(
      startupVariant,
      (await time(input.tinyPath, options.variantEnv)).cpuSec,
    );
  }
  const rateOf = (whole: CommandTiming, startup: number, side: string) => {
    if (whole.cpuSec < startup + MIN_WORK_TICKS * CPU_TICK_SEC) {
      throw new FileRateError(
        `the whole file (${input.packets} packets, ${side}) took ${
          whole.cpuSec.toFixed(2)
        } s CPU ` +
          `and its first ${input.tinyPackets} packets ${startup.toFixed(2)} s: ` +
          "too little to rate, or the file was not read",
      );
    }
    return (input.packets - input.tinyPackets) / (whole.cpuSec - startup);
  };
  const pairs: RatePair[] = [];
  for (let i = 0; i < pairCount; i++) {
    const base = rateOf(await time(input.path, options.baseEnv), startupBase, "base");
    const variant = rateOf(await time(input.path, options.variantEnv), startupVariant, "variant");
    pairs.push({ basePacketsPerSec: base, variantPacketsPerSec: variant, ratio: variant / base });
  }
  return {
    pairs,
    ...summarizePairs(pairs),
    startupCpuSec: { base: startupBase, variant: startupVariant },
  };
}
