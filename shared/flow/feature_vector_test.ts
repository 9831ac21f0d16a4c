import assert from "node:assert/strict";
import { FEATURE_NAMES, FEATURE_VERSION, flowFeatureVector } from "./feature_vector.ts";
import type { FlowContext } from "./flow_context.ts";
import { type FlowRecord, FlowTable } from "./flow_table.ts";
import {
  type PacketRecord,
  TCP_FLAG_ACK,
  TCP_FLAG_RST,
  TCP_FLAG_SYN,
} from "../packet/packet_record.ts";
import { icmp, tcp, udp } from "./_test_packets.ts";

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

/** The vector by its definition: each named value read from the record, its features and context. */
function vectorByName(flow: FlowRecord, context: FlowContext | null): Float32Array {
  const out = new Float32Array(FEATURE_NAMES.length);
  const features = flow.features as unknown as Record<string, number>;
  FEATURE_NAMES.forEach((name, i) => {
    const proto = flow.protocol;
    const icmp = proto === "ICMP" || proto === "ICMPv6";
    switch (name) {
      case "proto_tcp":
        out[i] = proto === "TCP" ? 1 : 0;
        break;
      case "proto_udp":
        out[i] = proto === "UDP" ? 1 : 0;
        break;
      case "proto_icmp":
        out[i] = icmp ? 1 : 0;
        break;
      case "proto_other":
        out[i] = proto === "TCP" || proto === "UDP" || icmp ? 0 : 1;
        break;
      case "resp_port":
        out[i] = flow.resp_port ?? -1;
        break;
      case "syn_seen":
      case "established":
      case "answered":
      case "rejected":
        out[i] = flow[name] ? 1 : 0;
        break;
      default:
        if (name in features) out[i] = features[name];
        else out[i] = context === null ? 0 : (context as unknown as Record<string, number>)[name];
    }
  });
  return out;
}

function bytes(x: Float32Array): Uint8Array {
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}

Deno.test("flowFeatureVector() of a table's record equals the vector read from its named values", () => {
  let seed = 3;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const hosts = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  const packets: PacketRecord[] = [];
  let ts = 0;
  for (let i = 0; i < 400; i++) {
    ts += random() < 0.05 ? 30 : random() * 0.7;
    const kind = random();
    if (kind < 0.5) {
      const flags = pick([
        TCP_FLAG_SYN,
        TCP_FLAG_SYN | TCP_FLAG_ACK,
        TCP_FLAG_ACK,
        TCP_FLAG_RST | TCP_FLAG_ACK,
      ]);
      packets.push(
        tcp(ts, pick(hosts), pick([1000, 1001]), pick(hosts), 80, flags, {
          payload: Math.floor(random() * 500),
          window: Math.floor(random() * 4) * 1000,
        }),
      );
    } else if (kind < 0.8) {
      packets.push(udp(ts, pick(hosts), pick([53, 5000]), pick(hosts), 53, random() * 200 | 0));
    } else {
      packets.push(icmp(ts, pick(hosts), pick(hosts), pick([8, 0, 3]), 0, pick([1, 2]), 20));
    }
  }
  const table = new FlowTable({ sweepIntervalSec: 1 });
  const records: FlowRecord[] = [];
  for (let i = 0; i < packets.length; i += 37) {
    const { changed, ended } = table.merge(packets.slice(i, i + 37));
    records.push(...changed, ...ended);
  }
  records.push(...table.drain());
  assert.ok(records.length > 50, `only ${records.length} records`);
  for (const flow of records) {
    // Built from the statistics and the context counts before `features`
    // or `context` is ever read...
    const own = flowFeatureVector(flow);
    const fast = flowFeatureVector(flow, flow.context);
    assert.deepEqual(bytes(own), bytes(fast), flow.flow_uid);
    const withoutContext = flowFeatureVector(flow, null);
    // ...then from the named values, through the features object.
    assert.deepEqual(bytes(fast), bytes(vectorByName(flow, flow.context)), flow.flow_uid);
    assert.deepEqual(bytes(withoutContext), bytes(vectorByName(flow, null)), flow.flow_uid);
    assert.deepEqual(bytes(flowFeatureVector(flow, flow.context)), bytes(fast), flow.flow_uid);
    assert.deepEqual(
      bytes(flowFeatureVector({ ...flow }, flow.context)),
      bytes(fast),
      flow.flow_uid,
    );
  }
});

Deno.test("flowFeatureVector() gives each vector its own values", () => {
  const table = new FlowTable();
  table.merge([udp(0, "10.0.0.1", 1, "10.0.0.2", 2, 10), udp(1, "10.0.0.1", 3, "10.0.0.2", 4, 20)]);
  const [a, b] = table.drain();
  const vectors = Array.from({ length: 500 }, (_, i) => flowFeatureVector(i % 2 ? a : b, null));
  const expectedA = Array.from(flowFeatureVector(a, null));
  vectors[1].fill(7);
  assert.deepEqual(Array.from(vectors[3]), expectedA);
  assert.ok(vectors.every((v) => v.length === FEATURE_NAMES.length));
});
