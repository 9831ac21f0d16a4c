/**
 * What every bench case gets: the arguments, where things are, the CPU the
 * one-core cases are pinned to, and the shared capture (built once, on
 * first use).
 *
 * @module
 */
import type { BenchArgs } from "./bench_args.ts";
import { type BenchCapture, describeGivenCapture, ensureBenchCapture } from "./bench_capture.ts";

/** Shared state of one `deno task bench` run. */
export interface BenchContext {
  /** The parsed arguments. */
  args: BenchArgs;
  /** Absolute path of the repository, ending in `/`. */
  repoRoot: string;
  /** Folder for the capture, its cut and scratch files (`data/bench/`). */
  cacheDir: string;
  /** CPU the one-core measurements are pinned to, or null when `taskset` is missing. */
  cpu: number | null;
  /** The capture the file cases read, built or described on first call. */
  capture(): Promise<BenchCapture>;
}

/** Packets of the capture: 30 s at the ingest target (50,000/s) for the aggregation pass. */
export const FULL_CAPTURE_PACKETS = 1_500_000;
/** Packets of the capture with `--quick`. */
export const QUICK_CAPTURE_PACKETS = 100_000;

/** Options for {@linkcode createBenchContext}. */
export interface BenchContextOptions {
  /**
   * CPU for one-core measurements; `undefined` picks the last CPU when `taskset` works.
   * @default {undefined}
   */
  cpu?: number | null;
}

function tasksetWorks(cpu: number): boolean {
  try {
    return new Deno.Command("taskset", {
      args: ["-c", String(cpu), "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Builds the context of a run; the capture is not built until a case asks for it. */
export function createBenchContext(
  args: BenchArgs,
  options: BenchContextOptions = {},
): BenchContext {
  const repoRoot = new URL("../", import.meta.url).pathname;
  const cacheDir = `${repoRoot}data/bench`;
  let cpu = options.cpu;
  if (cpu === undefined) {
    // The last CPU: the first one tends to take more of the system's interrupts.
    const last = Math.max(0, navigator.hardwareConcurrency - 1);
    cpu = tasksetWorks(last) ? last : null;
  }
  let capture: Promise<BenchCapture> | null = null;
  const prepare = () =>
    args.file !== null ? describeGivenCapture(args.file, cacheDir) : ensureBenchCapture({
      minPackets: args.quick ? QUICK_CAPTURE_PACKETS : FULL_CAPTURE_PACKETS,
      cacheDir,
    });
  return {
    args,
    repoRoot,
    cacheDir,
    cpu,
    async capture() {
      capture ??= prepare();
      const ready = await capture;
      // Something may clear data/ between cases; make the files again rather than fail.
      if (!(await exists(ready.path)) || !(await exists(ready.tinyPath))) {
        capture = prepare();
      }
      return await capture;
    },
  };
}
