/**
 * Throughput of the agent's capture side on a large capture file: read →
 * decode → batch → encode (JSON + gzip), with nothing sent or stored, as
 * `deno task agent --read FILE --dry-run` runs it.
 *
 * Usage: `deno run -A agent/pipeline_bench.ts [--packets N] [--file F] [--payload full|headers|none]`.
 * Without `--file` it writes a capture of N (default 1,000,000) real frames
 * from the Ethernet fixtures in `shared/testdata/` to a temporary file.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { PcapWriter, readCapture, readCaptureBatches } from "@traffic-analyzer/shared/pcap";
import type { PayloadCapture } from "@traffic-analyzer/shared/packet";
import { DryRunSink } from "./dry_run_sink.ts";
import { runPipeline } from "./pipeline.ts";
import type { PacketBatch } from "./batcher.ts";

const FIXTURES = new URL("../shared/testdata/", import.meta.url).pathname;
const ETHERNET_FIXTURES = [
  "ipv4_tcp_udp_icmp.pcap",
  "ipv6_tcp_udp_icmpv6.pcap",
  "fragments.pcap",
  "vlan.pcap",
  "edge_cases.pcap",
];
const LINKTYPE_ETHERNET = 1;

async function writeCapture(path: string, packets: number): Promise<void> {
  const frames = [];
  for (const name of ETHERNET_FIXTURES) {
    for await (const frame of readCapture(`${FIXTURES}${name}`)) frames.push(frame);
  }
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = new PcapWriter(file, { linkType: LINKTYPE_ETHERNET });
  const startNs = 1_750_000_000_000_000_000n;
  for (let i = 0; i < packets; i++) {
    const frame = frames[i % frames.length];
    await writer.write({
      data: frame.data,
      wireLength: frame.wireLength,
      timestampNs: startNs + BigInt(i) * 10_000n,
    });
  }
  await writer.flush();
}

/** Counts batches without encoding them, to separate decode cost from JSON+gzip. */
class CountingSink {
  records = 0;
  submit(batch: PacketBatch): Promise<void> {
    this.records += batch.count;
    return Promise.resolve();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      packets: { type: "string", default: "1000000" },
      file: { type: "string" },
      payload: { type: "string", default: "full" },
      "batch-size": { type: "string", default: "100" },
    },
  });
  let path = values.file;
  let dir: string | null = null;
  if (!path) {
    dir = await Deno.makeTempDir({ prefix: "ta-agent-bench-" });
    path = `${dir}/bench.pcap`;
    await writeCapture(path, Number(values.packets));
  }
  const payloadCapture = values.payload as PayloadCapture;
  const batchSize = Number(values["batch-size"]);
  const size = (await Deno.stat(path)).size;
  console.log(
    `agent pipeline bench: ${path} (${(size / 2 ** 20).toFixed(0)} MiB), ` +
      `PAYLOAD_CAPTURE=${payloadCapture}, BATCH_SIZE=${batchSize}`,
  );
  try {
    for (
      const [name, sink] of [["read+decode+batch", new CountingSink()], [
        "read+decode+batch+JSON+gzip (--dry-run)",
        new DryRunSink(),
      ]] as const
    ) {
      const started = performance.now();
      const result = await runPipeline({
        frames: readCaptureBatches(path),
        sink,
        batchSize,
        batchTimeoutMs: 30_000,
        agentId: "bench",
        payloadCapture,
        defaultInterfaceName: "bench.pcap",
      });
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `  ${name.padEnd(42)} ${result.frames} records in ${seconds.toFixed(2)} s: ` +
          `${Math.round(result.frames / seconds).toLocaleString("en")} records/s`,
      );
    }
  } finally {
    if (dir !== null) await Deno.remove(dir, { recursive: true });
  }
}
