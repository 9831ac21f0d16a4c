import assert from "node:assert/strict";
import { FEATURE_NAMES, FEATURE_VERSION, flowFeatureVector } from "./feature_vector.ts";
import { FlowTable } from "./flow_table.ts";
import { TCP_FLAG_ACK, TCP_FLAG_RST, TCP_FLAG_SYN } from "../packet/packet_record.ts";
import { tcp, udp } from "./_test_packets.ts";

Deno.test("FEATURE_NAMES are unique and models/FEATURES.md documents exactly them, in order", async () => {
  assert.equal(new Set(FEATURE_NAMES).size, FEATURE_NAMES.length);
  const doc = await Deno.readTextFile(new URL("../../models/FEATURES.md", import.meta.url));
  assert.match(doc, new RegExp(`FEATURE_VERSION = ${FEATURE_VERSION}\\b`));
  const rows = [...doc.matchAll(/^\|\s*(\d+)\s*\|\s*`([a-z_]+)`\s*\|/gm)].map((
    m,
  ) => [Number(m[1]), m[2]]);
  assert.deepEqual(rows, FEATURE_NAMES.map((name, i) => [i, name]));
  assert.match(doc, new RegExp(`${FEATURE_NAMES.length} features`));
});

Deno.test("flowFeatureVector() places each feature at its named index", () => {
  const table = new FlowTable();
  const { ended } = table.merge([
    tcp(0, "10.0.0.1", 40000, "10.0.0.2", 22, TCP_FLAG_SYN, { seq: 1, window: 1024 }),
    tcp(0.01, "10.0.0.2", 22, "10.0.0.1", 40000, TCP_FLAG_RST | TCP_FLAG_ACK, { ack: 2 }),
    udp(30, "10.0.0.9", 1, "10.0.0.8", 2, 3),
  ]);
  const [flow] = ended.filter((f) => f.protocol === "TCP");
  assert.ok(flow.context !== null);
  const x = flowFeatureVector(flow, flow.context);
  assert.equal(x.length, FEATURE_NAMES.length);
  const at = (name: string) => x[FEATURE_NAMES.indexOf(name)];
  assert.equal(at("proto_tcp"), 1);
  assert.equal(at("proto_udp"), 0);
  assert.equal(at("resp_port"), 22);
  assert.equal(at("rejected"), 1);
  assert.equal(at("established"), 0);
  assert.equal(at("orig_syn_count"), 1);
  assert.equal(at("resp_rst_count"), 1);
  assert.equal(at("orig_init_window"), 1024);
  assert.equal(at("duration_sec"), Math.fround(0.01));
  assert.equal(at("short_orig_rejected_share"), 1);
  assert.equal(at("short_resp_half_open_share"), 1);
  assert.equal(at("long_orig_flow_rate"), Math.fround(1 / 60));
  const withoutContext = flowFeatureVector(flow, null);
  assert.equal(withoutContext[FEATURE_NAMES.indexOf("short_orig_rejected_share")], 0);
  assert.ok(x.every((v) => Number.isFinite(v)));
});
