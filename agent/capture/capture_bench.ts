/**
 * Measures the highest packet rate {@linkcode LiveCapture} takes on `lo`
 * without losing a packet, next to `tcpdump -i lo -w /dev/null` on the same
 * traffic. tcpreplay replays a generated file to `lo` at fixed rates, each
 * run bounded in packets. The frames carry a destination MAC that is not
 * lo's, so the kernel drops them right after the capture taps: they load
 * only the capture path and never reach a socket or trigger ICMP.
 *
 * Run: `deno run --allow-ffi --allow-run --allow-read --allow-write agent/capture/capture_bench.ts --rates 100000,200000,400000,0`
 * (rate 0 means tcpreplay's top speed). Needs root, libpcap, tcpdump and tcpreplay.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { LiveCapture } from "./live_capture.ts";

/** Options of {@linkcode runCaptureBench}. */
export interface CaptureBenchOptions {
  /**
   * Packet rates to try, in packets per second; 0 is tcpreplay's top speed.
   * @default {[50000, 100000, 200000, 300000, 400000, 600000, 800000, 0]}
   */
  ratesPps?: number[];
  /**
   * Seconds of traffic per run (the packet count is rate × seconds, at most `maxPackets`).
   * @default {2}
   */
  seconds?: number;
  /**
   * Upper bound of packets per run.
   * @default {2000000}
   */
  maxPackets?: number;
  /**
   * UDP payload per frame; the frame is 42 bytes more.
   * @default {64}
   */
  payloadBytes?: number;
  /**
   * Kernel buffer for both captures, in bytes.
   * @default {8388608}
   */
  bufferSizeBytes?: number;
  /**
   * Also run tcpdump on each rate for comparison.
   * @default {true}
   */
  withTcpdump?: boolean;
  /**
   * Packets queued for the drain measurement (the ring holds twice as many on lo).
   * @default {1000000}
   */
  drainPackets?: number;
  /**
   * tcpreplay processes sending at once (one tops out near 300-400k pps here).
   * @default {1}
   */
  replayers?: number;
  /** Called with each run's result as it finishes. */
  onResult?: (result: CaptureBenchRun) => void;
}

/** One run at one rate with one capturer. */
export interface CaptureBenchRun {
  /** `live_capture` or `tcpdump`. */
  capturer: "live_capture" | "tcpdump";
  /** Rate asked of tcpreplay (0 = top speed). */
  requestedPps: number;
  /** Rate tcpreplay reports it achieved. */
  sentPps: number;
  /** Packets tcpreplay sent. */
  sent: number;
  /** Packets the capturer delivered. */
  captured: number;
  /** Packets the kernel dropped for the capturer (ring full). */
  kernelDropped: number;
  /** True when every sent packet was captured and none was dropped. */
  lossless: boolean;
}

/** Results of {@linkcode runCaptureBench}. */
export interface CaptureBenchResult {
  /** Every run. */
  runs: CaptureBenchRun[];
  /** Highest achieved rate at which live_capture lost nothing (0 if none). */
  liveCaptureMaxLosslessPps: number;
  /** Highest achieved rate at which tcpdump lost nothing (0 if none, or not run). */
  tcpdumpMaxLosslessPps: number;
  /** Frames per second `readBurst()` drains from a full ring: the user-space ceiling. */
  liveCaptureDrainPps: number;
  /** Frame size used, in bytes. */
  frameBytes: number;
}

const BENCH_PORT = 47999;
const DISTINCT_FRAMES = 1000;
const DRAIN_RING_BYTES = 1024 * 1024 * 1024;

function checksum16(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Writes a pcap of UDP frames to 127.0.0.1:BENCH_PORT, addressed to a MAC that is not lo's. */
async function writeBenchPcap(path: string, payloadBytes: number): Promise<number> {
  const frameBytes = 14 + 20 + 8 + payloadBytes;
  const file = new Uint8Array(24 + DISTINCT_FRAMES * (16 + frameBytes));
  const view = new DataView(file.buffer);
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 262144, true);
  view.setUint32(20, 1, true);
  let offset = 24;
  for (let i = 0; i < DISTINCT_FRAMES; i++) {
    view.setUint32(offset, 1_700_000_000, true);
    view.setUint32(offset + 4, i, true);
    view.setUint32(offset + 8, frameBytes, true);
    view.setUint32(offset + 12, frameBytes, true);
    const frame = file.subarray(offset + 16, offset + 16 + frameBytes);
    const f = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    // Locally administered unicast MACs: lo's own address is all zeros.
    frame.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02]);
    f.setUint16(12, 0x0800);
    f.setUint8(14, 0x45);
    f.setUint16(16, 20 + 8 + payloadBytes);
    f.setUint16(18, i);
    f.setUint8(22, 64);
    f.setUint8(23, 17);
    frame.set([127, 0, 0, 1, 127, 0, 0, 1], 26);
    f.setUint16(24, checksum16(frame.subarray(14, 34)));
    f.setUint16(34, 40000 + i);
    f.setUint16(36, BENCH_PORT);
    f.setUint16(38, 8 + payloadBytes);
    offset += 16 + frameBytes;
  }
  await Deno.writeFile(path, file);
  return frameBytes;
}

/** Runs `replayers` tcpreplay processes at once, each with its share; rates add up. */
async function replay(
  path: string,
  ratePps: number,
  packets: number,
  replayers = 1,
): Promise<{ sent: number; sentPps: number }> {
  const runs = await Promise.all(
    Array.from(
      { length: replayers },
      () => replayOnce(path, Math.round(ratePps / replayers), Math.round(packets / replayers)),
    ),
  );
  return {
    sent: runs.reduce((sum, r) => sum + r.sent, 0),
    sentPps: runs.reduce((sum, r) => sum + r.sentPps, 0),
  };
}

async function replayOnce(
  path: string,
  ratePps: number,
  packets: number,
): Promise<{ sent: number; sentPps: number }> {
  const rate = ratePps === 0 ? ["--topspeed"] : [`--pps=${ratePps}`];
  const output = await new Deno.Command("tcpreplay", {
    args: ["-i", "lo", "-K", "--loop=0", `--limit=${packets}`, ...rate, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) +
    new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`tcpreplay failed: ${text}`);
  const sent = Number(/Actual: (\d+) packets/.exec(text)?.[1] ?? NaN);
  const sentPps = Number(/Rated: .*?([\d.]+) pps/.exec(text)?.[1] ?? NaN);
  if (!Number.isFinite(sent)) throw new Error(`cannot read tcpreplay output: ${text}`);
  return { sent, sentPps: Math.round(sentPps) };
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

async function benchLiveCapture(
  path: string,
  ratePps: number,
  packets: number,
  bufferSizeBytes: number,
  replayers: number,
): Promise<CaptureBenchRun> {
  const capture = LiveCapture.open({
    interfaceName: "lo",
    filter: `udp dst port ${BENCH_PORT}`,
    bufferSizeBytes,
  });
  let captured = 0;
  let bytes = 0;
  const consumer = (async () => {
    for await (const burst of capture.bursts()) {
      captured += burst.length;
      // Touch each frame, as a consumer would.
      for (const frame of burst) bytes += frame.data[frame.caplen - 1];
    }
  })();
  try {
    const { sent, sentPps } = await replay(path, ratePps, packets, replayers);
    let previous = -1;
    while (captured !== previous) {
      previous = captured;
      await sleep(300);
    }
    const stats = capture.stats();
    return {
      capturer: "live_capture",
      requestedPps: ratePps,
      sentPps,
      sent,
      captured,
      kernelDropped: stats.kernelDropped,
      lossless: captured === sent && stats.kernelDropped === 0,
    };
  } finally {
    capture.close();
    await consumer;
    void bytes;
  }
}

async function benchTcpdump(
  path: string,
  ratePps: number,
  packets: number,
  bufferSizeBytes: number,
  replayers: number,
): Promise<CaptureBenchRun> {
  const child = new Deno.Command("tcpdump", {
    args: [
      "-i",
      "lo",
      "-n",
      "-B",
      String(Math.ceil(bufferSizeBytes / 1024)),
      "-w",
      "/dev/null",
      `udp dst port ${BENCH_PORT}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.getReader();
  const decoder = new TextDecoder();
  let stderr = "";
  while (!stderr.includes("listening on")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tcpdump exited: ${stderr}`);
    stderr += decoder.decode(value, { stream: true });
  }
  const { sent, sentPps } = await replay(path, ratePps, packets, replayers);
  // tcpdump's blocks are handed over after its 1 s timeout at the latest.
  await sleep(1500);
  child.kill("SIGINT");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += decoder.decode(value, { stream: true });
  }
  await child.status;
  const captured = Number(/(\d+) packets? captured/.exec(stderr)?.[1] ?? NaN);
  const kernelDropped = Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? NaN);
  return {
    capturer: "tcpdump",
    requestedPps: ratePps,
    sentPps,
    sent,
    captured,
    kernelDropped,
    lossless: captured === sent && kernelDropped === 0,
  };
}

/**
 * The user-space ceiling of `LiveCapture`: fills a large ring while nobody
 * reads it, then times `readBurst()` draining it. On `lo` the ring also
 * holds the outgoing copy of every packet, which libpcap skips in C.
 */
async function measureDrainRate(
  path: string,
  packets: number,
  burstSize: number,
): Promise<number> {
  const capture = LiveCapture.open({
    interfaceName: "lo",
    filter: `udp dst port ${BENCH_PORT}`,
    bufferSizeBytes: DRAIN_RING_BYTES,
    burstSize,
  });
  try {
    const { sent } = await replay(path, 0, packets);
    await sleep(500);
    let drained = 0;
    let touched = 0;
    const started = performance.now();
    for (;;) {
      const burst = capture.readBurst();
      if (burst.length === 0) break;
      drained += burst.length;
      for (const frame of burst) touched += frame.data[frame.caplen - 1];
    }
    const elapsedMs = performance.now() - started;
    void touched;
    const { kernelDropped } = capture.stats();
    if (drained !== sent || kernelDropped !== 0) {
      throw new Error(
        `drain run lost packets: sent ${sent}, drained ${drained}, dropped ${kernelDropped}`,
      );
    }
    return Math.round(drained / elapsedMs * 1000);
  } finally {
    capture.close();
  }
}

/**
 * Replays traffic to `lo` at each rate and records what `LiveCapture` (and
 * tcpdump) captured and dropped. Needs root, tcpreplay and tcpdump.
 */
export async function runCaptureBench(
  options: CaptureBenchOptions = {},
): Promise<CaptureBenchResult> {
  const {
    ratesPps = [50000, 100000, 200000, 300000, 400000, 600000, 800000, 0],
    seconds = 2,
    maxPackets = 2_000_000,
    payloadBytes = 64,
    bufferSizeBytes = 8 * 1024 * 1024,
    withTcpdump = true,
    drainPackets = 1_000_000,
    replayers = 1,
    onResult,
  } = options;
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  const runs: CaptureBenchRun[] = [];
  try {
    const frameBytes = await writeBenchPcap(path, payloadBytes);
    for (const ratePps of ratesPps) {
      const packets = Math.min(
        maxPackets,
        Math.max(1000, Math.round((ratePps || 1_000_000) * seconds)),
      );
      const ours = await benchLiveCapture(path, ratePps, packets, bufferSizeBytes, replayers);
      runs.push(ours);
      onResult?.(ours);
      if (withTcpdump) {
        const theirs = await benchTcpdump(path, ratePps, packets, bufferSizeBytes, replayers);
        runs.push(theirs);
        onResult?.(theirs);
      }
    }
    // The ring holds both copies of each lo packet plus a ~100-byte header each.
    const ringCapacity = Math.floor(DRAIN_RING_BYTES / (2 * (frameBytes + 128)));
    const liveCaptureDrainPps = await measureDrainRate(
      path,
      Math.min(drainPackets, Math.floor(ringCapacity * 0.8)),
      1024,
    );
    const best = (capturer: CaptureBenchRun["capturer"]) =>
      Math.max(
        0,
        ...runs.filter((r) => r.capturer === capturer && r.lossless).map((r) => r.sentPps),
      );
    return {
      runs,
      liveCaptureMaxLosslessPps: best("live_capture"),
      tcpdumpMaxLosslessPps: best("tcpdump"),
      liveCaptureDrainPps,
      frameBytes,
    };
  } finally {
    await Deno.remove(path);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rates: { type: "string" },
      seconds: { type: "string" },
      "payload-bytes": { type: "string" },
      "buffer-bytes": { type: "string" },
      "no-tcpdump": { type: "boolean" },
      replayers: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const result = await runCaptureBench({
    ratesPps: values.rates?.split(",").map(Number),
    seconds: values.seconds ? Number(values.seconds) : undefined,
    payloadBytes: values["payload-bytes"] ? Number(values["payload-bytes"]) : undefined,
    bufferSizeBytes: values["buffer-bytes"] ? Number(values["buffer-bytes"]) : undefined,
    withTcpdump: !values["no-tcpdump"],
    replayers: values.replayers ? Number(values.replayers) : undefined,
    onResult: values.json ? undefined : (run) =>
      console.log(
        `${run.capturer.padEnd(12)} asked ${String(run.requestedPps || "top").padStart(7)} pps ` +
          `sent ${
            String(run.sentPps).padStart(8)
          } pps (${run.sent} pkts): captured ${run.captured}, ` +
          `dropped ${run.kernelDropped}${run.lossless ? "" : "  LOSS"}`,
      ),
  });
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(
      `frames of ${result.frameBytes} B: live_capture lossless up to ${result.liveCaptureMaxLosslessPps} pps, ` +
        `tcpdump -w /dev/null up to ${result.tcpdumpMaxLosslessPps} pps; ` +
        `live_capture drains a full ring at ${result.liveCaptureDrainPps} pps`,
    );
  }
}
