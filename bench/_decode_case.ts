/**
 * Case `decode`: the decode rate of the agent's reader and decoder on the
 * bench capture (agent/bench/agent_bench.ts, in-process), and the whole
 * `agent --read FILE --dry-run` path (decode, app-layer extraction, batch,
 * encode) with APP_METADATA off and on, interleaved in back-to-back pairs
 * (extraction must keep 90 % of the speed: the median pair's ratio), and the
 * same comparison in one process, in turns, once warm (the row's note: the
 * steady cost, without compiling or start-up), next to
 * `tcpdump -r FILE -w /dev/null` and `tshark -T fields` on the same file.
 * Everything runs pinned to one CPU and is rated by CPU time with start-up
 * subtracted.
 *
 * @module
 */
import type { BenchContext } from "./bench_context.ts";
import { metricNumber, parseBenchMetrics } from "./bench_metrics.ts";
import type { BenchRow } from "./bench_row.ts";
import { measureFileRate, measurePairedFileRates, type PairedFileRates } from "./file_rate.ts";
import { formatRate } from "./bench_summary.ts";
import { referenceRate } from "./_reference_rate.ts";
import { runBenchScript } from "./run_bench_script.ts";

/**
 * Issue 3 asked a million packets a second decoded on one core, the day
 * `tcpdump -r FILE -w /dev/null` made 13.9 M: 0.072 x tcpdump on the same
 * file in the same run.
 */
export const DECODE_TARGET_TCPDUMP_RATIO = 0.072;

/** With app-layer extraction on, `--read` keeps at least this share of its speed without. */
export const APP_METADATA_KEPT_SHARE = 0.9;

/**
 * Rounds of off and on runs in one process (agent/bench/app_metadata_cost.ts)
 * in a full run, the first of them a warm-up, not rated (a quick run makes two).
 */
export const APP_METADATA_ROUNDS = 7;

/** Off/on pairs of `agent --read` runs in a full run (a quick run makes one). */
export const APP_METADATA_PAIRS = 5;

const TSHARK_FIELDS = ["frame.number", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport"];

/** Runs the decode case. */
export async function runDecodeCase(context: BenchContext): Promise<BenchRow[]> {
  const capture = await context.capture();
  const { quick } = context.args;
  const cpu = context.cpu;
  const input = {
    path: capture.path,
    packets: capture.packets,
    tinyPath: capture.tinyPath,
    tinyPackets: capture.tinyPackets,
  };
  console.log(
    `  ${capture.packets} packets: ${capture.description}; ` +
      (cpu === null ? "not pinned (no taskset)" : `pinned to CPU ${cpu}`),
  );

  const metrics = parseBenchMetrics(
    await runBenchScript(`${context.repoRoot}agent/bench/agent_bench.ts`, {
      args: ["--case", "decode", "--file", capture.path, "--repeats", quick ? "2" : "3"],
      permissions: ["--allow-read"],
      cpu,
      timeoutSec: 300,
    }),
  );
  const decodePps = metricNumber(metrics, "decode_pps");
  const decoded = metricNumber(metrics, "packets");
  if (decoded !== capture.packets) {
    throw new Error(`agent_bench decoded ${decoded} packets, capinfos counts ${capture.packets}`);
  }

  const repeats = quick ? 1 : 3;
  const tcpdump = await referenceRate(
    "tcpdump -r -w /dev/null",
    () => measureFileRate("tcpdump", (f) => ["-r", f, "-w", "/dev/null"], input, { cpu, repeats }),
  );
  const tshark = await referenceRate(
    "tshark -T fields",
    () =>
      measureFileRate(
        "tshark",
        (f) => ["-r", f, "-T", "fields", ...TSHARK_FIELDS.flatMap((e) => ["-e", e])],
        input,
        { cpu, repeats: 1 },
      ),
  );
  const scratch = await Deno.makeTempDir({ dir: context.cacheDir, prefix: "agent-" });
  // Extraction off and on, on the same file with the same flags, the runs interleaved
  // (off, on, off, on, ...): each pair runs back to back, so load that drifts during the
  // case falls on both sides alike; the row's ratio is the median of the pairs' ratios.
  const pairCount = quick ? 1 : APP_METADATA_PAIRS;
  let appPairs: PairedFileRates | null = null;
  let appProblem: string | null = null;
  try {
    appPairs = await measurePairedFileRates(
      Deno.execPath(),
      (f) => [
        "run",
        "--no-prompt",
        "--allow-net",
        "--allow-env",
        "--allow-sys",
        "--allow-read",
        `--allow-write=${scratch}`,
        "--allow-ffi",
        `${context.repoRoot}agent/main.ts`,
        "--read",
        f,
        "--dry-run",
      ],
      input,
      {
        cpu,
        pairs: pairCount,
        baseEnv: { DATA_DIR: scratch, LOG_DIR: scratch, APP_METADATA: "off" },
        variantEnv: { DATA_DIR: scratch, LOG_DIR: scratch, APP_METADATA: "on" },
      },
    );
    for (const [i, pair] of appPairs.pairs.entries()) {
      const off = formatRate(pair.basePacketsPerSec);
      const on = formatRate(pair.variantPacketsPerSec);
      console.log(
        `  agent --read --dry-run, pair ${i + 1}/${pairCount}: ` +
          `off ${off}, on ${on} packets/s (${pair.ratio.toFixed(3)})`,
      );
    }
    const { ratio, minRatio, maxRatio, startupCpuSec } = appPairs;
    console.log(
      `  agent --read --dry-run, on vs off: median ${ratio.toFixed(3)} ` +
        `(${minRatio.toFixed(3)}–${maxRatio.toFixed(3)}); start-up ` +
        `${startupCpuSec.base.toFixed(2)} s off, ${startupCpuSec.variant.toFixed(2)} s on`,
    );
  } catch (error) {
    appProblem = (error as Error).message.split("\n")[0];
    console.log(`  agent --read --dry-run, on vs off: failed: ${appProblem}`);
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }

  // The same comparison in one process, in turns, once warm: the steady cost
  // a long capture pays, without compiling (agent/bench/app_metadata_cost.ts).
  const rounds = quick ? 2 : APP_METADATA_ROUNDS;
  let warm: { ratio: number; min: number; max: number } | null = null;
  try {
    const cost = parseBenchMetrics(
      await runBenchScript(`${context.repoRoot}agent/bench/agent_bench.ts`, {
        args: [
          "--case",
          "app-metadata",
          "--file",
          capture.path,
          "--repeats",
          String(rounds),
        ],
        permissions: ["--allow-read", "--allow-ffi"],
        cpu,
        timeoutSec: 300,
      }),
    );
    warm = {
      ratio: metricNumber(cost, "app_warm_ratio"),
      min: metricNumber(cost, "app_warm_ratio_min"),
      max: metricNumber(cost, "app_warm_ratio_max"),
    };
    console.log(
      `  in one process, on vs off: warm median ${warm.ratio.toFixed(3)} ` +
        `(rounds ${warm.min.toFixed(3)}–${warm.max.toFixed(3)})`,
    );
  } catch (error) {
    console.log(`  in one process, on vs off: failed: ${(error as Error).message.split("\n")[0]}`);
  }

  const warmNote = warm === null
    ? ""
    : `; in one process, in turns, warm: ${warm.ratio.toFixed(2)} ` +
      `(median of ${rounds - 1} round${rounds === 2 ? "" : "s"}, ` +
      `${warm.min.toFixed(2)}–${warm.max.toFixed(2)})`;
  const basis = `${capture.packets} packets; one core; CPU time, start-up subtracted`;
  return [
    {
      caseName: "decode",
      label: "read + decodePacket (1 core)",
      unit: "packets/s",
      ours: decodePps,
      reference: tcpdump.reference,
      target: {
        kind: "ratioAtLeast",
        value: DECODE_TARGET_TCPDUMP_RATIO,
        text: `>= ${DECODE_TARGET_TCPDUMP_RATIO} x tcpdump (issue 3: 1 M when tcpdump made 13.9 M)`,
      },
      status: "measured",
      note: tcpdump.problem ? `${basis}; tcpdump: ${tcpdump.problem}` : basis,
    },
    {
      caseName: "decode",
      label: "read + decodePacket vs tshark",
      unit: "packets/s",
      ours: decodePps,
      reference: tshark.reference,
      target: null,
      status: "measured",
      note: tshark.problem ? `tshark: ${tshark.problem}` : null,
    },
    appPairs === null
      ? {
        caseName: "decode",
        label: "agent --read --dry-run",
        unit: "packets/s",
        ours: null,
        reference: null,
        target: null,
        status: "failed",
        note: appProblem,
      }
      : {
        caseName: "decode",
        label: "agent --read --dry-run",
        unit: "packets/s",
        ours: appPairs.variantPacketsPerSec,
        reference: tcpdump.reference,
        target: null,
        status: "measured",
        note:
          "decode + app-layer extraction + batch + encode, PAYLOAD_CAPTURE=full (the defaults); " +
          `median of ${pairCount} run${pairCount === 1 ? "" : "s"}`,
      },
    appPairs === null
      ? {
        caseName: "decode",
        label: "agent --read, app metadata on vs off",
        unit: "packets/s",
        ours: null,
        reference: null,
        target: null,
        status: "failed",
        note: appProblem,
      }
      : {
        caseName: "decode",
        label: "agent --read, app metadata on vs off",
        unit: "packets/s",
        ours: appPairs.variantPacketsPerSec,
        reference: {
          name: "agent --read --dry-run, APP_METADATA=off",
          value: appPairs.basePacketsPerSec,
        },
        ratio: appPairs.ratio,
        target: { kind: "ratioAtLeast", value: APP_METADATA_KEPT_SHARE },
        status: "measured",
        note: "APP_METADATA=on (DNS/TLS/QUIC/HTTP/SSH/DHCP extraction) vs off, same file; " +
          `ratio: median of ${pairCount} off/on pair${
            pairCount === 1 ? "" : "s"
          } run back to back ` +
          `(pairs ${appPairs.minRatio.toFixed(2)}–${appPairs.maxRatio.toFixed(2)}); ` +
          `rates: medians${warmNote}`,
      },
  ];
}
