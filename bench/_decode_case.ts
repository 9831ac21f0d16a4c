/**
 * Case `decode`: the decode rate of the agent's reader and decoder on the
 * bench capture (agent/bench/agent_bench.ts, in-process), and the whole
 * `agent --read FILE --dry-run` path (decode, app-layer extraction, batch,
 * encode) with APP_METADATA on and off (extraction must keep 90 % of the
 * speed), next to
 * `tcpdump -r FILE -w /dev/null` and `tshark -T fields` on the same file.
 * Everything runs pinned to one CPU and is rated by CPU time with start-up
 * subtracted.
 *
 * @module
 */
import type { BenchContext } from "./bench_context.ts";
import { metricNumber, parseBenchMetrics } from "./bench_metrics.ts";
import type { BenchRow } from "./bench_row.ts";
import { measureFileRate } from "./file_rate.ts";
import { referenceRate } from "./_reference_rate.ts";
import { runBenchScript } from "./run_bench_script.ts";

/** The decode target: a million packets a second on one core. */
export const DECODE_TARGET_PACKETS_PER_SEC = 1_000_000;

/** With app-layer extraction on, `--read` keeps at least this share of its speed without. */
export const APP_METADATA_KEPT_SHARE = 0.9;

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
  const agentRead = (appMetadata: "on" | "off") =>
    referenceRate(
      `agent --read --dry-run, APP_METADATA=${appMetadata}`,
      () =>
        measureFileRate(
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
            repeats: quick ? 1 : 2,
            env: { DATA_DIR: scratch, LOG_DIR: scratch, APP_METADATA: appMetadata },
          },
        ),
    );
  let dryRun;
  let withoutApp;
  try {
    dryRun = await agentRead("on");
    // Extraction off, on the same file in the same run: what extraction costs.
    withoutApp = await agentRead("off");
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }

  const basis = `${capture.packets} packets; one core; CPU time, start-up subtracted`;
  return [
    {
      caseName: "decode",
      label: "read + decodePacket (1 core)",
      unit: "packets/s",
      ours: decodePps,
      reference: tcpdump.reference,
      target: { kind: "atLeast", value: DECODE_TARGET_PACKETS_PER_SEC },
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
    dryRun.reference === null
      ? {
        caseName: "decode",
        label: "agent --read --dry-run",
        unit: "packets/s",
        ours: null,
        reference: null,
        target: null,
        status: "failed",
        note: dryRun.problem,
      }
      : {
        caseName: "decode",
        label: "agent --read --dry-run",
        unit: "packets/s",
        ours: dryRun.reference.value,
        reference: tcpdump.reference,
        target: null,
        status: "measured",
        note: "decode + app-layer extraction + batch + encode, PAYLOAD_CAPTURE=full (the defaults)",
      },
    dryRun.reference === null || withoutApp.reference === null
      ? {
        caseName: "decode",
        label: "agent --read, app metadata on vs off",
        unit: "packets/s",
        ours: null,
        reference: null,
        target: null,
        status: "failed",
        note: dryRun.problem ?? withoutApp.problem,
      }
      : {
        caseName: "decode",
        label: "agent --read, app metadata on vs off",
        unit: "packets/s",
        ours: dryRun.reference.value,
        reference: withoutApp.reference,
        target: { kind: "ratioAtLeast", value: APP_METADATA_KEPT_SHARE },
        status: "measured",
        note: "APP_METADATA=on (DNS/TLS/QUIC/HTTP/SSH/DHCP extraction) vs off, same file and run",
      },
  ];
}
