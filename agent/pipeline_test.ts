import assert from "node:assert/strict";
import { PcapFormatError, readCaptureBatches } from "@traffic-analyzer/shared/pcap";
import type { PacketBatch } from "./batcher.ts";
import type { BatchSink } from "./delivery.ts";
import { runPipeline } from "./pipeline.ts";
import { keptBatch, recordsOf, ROOT } from "./_test_support.ts";
import { missingToolsReason, needs, TCPDUMP } from "@traffic-analyzer/shared/testing/test_tools";

const FIXTURE = `${ROOT}shared/testdata/ipv4_tcp_udp_icmp.pcap`;
/** tcpdump is the oracle of the capture times. */
const noTcpdump = missingToolsReason([TCPDUMP]);

/** Capture times as tcpdump prints them (the oracle), in whole microseconds. */
async function tcpdumpMicros(path: string): Promise<number[]> {
  const out = await new Deno.Command("tcpdump", {
    args: ["-tt", "-nn", "-r", path],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) => l !== "").map(
    (line) => {
      const [sec, frac] = line.split(" ")[0].split(".");
      return Number(sec) * 1e6 + Number(frac.padEnd(6, "0"));
    },
  );
}

class RecordingSink implements BatchSink {
  batches: PacketBatch[] = [];
  submit(batch: PacketBatch): Promise<void> {
    this.batches.push(keptBatch(batch));
    return Promise.resolve();
  }
}

Deno.test({
  ...needs(
    noTcpdump,
    "runPipeline() turns every frame of a capture file into a record with the file's timestamp",
  ),
}, async () => {
  const sink = new RecordingSink();
  const result = await runPipeline({
    frames: readCaptureBatches(FIXTURE),
    sink,
    batchSize: 10,
    batchTimeoutMs: 60_000,
    agentId: "t",
    payloadCapture: "none",
    defaultInterfaceName: "ipv4_tcp_udp_icmp.pcap",
  });
  const oracle = await tcpdumpMicros(FIXTURE);
  const records = sink.batches.flatMap(recordsOf);
  assert.equal(result.frames, oracle.length);
  assert.equal(records.length, oracle.length);
  assert.equal(result.batches, Math.ceil(oracle.length / 10));
  assert.deepEqual(records.map((r) => Math.round(r.timestamp * 1e6)), oracle);
  assert.ok(records.every((r) => r.interface === "ipv4_tcp_udp_icmp.pcap" && r.data === null));
});

Deno.test({
  ...needs(noTcpdump, "runPipeline() hands over everything before a damaged record, then rethrows"),
}, async () => {
  const bytes = await Deno.readFile(FIXTURE);
  const dir = await Deno.makeTempDir({ prefix: "ta-pipeline-" });
  const damaged = `${dir}/damaged.pcap`;
  try {
    await Deno.writeFile(damaged, bytes.subarray(0, bytes.length - 30));
    const sink = new RecordingSink();
    const error = await runPipeline({
      frames: readCaptureBatches(damaged),
      sink,
      batchSize: 1000,
      batchTimeoutMs: 60_000,
      agentId: "t",
      payloadCapture: "full",
    }).then(() => null, (e) => e);
    assert.ok(error instanceof PcapFormatError);
    const oracle = await tcpdumpMicros(damaged);
    const records = sink.batches.flatMap(recordsOf);
    // The open (partial) batch was flushed before the error came out.
    assert.equal(records.length, oracle.length);
    assert.deepEqual(records.map((r) => Math.round(r.timestamp * 1e6)), oracle);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPipeline() stops after the current burst when its signal aborts and flushes", async () => {
  const sink = new RecordingSink();
  const stop = new AbortController();
  async function* frames() {
    for await (const burst of readCaptureBatches(FIXTURE, { batchFrames: 5 })) {
      // A signal (SIGINT) arrives while the first burst is on its way.
      stop.abort();
      yield burst;
    }
  }
  const result = await runPipeline({
    frames: frames(),
    sink,
    batchSize: 100,
    batchTimeoutMs: 60_000,
    agentId: "t",
    payloadCapture: "headers",
    signal: stop.signal,
  });
  assert.equal(result.frames, 5);
  assert.equal(sink.batches.length, 1);
  assert.equal(sink.batches[0].count, 5);
});

Deno.test("runPipeline() resumes a file at skipFrames and cuts the same batches as a whole read", async () => {
  const keyOf = (first: number, count: number) => `t:${first}+${count}`;
  const read = async (skipFrames: number) => {
    const sink = new RecordingSink();
    const result = await runPipeline({
      frames: readCaptureBatches(FIXTURE, { batchFrames: 3 }),
      sink,
      batchSize: 4,
      batchTimeoutMs: Infinity,
      agentId: "t",
      keyOf,
      skipFrames,
      payloadCapture: "headers",
    });
    return { sink, result };
  };
  const whole = await read(0);
  assert.ok(whole.sink.batches.length >= 3, "the fixture makes several batches");
  assert.equal(whole.result.complete, true);
  const resumed = await read(8);
  assert.equal(resumed.result.skipped, 8);
  assert.equal(resumed.result.frames, whole.result.frames - 8);
  const byKey = (batches: PacketBatch[]) =>
    batches.map((b) => [b.key, recordsOf(b).map((r) => r.timestamp)]);
  assert.deepEqual(byKey(resumed.sink.batches), byKey(whole.sink.batches.slice(2)));
});

Deno.test("runPipeline() with abandonOnStop leaves the open batch to the next run", async () => {
  const sink = new RecordingSink();
  const stop = new AbortController();
  async function* frames() {
    for await (const burst of readCaptureBatches(FIXTURE, { batchFrames: 5 })) {
      stop.abort();
      yield burst;
    }
  }
  const result = await runPipeline({
    frames: frames(),
    sink,
    batchSize: 3,
    batchTimeoutMs: Infinity,
    agentId: "t",
    abandonOnStop: true,
    payloadCapture: "headers",
    signal: stop.signal,
  });
  assert.equal(result.frames, 5);
  assert.equal(result.complete, false);
  assert.equal(result.abandoned, 2);
  assert.deepEqual(sink.batches.map((b) => b.count), [3]);
});
