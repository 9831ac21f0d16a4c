/**
 * What app-layer extraction costs the agent's `--read --dry-run` path, in
 * one process: the pipeline (read, decode, extraction, batch, Arrow, zstd)
 * runs over the same capture with APP_METADATA off and on, in turns (off, on,
 * off, on, ...), and the median of the warm rounds' ratios counts.
 *
 * The bench's on/off row times whole `agent` processes, each of which also
 * compiles the code it runs; this times the same work once the process is
 * warm: the steady cost a long capture pays. Both sides share one process,
 * its JIT and its heap, and load that drifts falls on both sides of a round
 * alike. The first round warms the process up and is not rated: its off run
 * compiles what both sides share, so its ratio says nothing of extraction.
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { readCaptureBatches } from "@traffic-analyzer/shared/pcap";
import { medianRun } from "../../bench/median_run.ts";
import { DryRunSink } from "../dry_run_sink.ts";
import { runPipeline } from "../pipeline.ts";

/** Options for {@linkcode measureAppMetadataCost}. */
export interface AppMetadataCostOptions {
  /** The capture to read. */
  path: string;
  /** Rounds of one off and one on run; the first is the cold one. @default {6} */
  rounds?: number;
  /** Packets per batch, as `agent --read` cuts a file. @default {5000} */
  batchSize?: number;
}

/** What {@linkcode measureAppMetadataCost} found. */
export interface AppMetadataCost {
  /** Frames in the capture (each run read them all). */
  packets: number;
  /** CPU seconds of each off run, in order (the first is the cold one). */
  offCpuSec: number[];
  /** CPU seconds of each on run, in order. */
  onCpuSec: number[];
  /**
   * The median of the warm rounds' off/on ratios (of two middle ones, the
   * lower): the share of speed kept (1 = free). A median, not the best run
   * of each side: a run the machine's load spared now and then (an on run as
   * fast as the off runs) would be taken for the rate.
   */
  warmRatio: number;
  /** The lowest and the highest warm round's ratio. */
  warmRange: [number, number];
}

/** The frames' count of `agent --read`'s batches, as main.ts's READ_BATCH_SIZE. */
const READ_BATCH_SIZE = 5_000;

function cpuSeconds(): number {
  const { user, system } = cpuUsage();
  return (user + system) / 1e6;
}

async function timedRun(path: string, appMetadata: boolean, batchSize: number) {
  const sink = new DryRunSink("arrow");
  const started = cpuSeconds();
  const result = await runPipeline({
    frames: readCaptureBatches(path),
    sink,
    batchSize,
    batchTimeoutMs: Infinity,
    agentId: "bench",
    payloadCapture: "full",
    appMetadata,
    defaultInterfaceName: "bench.pcap",
  });
  await sink.drain();
  return { cpuSec: cpuSeconds() - started, frames: result.frames };
}

/**
 * Runs the pipeline over `path` with extraction off and on, in turns, and
 * returns every run's CPU time and the warm ratio. Throws `RangeError` for
 * fewer than 2 rounds (a warm one is needed) or a run that read a different
 * number of frames.
 *
 * @example
 * ```ts
 * const cost = await measureAppMetadataCost({ path: "data/bench/traffic_1500000.pcap" });
 * console.log(cost.warmRatio.toFixed(3));
 * ```
 */
export async function measureAppMetadataCost(
  options: AppMetadataCostOptions,
): Promise<AppMetadataCost> {
  const rounds = options.rounds ?? 6;
  if (!Number.isInteger(rounds) || rounds < 2) {
    throw new RangeError(
      `Cannot measure extraction's cost as 'rounds' must be an integer >= 2: current value is ${rounds}`,
    );
  }
  const batchSize = options.batchSize ?? READ_BATCH_SIZE;
  const offCpuSec: number[] = [];
  const onCpuSec: number[] = [];
  let packets = -1;
  for (let round = 0; round < rounds; round++) {
    for (const appMetadata of [false, true]) {
      const run = await timedRun(options.path, appMetadata, batchSize);
      if (packets >= 0 && run.frames !== packets) {
        throw new RangeError(`${options.path} read ${packets} frames, then ${run.frames}`);
      }
      packets = run.frames;
      (appMetadata ? onCpuSec : offCpuSec).push(run.cpuSec);
    }
  }
  const warm = offCpuSec.slice(1).map((off, i) => off / onCpuSec[i + 1]);
  return {
    packets,
    offCpuSec,
    onCpuSec,
    warmRatio: medianRun(warm, (ratio) => ratio),
    warmRange: [Math.min(...warm), Math.max(...warm)],
  };
}
