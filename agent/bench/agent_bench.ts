/**
 * The agent's part of `deno task bench`, one case per run:
 *
 * - `--case decode --file F [--repeats N]`: the decode rate, reading a
 *   capture file with `readCaptureBatches` and decoding every frame with
 *   `decodePacket` (payload capture "none"), as the agent does before
 *   batching. CPU time is the basis, like the harness's reference runs.
 * - `--case app-metadata --file F [--repeats N]`: `agent --read --dry-run`'s
 *   pipeline with APP_METADATA off and on, in turns in this one process, N
 *   rounds (the first warms up, unrated): extraction's cost measured warm, where this
 *   machine's load falls on both sides alike (agent/bench/app_metadata_cost.ts).
 * - `--case capture [--quick]`: the highest rate live capture on `lo` takes
 *   without losing a packet, next to `tcpdump -i lo -w /dev/null` on the same
 *   tcpreplay traffic (agent/capture/capture_bench.ts). Needs root, libpcap,
 *   tcpdump and tcpreplay.
 *
 * Prints what it measures, then one `BENCH_METRICS {...}` line for the
 * harness (bench/bench_metrics.ts); `{"skipped": reason}` when the
 * machine cannot run the case.
 *
 * ```sh
 * deno run --allow-read agent/bench/agent_bench.ts --case decode --file data/bench/traffic_1500000.pcap
 * deno run --allow-ffi --allow-read --allow-write=/tmp --allow-run=tcpreplay,tcpdump \
 *   agent/bench/agent_bench.ts --case capture
 * ```
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { type DecodeOptions, decodePacket } from "@traffic-analyzer/shared/packet";
import { readCaptureBatches } from "@traffic-analyzer/shared/pcap";
import { runCaptureBench } from "../capture/capture_bench.ts";
import { measureAppMetadataCost } from "./app_metadata_cost.ts";
import { CaptureError, isLibpcapAvailable, LiveCapture } from "../capture/mod.ts";

/** Prefix of the line the harness reads (bench/bench_metrics.ts). */
const BENCH_METRICS_PREFIX = "BENCH_METRICS ";

/** tcpreplay processes offering traffic at once in the capture case. */
const REPLAYERS = 2;

type Metrics = Record<string, number | string | boolean | null>;

/** One timed decode of a whole file. */
export interface DecodeRun {
  /** Frames decoded. */
  packets: number;
  /** Records flagged malformed (a check that the decoder ran on every frame). */
  malformed: number;
  /** CPU seconds (user + system, all threads) of the run. */
  cpuSec: number;
  /** Wall seconds of the run. */
  wallSec: number;
}

function cpuSeconds(): number {
  const { user, system } = cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Reads and decodes every frame of `path` once, as the agent's pipeline
 * does, keeping no records (payload capture "none", so no bytes are copied).
 */
export async function decodeFileOnce(path: string): Promise<DecodeRun> {
  const name = path.split("/").pop() ?? path;
  // One options object for every frame, as decodePacket allows.
  const options: DecodeOptions = {
    linkType: 0,
    timestampSec: 0,
    wireLength: 0,
    interfaceName: name,
    payloadCapture: "none",
  };
  let packets = 0;
  let malformed = 0;
  const cpuStart = cpuSeconds();
  const wallStart = performance.now();
  for await (const batch of readCaptureBatches(path)) {
    for (const frame of batch) {
      options.linkType = frame.linkType;
      options.timestampSec = frame.timestampSec;
      options.wireLength = frame.wireLength;
      const record = decodePacket(frame.data, options);
      if (record.malformed) malformed++;
    }
    packets += batch.length;
  }
  return {
    packets,
    malformed,
    cpuSec: cpuSeconds() - cpuStart,
    wallSec: (performance.now() - wallStart) / 1000,
  };
}

async function decodeCase(path: string, repeats: number): Promise<Metrics> {
  let best: DecodeRun | null = null;
  for (let i = 0; i < repeats; i++) {
    const run = await decodeFileOnce(path);
    console.log(
      `decode run ${i + 1}/${repeats}: ${run.packets} packets in ${run.cpuSec.toFixed(2)} s CPU ` +
        `(${run.wallSec.toFixed(2)} s wall): ${
          Math.round(run.packets / run.cpuSec).toLocaleString("en-US")
        } packets/s; ${run.malformed} malformed`,
    );
    if (best === null || run.cpuSec < best.cpuSec) best = run;
  }
  return {
    packets: best!.packets,
    malformed: best!.malformed,
    decode_cpu_s: best!.cpuSec,
    decode_wall_s: best!.wallSec,
    decode_pps: best!.packets / best!.cpuSec,
  };
}

function captureSkipReason(): string | null {
  if (!isLibpcapAvailable()) return "libpcap is not installed (apt-get install libpcap0.8)";
  try {
    LiveCapture.open({ interfaceName: "lo" }).close();
  } catch (error) {
    if (error instanceof CaptureError && error.code === "PERM_DENIED") {
      return "live capture needs root or CAP_NET_RAW";
    }
    return `cannot capture on lo: ${(error as Error).message}`;
  }
  for (const tool of ["tcpdump", "tcpreplay"]) {
    try {
      new Deno.Command(tool, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync();
    } catch {
      return `${tool} is not installed (apt-get install ${tool})`;
    }
  }
  return null;
}

async function captureCase(quick: boolean): Promise<Metrics> {
  const skipped = captureSkipReason();
  if (skipped !== null) return { skipped };
  const result = await runCaptureBench({
    ratesPps: quick ? [100_000, 0] : [100_000, 200_000, 300_000, 400_000, 600_000, 0],
    seconds: quick ? 1 : 2,
    drainPackets: quick ? 200_000 : 1_000_000,
    // One tcpreplay tops out near 400k packets/s here, below both capturers' ceilings.
    replayers: REPLAYERS,
    onResult: (run) =>
      console.log(
        `${run.capturer.padEnd(12)} asked ${String(run.requestedPps || "top").padStart(7)} pps, ` +
          `sent ${run.sentPps} pps (${run.sent} packets): captured ${run.captured}, ` +
          `dropped ${run.kernelDropped}${run.lossless ? "" : "  LOSS"}`,
      ),
  });
  const topSentPps = Math.max(0, ...result.runs.map((run) => run.sentPps));
  // Lossless at tcpreplay's top speed means the capturer's ceiling was not reached.
  const losslessAtTop = (capturer: string) =>
    result.runs.some((run) => run.capturer === capturer && run.requestedPps === 0 && run.lossless);
  return {
    live_capture_pps: result.liveCaptureMaxLosslessPps,
    tcpdump_pps: result.tcpdumpMaxLosslessPps,
    drain_pps: result.liveCaptureDrainPps,
    top_sent_pps: topSentPps,
    frame_bytes: result.frameBytes,
    replayers: REPLAYERS,
    live_capture_lossless_at_top: losslessAtTop("live_capture"),
    tcpdump_lossless_at_top: losslessAtTop("tcpdump"),
  };
}

/** Runs the case named by `args` and returns its metrics. */
export async function runAgentBench(args: readonly string[]): Promise<Metrics> {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      case: { type: "string" },
      file: { type: "string" },
      repeats: { type: "string", default: "3" },
      quick: { type: "boolean", default: false },
    },
  });
  const repeats = Number(values.repeats);
  if (!(Number.isInteger(repeats) && repeats >= 1)) {
    throw new RangeError(`'--repeats' must be an integer >= 1: current value is ${values.repeats}`);
  }
  switch (values.case) {
    case "decode":
      if (values.file === undefined) throw new RangeError("'--case decode' needs '--file'");
      return await decodeCase(values.file, repeats);
    case "app-metadata": {
      if (values.file === undefined) throw new RangeError("'--case app-metadata' needs '--file'");
      const cost = await measureAppMetadataCost({ path: values.file, rounds: repeats });
      const runs = (sec: number[]) => sec.map((s) => s.toFixed(2)).join(" ");
      console.log(`off: ${runs(cost.offCpuSec)} s; on: ${runs(cost.onCpuSec)} s (CPU, in turns)`);
      return {
        packets: cost.packets,
        app_warm_ratio: cost.warmRatio,
        app_warm_ratio_min: cost.warmRange[0],
        app_warm_ratio_max: cost.warmRange[1],
      };
    }
    case "capture":
      return await captureCase(values.quick);
    default:
      throw new RangeError(
        `'--case' must be decode, app-metadata or capture: current value is ${values.case}`,
      );
  }
}

if (import.meta.main) {
  const metrics = await runAgentBench(Deno.args);
  console.log(BENCH_METRICS_PREFIX + JSON.stringify(metrics));
}
