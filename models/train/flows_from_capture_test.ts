import assert from "node:assert/strict";
import { flowFeatureVector, type FlowRecord, FlowTable } from "@traffic-analyzer/shared/flow";
import { join } from "node:path";
import { findTeamKit } from "@traffic-analyzer/shared/testing";
import { captureRecords } from "@traffic-analyzer/shared/pcap";
import { flowsFromCapture } from "./flows_from_capture.ts";

const DEMO = new URL("../captures/demo.pcap", import.meta.url).pathname;

function byUid(flows: FlowRecord[]): Map<string, FlowRecord> {
  return new Map(flows.map((f) => [f.flow_uid, f]));
}

Deno.test("flowsFromCapture() builds the flows the aggregator builds from small batches", async () => {
  const { flows, packets } = await flowsFromCapture(DEMO);
  // The aggregator merges whatever each pass read; replay that with small,
  // uneven batches into one default table, as its passes would.
  const table = new FlowTable();
  const incremental: FlowRecord[] = [];
  let pending = [];
  let size = 1;
  for await (const records of captureRecords(DEMO)) {
    for (const r of records) {
      pending.push(r);
      if (pending.length >= size) {
        incremental.push(...table.merge(pending).ended);
        pending = [];
        size = (size * 7) % 97 + 1;
      }
    }
  }
  incremental.push(...table.merge(pending).ended, ...table.drain());

  assert.ok(packets > 1000);
  assert.equal(incremental.length, flows.length);
  const expected = byUid(incremental);
  for (const flow of flows) {
    const other = expected.get(flow.flow_uid);
    assert.ok(other, `flow ${flow.flow_uid} missing from the incremental run`);
    assert.notEqual(flow.context, null);
    assert.deepEqual(
      flowFeatureVector(flow, flow.context),
      flowFeatureVector(other, other.context),
    );
  }
});

Deno.test("flowsFromCapture() reads the same flows from bytes as from the file", async () => {
  const fromFile = await flowsFromCapture(DEMO);
  const fromBytes = await flowsFromCapture(await Deno.readFile(DEMO));
  assert.deepEqual(fromBytes.flows.map((f) => f.flow_uid), fromFile.flows.map((f) => f.flow_uid));
  assert.equal(fromBytes.packets, fromFile.packets);
  assert.equal(fromFile.malformedPackets, 0);
});

Deno.test("flowsFromCapture() refuses an empty interface name", async () => {
  await assert.rejects(() => flowsFromCapture(DEMO, { interfaceName: "" }), /'interfaceName'/);
});

const KIT = findTeamKit();

Deno.test({
  name: "flowsFromCapture() folds application metadata only when asked, as the agent does",
  ignore: KIT === null,
}, async () => {
  // The kit's HTTP inside PPPoE: requests with a Host header.
  const capture = join(KIT!, "pcaps", "e_pppoe_http.pcap");
  const plain = await flowsFromCapture(capture);
  assert.ok(plain.flows.every((f) => (f.app ?? null) === null));
  const withApp = await flowsFromCapture(capture, { appMetadata: true });
  assert.deepEqual(withApp.flows.map((f) => f.flow_uid), plain.flows.map((f) => f.flow_uid));
  const http = withApp.flows.filter((f) => f.app?.app_protocol === "http");
  assert.ok(http.length > 0, "no HTTP flow found");
  assert.ok(http.some((f) => typeof f.app?.http_host === "string" && f.app.http_host.length > 0));
});
