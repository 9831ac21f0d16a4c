import assert from "node:assert/strict";
import {
  TCP_FLAG_ACK as ACK,
  TCP_FLAG_PSH as PSH,
  TCP_FLAG_RST as RST,
  TCP_FLAG_SYN as SYN,
} from "../packet/packet_record.ts";
import type { PacketRecord } from "../packet/packet_record.ts";
import { communityId } from "./community_id.ts";
import { FlowTable } from "./flow_table.ts";
import { FEATURE_NAMES, flowFeatureVector } from "./feature_vector.ts";
import { basePacket, icmp, tcp, udp } from "./_test_packets.ts";
import { A, B, C, fullConnection, runAll, unreachableFrame } from "./_test_flow_table.ts";

function near(actual: number, expected: number, label: string): void {
  assert.ok(
    Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)),
    `${label}: ${actual} != ${expected}`,
  );
}

Deno.test("FlowTable assembles a full TCP connection with hand-computed counts and features", () => {
  const table = new FlowTable();
  const { changed, ended } = table.merge(fullConnection());
  assert.equal(ended.length, 0);
  assert.equal(changed.length, 1);
  const f = changed[0];
  assert.equal(f.orig_ip, A);
  assert.equal(f.orig_port, 40000);
  assert.equal(f.resp_ip, B);
  assert.equal(f.resp_port, 80);
  assert.equal(f.protocol, "TCP");
  assert.equal(
    f.community_id,
    communityId({ srcIp: A, dstIp: B, ipProto: 6, srcPort: 40000, dstPort: 80 }),
  );
  assert.equal(f.orig_packets, 6);
  assert.equal(f.resp_packets, 4);
  assert.equal(f.orig_bytes, 74 + 60 + 154 + 60 + 60 + 60);
  assert.equal(f.resp_bytes, 74 + 60 + 254 + 60);
  assert.equal(f.orig_payload_bytes, 100);
  assert.equal(f.resp_payload_bytes, 200);
  assert.equal(f.state, "closed");
  assert.equal(f.close_reason, "fin");
  assert.equal(f.conn_state, "SF");
  assert.equal(f.syn_seen, true);
  assert.equal(f.established, true);
  assert.equal(f.rejected, false);
  near(f.duration, 0.09, "duration");

  const x = f.features;
  assert.equal(x.orig_header_bytes, 60 + 5 * 40);
  assert.equal(x.resp_header_bytes, 60 + 3 * 40);
  assert.equal(x.orig_data_packets, 1);
  assert.equal(x.resp_data_packets, 1);
  assert.deepEqual(
    [x.orig_syn_count, x.orig_ack_count, x.orig_psh_count, x.orig_fin_count, x.orig_rst_count],
    [1, 5, 1, 1, 0],
  );
  assert.deepEqual(
    [x.resp_syn_count, x.resp_ack_count, x.resp_psh_count, x.resp_fin_count, x.resp_rst_count],
    [1, 4, 1, 1, 0],
  );
  assert.equal(x.orig_init_window, 64240);
  assert.equal(x.resp_init_window, 65160);
  assert.equal(x.pkt_len_min, 60);
  assert.equal(x.pkt_len_max, 254);
  near(x.pkt_len_mean, 916 / 10, "pkt_len_mean");
  near(x.orig_pkt_len_mean, 468 / 6, "orig_pkt_len_mean");
  near(x.resp_pkt_len_mean, 448 / 4, "resp_pkt_len_mean");
  // Originator gaps: .02 .01 .03 .01 .02 -> mean .018, population std sqrt(56e-6).
  near(x.orig_iat_mean_sec, 0.018, "orig_iat_mean");
  near(x.orig_iat_min_sec, 0.01, "orig_iat_min");
  near(x.orig_iat_max_sec, 0.03, "orig_iat_max");
  near(x.orig_iat_std_sec, Math.sqrt(56e-6), "orig_iat_std");
  // Responder gaps: .03 .01 .03.
  near(x.resp_iat_mean_sec, 0.07 / 3, "resp_iat_mean");
  near(x.iat_mean_sec, 0.01, "iat_mean");
  near(x.active_mean_sec, 0.09, "one active period");
  assert.equal(x.idle_max_sec, 0);
  near(x.bytes_per_sec, 916 / 0.09, "bytes/s");
  near(x.packets_per_sec, 10 / 0.09, "packets/s");
  near(x.down_up_ratio, 4 / 6, "down/up");
});

Deno.test("FlowTable keeps teardown packets in a closed flow instead of starting a new one", async (t) => {
  await t.step("the last ACK, a duplicate ACK and a RST after FIN/FIN stay in the flow", () => {
    const packets = [
      ...fullConnection(),
      tcp(0.5, A, 40000, B, 80, ACK, { seq: 202, ack: 502 }),
      tcp(0.6, B, 80, A, 40000, RST, { seq: 502 }),
    ];
    const flows = runAll(packets);
    assert.equal(flows.length, 1);
    assert.equal(flows[0].orig_packets, 7);
    assert.equal(flows[0].resp_packets, 5);
    assert.equal(flows[0].close_reason, "fin");
  });

  await t.step("a closed flow ends after tcpClosedTimeoutSec of quiet, on packet time", () => {
    const table = new FlowTable();
    table.merge([...fullConnection(), tcp(0.6, B, 80, A, 40000, RST, { seq: 502 })]);
    assert.deepEqual(table.expire(5.6), []);
    assert.equal(table.size, 1);
    const ended = table.expire(5.61);
    assert.equal(ended.length, 1);
    assert.equal(ended[0].close_reason, "fin");
    assert.equal(table.size, 0);
  });

  await t.step("a packet after the close delay starts a new flow", () => {
    const flows = runAll([
      ...fullConnection(),
      tcp(6, A, 40000, B, 80, ACK, { seq: 202, ack: 502 }),
    ]);
    assert.equal(flows.length, 2);
    assert.equal(flows[1].conn_state, "OTH");
  });
});

Deno.test("FlowTable starts a new flow when a SYN reuses a closed flow's ports", () => {
  const table = new FlowTable();
  table.merge(fullConnection());
  const reuse = table.merge([tcp(1.0, A, 40000, B, 80, SYN, { seq: 9999 })]);
  // The old flow is final but its context is due only at first_seen + 2 s.
  assert.equal(reuse.ended.length, 0);
  assert.equal(reuse.changed.length, 1);
  assert.equal(reuse.changed[0].orig_packets, 1);
  assert.equal(reuse.changed[0].first_seen, 1.0);
  const later = table.merge([tcp(2.5, B, 80, A, 40000, SYN | ACK, { seq: 7, ack: 10000 })]);
  assert.equal(later.ended.length, 1);
  assert.equal(later.ended[0].first_seen, 0);
  assert.equal(later.ended[0].close_reason, "fin");
  assert.equal(later.ended[0].orig_packets, 6);
  assert.notEqual(later.ended[0].flow_uid, reuse.changed[0].flow_uid);
  assert.equal(later.ended[0].community_id, reuse.changed[0].community_id);
});

Deno.test("FlowTable picks the originator Zeek's way when a capture starts mid-connection", async (t) => {
  await t.step("a first SYN-ACK makes its receiver the originator", () => {
    const [f] = runAll([
      tcp(0, B, 80, A, 40000, SYN | ACK, { seq: 300, ack: 101 }),
      tcp(0.01, A, 40000, B, 80, ACK, { seq: 101, ack: 301 }),
    ]);
    assert.equal(f.orig_ip, A);
    assert.equal(f.orig_port, 40000);
    assert.equal(f.resp_port, 80);
    assert.equal(f.orig_packets, 1);
    assert.equal(f.resp_packets, 1);
    assert.equal(f.features.resp_syn_count, 1);
  });

  await t.step("a later SYN from the other side swaps the roles and the counters", () => {
    const [f] = runAll([
      tcp(0, B, 80, A, 40000, ACK, { seq: 1, ack: 1, payload: 500 }),
      tcp(0.01, A, 40000, B, 80, SYN, { seq: 100 }),
    ]);
    assert.equal(f.orig_ip, A);
    assert.equal(f.orig_packets, 1);
    assert.equal(f.orig_bytes, 60);
    assert.equal(f.resp_packets, 1);
    assert.equal(f.resp_payload_bytes, 500);
    assert.equal(f.features.orig_syn_count, 1);
    assert.equal(f.features.resp_ack_count, 1);
  });

  await t.step("without any SYN the first sender stays the originator", () => {
    const [f] = runAll([
      tcp(0, B, 80, A, 40000, PSH | ACK, { seq: 1, ack: 1, payload: 10 }),
      tcp(0.01, A, 40000, B, 80, ACK, { seq: 1, ack: 11 }),
    ]);
    assert.equal(f.orig_ip, B);
    assert.equal(f.orig_port, 80);
    assert.equal(f.conn_state, "OTH");
  });
});

Deno.test("FlowTable closes a flow at RST and marks a refused SYN as rejected", () => {
  const flows = runAll([
    tcp(0, A, 40001, B, 81, SYN, { seq: 5 }),
    tcp(0.001, B, 81, A, 40001, RST | ACK, { seq: 0, ack: 6 }),
    tcp(1, A, 40001, B, 81, ACK, { seq: 6, ack: 1 }),
  ]);
  assert.equal(flows.length, 1);
  const f = flows[0];
  assert.equal(f.close_reason, "rst");
  assert.equal(f.conn_state, "REJ");
  assert.equal(f.rejected, true);
  assert.equal(f.answered, true);
  assert.equal(f.orig_packets, 2);
});

Deno.test("FlowTable applies per-protocol idle timeouts and the active timeout", async (t) => {
  await t.step("UDP ends after 60 s of quiet", () => {
    const flows = runAll([
      udp(0, A, 5353, B, 53, 30),
      udp(0.01, B, 53, A, 5353, 90),
      udp(60.01, A, 5353, B, 53, 30),
      udp(121.02, A, 5353, B, 53, 30),
    ]);
    assert.deepEqual(flows.map((f) => [f.orig_packets, f.resp_packets, f.close_reason]), [
      [2, 1, "idle"],
      [1, 0, "end"],
    ]);
  });

  await t.step("an unanswered TCP attempt uses the attempt timeout across SYN back-off", () => {
    const syns = [0, 1, 3, 7, 15, 31, 63, 130].map((ts) =>
      tcp(ts, A, 40002, B, 443, SYN, { seq: 1 })
    );
    const flows = runAll(syns);
    assert.deepEqual(flows.map((f) => [f.orig_packets, f.conn_state, f.close_reason]), [
      [7, "S0", "idle"],
      [1, "S0", "end"],
    ]);
  });

  await t.step("an answered TCP flow survives a 200 s pause", () => {
    const packets = fullConnection().slice(0, 6);
    packets.push(tcp(200, A, 40000, B, 80, ACK, { seq: 201, ack: 501 }));
    assert.equal(runAll(packets).length, 1);
  });

  await t.step("the active timeout splits a long flow and the continuation keeps the roles", () => {
    const packets: PacketRecord[] = [];
    for (let ts = 0; ts <= 1800; ts += 30) packets.push(udp(ts, A, 7000, B, 7001, 10));
    packets.push(udp(1830, B, 7001, A, 7000, 10));
    const flows = runAll(packets, { activeTimeoutSec: 1800 });
    assert.equal(flows.length, 2);
    assert.equal(flows[0].close_reason, "active_timeout");
    assert.equal(flows[0].orig_packets, 61);
    assert.equal(flows[1].continuation, true);
    assert.equal(flows[1].orig_ip, A);
    assert.equal(flows[1].orig_packets, 0);
    assert.equal(flows[1].resp_packets, 1);
  });
});

Deno.test("FlowTable pairs ICMP echo request and reply by type mapping and identifier", () => {
  const flows = runAll([
    icmp(0, A, B, 8, 0, 7, 56),
    icmp(0.001, B, A, 0, 0, 7, 56),
    icmp(1, A, B, 8, 0, 7, 56),
    icmp(1.001, B, A, 0, 0, 7, 56),
    icmp(2, A, B, 8, 0, 9, 56),
    icmp(3, B, A, 3, 1, null, 28),
  ]);
  assert.equal(flows.length, 3);
  const [echo, otherId, unreachable] = flows;
  assert.deepEqual(
    [
      echo.orig_ip,
      echo.orig_port,
      echo.resp_ip,
      echo.resp_port,
      echo.orig_packets,
      echo.resp_packets,
    ],
    [A, 8, B, 0, 2, 2],
  );
  assert.equal(echo.icmp_id, 7);
  assert.equal(
    echo.community_id,
    communityId({ srcIp: A, dstIp: B, ipProto: 1, srcPort: 8, dstPort: 0 }),
  );
  assert.equal(otherId.icmp_id, 9);
  assert.equal(otherId.resp_packets, 0);
  assert.deepEqual([unreachable.orig_ip, unreachable.orig_port, unreachable.resp_port], [B, 3, 1]);
});

Deno.test("FlowTable charges an ICMP port unreachable to the flow it quotes", async (t) => {
  await t.step("with captured bytes, the quoted 5-tuple picks the flow", () => {
    const flows = runAll([
      udp(0, A, 5000, B, 9, 12),
      udp(0.1, A, 5001, B, 9, 12),
      icmp(0.2, B, A, 3, 3, null, 36, {
        data: unreachableFrame(B, A, A, B, 5000, 9),
        length: 70,
        caplen: 70,
      }),
    ]);
    const first = flows.find((f) => f.orig_port === 5000)!;
    const second = flows.find((f) => f.orig_port === 5001)!;
    assert.equal(first.rejected, true);
    assert.equal(second.rejected, false);
  });

  await t.step("without captured bytes, the latest flow between the two hosts is charged", () => {
    const flows = runAll([
      udp(0, A, 5000, B, 9, 12),
      udp(0.1, A, 5001, B, 9, 12),
      icmp(0.2, B, A, 3, 3, null, 36),
    ]);
    assert.equal(flows.find((f) => f.orig_port === 5000)!.rejected, false);
    assert.equal(flows.find((f) => f.orig_port === 5001)!.rejected, true);
  });
});

Deno.test("FlowTable attributes non-first fragments to their first fragment's flow", () => {
  const fragment = (ts: number, id: number, offset: number, more: boolean) =>
    basePacket({
      timestamp: ts,
      src_ip: A,
      dst_ip: B,
      protocol: "UDP",
      ip_proto: 17,
      ip_id: id,
      frag_offset: offset,
      more_fragments: more,
      is_fragment: true,
      length: 1514,
      payload_length: 1480,
    });
  const flows = runAll([
    udp(0, A, 5000, B, 6000, 1472, { ip_id: 42, more_fragments: true, length: 1514 }),
    fragment(0.001, 42, 1480, true),
    fragment(0.002, 42, 2960, false),
    fragment(0.003, 43, 1480, false), // first fragment never seen
    fragment(0.004, 42, 1480, false), // after the last fragment: entry gone
  ]);
  assert.equal(flows.length, 2);
  const [ported, pair] = flows;
  assert.deepEqual([ported.orig_port, ported.resp_port, ported.orig_packets], [5000, 6000, 3]);
  assert.equal(ported.features.orig_header_bytes, 28 + 20 + 20);
  assert.deepEqual([pair.orig_port, pair.resp_port, pair.orig_packets], [null, null, 2]);
  assert.equal(pair.community_id, null);
});

Deno.test("FlowTable keeps flows on different VLANs apart", () => {
  const flows = runAll([
    udp(0, A, 1000, B, 2000, 10, { vlan_id: 10 }),
    udp(0.1, B, 2000, A, 1000, 10, { vlan_id: 10 }),
    udp(0.2, A, 1000, B, 2000, 10, { vlan_id: 20 }),
    udp(0.3, A, 1000, B, 2000, 10, { vlan_id: 10, vlan_inner_id: 5 }),
    udp(0.4, A, 1000, B, 2000, 10),
  ]);
  assert.deepEqual(
    flows.map((f) => [f.vlan, f.vlan_inner, f.orig_packets + f.resp_packets]),
    [[10, null, 2], [20, null, 1], [10, 5, 1], [null, null, 1]],
  );
});

Deno.test("FlowTable keys ARP by address pair and other L2 frames by MAC pair", () => {
  const arp = (ts: number, src: string, dst: string, op: number) =>
    basePacket({
      timestamp: ts,
      src_ip: src,
      dst_ip: dst,
      protocol: "ARP",
      ether_type: 0x0806,
      ip_version: null,
      ip_header_length: null,
      arp_opcode: op,
    });
  const flows = runAll([
    arp(0, A, B, 1),
    arp(0.001, B, A, 2),
    arp(1, C, B, 1),
    basePacket({
      timestamp: 2,
      protocol: "LLDP",
      ether_type: 0x88cc,
      ip_version: null,
      ip_header_length: null,
    }),
  ]);
  assert.deepEqual(flows.map((f) => [f.protocol, f.orig_ip, f.orig_packets, f.resp_packets]), [
    ["ARP", A, 1, 1],
    ["ARP", C, 1, 0],
    ["LLDP", null, 1, 0],
  ]);
  assert.equal(flows[2].orig_mac, "02:00:00:00:00:01");
});

Deno.test("FlowTable computes context once packet time passes first_seen + outcome delay", () => {
  const table = new FlowTable();
  const scan: PacketRecord[] = [];
  for (let i = 0; i < 5; i++) {
    scan.push(tcp(i * 0.1, C, 50000, B, i + 1, SYN, { seq: 1 }));
    if (i < 3) scan.push(tcp(i * 0.1 + 0.001, B, i + 1, C, 50000, RST | ACK, { ack: 2 }));
  }
  const first = table.merge(scan);
  assert.ok(first.changed.every((f) => f.context === null));
  assert.equal(table.expire(2.0).length, 0);
  const later = table.merge([udp(10, A, 1, B, 2, 1)]);
  // Rejected flows ended 5 s after their RST; the two unanswered ones live on.
  assert.equal(later.ended.length, 3);
  const scanFlows = [...later.ended, ...later.changed].filter((f) => f.orig_ip === C);
  const byPort = new Map(scanFlows.map((f) => [f.resp_port, f]));
  assert.equal(byPort.size, 5);
  const fifth = byPort.get(5)!.context!;
  near(fifth.short_orig_flow_rate, 5 / 2, "rate");
  assert.equal(fifth.short_orig_distinct_resp_hosts, 1);
  assert.equal(fifth.short_orig_distinct_resp_ports, 5);
  near(fifth.short_orig_rejected_share, 3 / 5, "rejected");
  near(fifth.short_orig_unanswered_share, 2 / 5, "unanswered");
  assert.equal(fifth.short_resp_distinct_origs, 1);
  near(fifth.short_resp_half_open_share, 1, "half-open");
  near(fifth.long_orig_flow_rate, 5 / 60, "long rate");
  const firstFlow = byPort.get(1)!.context!;
  assert.equal(firstFlow.short_orig_distinct_resp_ports, 1);
  assert.equal(firstFlow.short_orig_rejected_share, 1);
  assert.equal(firstFlow.short_orig_unanswered_share, 0);
});

Deno.test("FlowTable rejects invalid options with a message naming the option", () => {
  assert.throws(() => new FlowTable({ udpIdleTimeoutSec: 0 }), /'udpIdleTimeoutSec'.*0/);
  assert.throws(() => new FlowTable({ communityIdSeed: -1 }), /'communityIdSeed'/);
  assert.throws(
    () => new FlowTable({ context: { shortWindowSec: 10, longWindowSec: 5 } }),
    /'longWindowSec'/,
  );
});

Deno.test("FlowTable gives distinct, reproducible uids to many flows", () => {
  const packets: PacketRecord[] = [];
  for (let i = 0; i < 20000; i++) {
    packets.push(udp(i * 0.001, `10.1.${i >> 8}.${i & 255}`, 1024 + (i % 50000), B, 53, 20));
  }
  const uids = runAll(packets).map((f) => f.flow_uid);
  assert.equal(new Set(uids).size, 20000);
  assert.ok(uids.every((uid) => /^F[A-Za-z0-9_-]{22}$/.test(uid)));
  assert.deepEqual(runAll(packets).map((f) => f.flow_uid), uids);
});

Deno.test("FlowTable records keep the values of their call, features included", () => {
  const packets = fullConnection();
  const table = new FlowTable();
  const [early] = table.merge(packets.slice(0, 4)).changed;
  const earlyVector = Array.from(flowFeatureVector(early, early.context));
  const [late] = table.merge(packets.slice(4)).changed;
  assert.equal(late.flow_uid, early.flow_uid);
  assert.equal(early.orig_packets, 3);
  assert.equal(early.features.orig_packets, 3);
  assert.equal(early.features.resp_packets, 1);
  assert.equal(late.features.orig_packets, 6);
  assert.deepEqual(Array.from(flowFeatureVector(early, early.context)), earlyVector);
  // features is an own, enumerable property in the interface's order, read once.
  const keys = Object.keys(late);
  assert.deepEqual(keys.slice(-2), ["features", "context"]);
  assert.equal(late.features, late.features);
  const copy = JSON.parse(JSON.stringify(late));
  assert.deepEqual(Object.keys(copy), keys);
  assert.deepEqual(copy.features, { ...late.features });
  assert.deepEqual({ ...late }.features, late.features);
  // An assigned features object is what the record (and its vector) then holds.
  const replaced = { ...late.features, orig_packets: 99 };
  late.features = replaced;
  assert.equal(late.features, replaced);
  assert.equal(flowFeatureVector(late, null)[FEATURE_NAMES.indexOf("orig_packets")], 99);
});

Deno.test("FlowTable records of one flow share one frozen context object, made when first read", () => {
  const table = new FlowTable();
  table.merge([udp(0, "10.0.0.1", 1000, "10.0.0.2", 53, 40)]);
  // Past the outcome delay: the flow gets its context while live.
  const { changed } = table.merge([udp(3, "10.0.0.2", 53, "10.0.0.1", 1000, 80)]);
  const live = changed.find((f) => f.orig_port === 1000)!;
  const [ended] = table.drain();
  assert.ok(live.context !== null);
  assert.equal(ended.context, live.context);
  assert.ok(Object.isFrozen(live.context));
  assert.equal(JSON.parse(JSON.stringify(ended)).context.short_orig_flow_rate, 0.5);
});

Deno.test("FlowTable records of flows past 2 GiB a direction keep whole statistics", () => {
  const table = new FlowTable();
  const ts = 1_700_000_000;
  const huge = udp(ts, "10.0.0.1", 5000, "10.0.0.2", 53, 100);
  huge.length = 3_000_000_000;
  huge.payload_length = 2_999_999_972;
  const small = udp(ts + 0.5, "10.0.0.3", 5000, "10.0.0.2", 53, 100);
  table.merge([huge, udp(ts + 0.25, "10.0.0.2", 53, "10.0.0.1", 5000, 40), small]);
  const records = table.drain();
  assert.equal(records.length, 2);
  for (const record of records) {
    const vector = flowFeatureVector(record);
    const features = record.features;
    const names = FEATURE_NAMES as readonly string[];
    for (const [name, value] of Object.entries(features)) {
      const at = names.indexOf(name);
      if (at >= 0) assert.equal(vector[at], Math.fround(value), `${record.orig_ip} ${name}`);
    }
  }
  const big = records.find((record) => record.orig_ip === "10.0.0.1")!;
  assert.equal(big.features.orig_bytes, 3_000_000_000);
  assert.equal(big.features.orig_payload_bytes, 2_999_999_972);
  assert.equal(big.features.resp_packets, 1);
});
