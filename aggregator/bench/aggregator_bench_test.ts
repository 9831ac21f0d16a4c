import assert from "node:assert/strict";
import type { PacketRecord } from "@traffic-analyzer/shared/packet";
import { assembleFlows, decodeCapture, fileToFlows } from "./aggregator_bench.ts";

const DEMO = new URL("../../models/captures/demo.pcap", import.meta.url).pathname;

async function decodeAll(maxPackets?: number): Promise<PacketRecord[]> {
  const records: PacketRecord[] = [];
  for await (const batch of decodeCapture(DEMO, { maxPackets, payloadCapture: "none" })) {
    records.push(...batch);
  }
  return records;
}

Deno.test("decodeCapture() stops after maxPackets and keeps no bytes with payload none", async () => {
  const some = await decodeAll(100);
  assert.equal(some.length, 100);
  assert.ok(some.every((record) => record.data === null));
  assert.ok((await decodeAll()).length > 100);
});

Deno.test("assembleFlows() finds the same flows whatever the merge batch size", async () => {
  const records = await decodeAll();
  const uids = (batchSize: number) =>
    assembleFlows(records, batchSize).flows.map((flow) => flow.flow_uid).sort();
  const whole = uids(records.length);
  assert.ok(whole.length > 0);
  assert.equal(new Set(whole).size, whole.length, "every flow is reported once");
  assert.deepEqual(uids(100), whole);
  assert.deepEqual(uids(10_000), whole);
});

Deno.test("fileToFlows() streams the capture into the same flows as assembleFlows()", async () => {
  const records = await decodeAll();
  const whole = assembleFlows(records, 100);
  const streamed = await fileToFlows(DEMO, { batchSize: 100 });
  assert.equal(streamed.packets, records.length);
  assert.equal(streamed.flowCount, whole.flows.length);
  assert.ok(streamed.mergeCpuSec > 0 && streamed.mergeCpuSec <= streamed.cpuSec);
  const first = await fileToFlows(DEMO, { batchSize: 100, maxPackets: 50 });
  assert.equal(first.packets, 50);
});
