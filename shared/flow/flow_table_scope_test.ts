/**
 * Flow scopes: flows are kept apart per capturing agent and per tunnel that
 * names a network (VXLAN/Geneve VNI, GRE key, ...), and state saved before
 * scopes existed still restores.
 */
import assert from "node:assert/strict";
import {
  type PacketRecord,
  TCP_FLAG_ACK as ACK,
  TCP_FLAG_FIN as FIN,
  TCP_FLAG_PSH as PSH,
  TCP_FLAG_SYN as SYN,
} from "../packet/packet_record.ts";
import { encodePacket } from "../packet/packet_encoder.ts";
import { decode, overIp, overUdp } from "../packet/_tunnel_test_frames.ts";
import { concatBytes } from "../concat_bytes.ts";
import { grePacket, mplsLabelStack, vxlanHeader } from "../packet/tunnel_encoder.ts";
import { communityId } from "./community_id.ts";
import { type FlowPacket, type FlowRecord, FlowTable, type FlowTableState } from "./flow_table.ts";
import { icmp, tcp, udp } from "./_test_packets.ts";

const A = "10.0.0.1";
const B = "10.0.0.2";

/** A complete connection A:40000 -> B:80, 100 bytes up and 200 down: 10 packets, 6 from A. */
function connection(t0 = 0): PacketRecord[] {
  return [
    tcp(t0 + 0.00, A, 40000, B, 80, SYN, { seq: 100 }),
    tcp(t0 + 0.01, B, 80, A, 40000, SYN | ACK, { seq: 300, ack: 101 }),
    tcp(t0 + 0.02, A, 40000, B, 80, ACK, { seq: 101, ack: 301 }),
    tcp(t0 + 0.03, A, 40000, B, 80, PSH | ACK, { seq: 101, ack: 301, payload: 100 }),
    tcp(t0 + 0.04, B, 80, A, 40000, ACK, { seq: 301, ack: 201 }),
    tcp(t0 + 0.05, B, 80, A, 40000, PSH | ACK, { seq: 301, ack: 201, payload: 200 }),
    tcp(t0 + 0.06, A, 40000, B, 80, ACK, { seq: 201, ack: 501 }),
    tcp(t0 + 0.07, A, 40000, B, 80, FIN | ACK, { seq: 201, ack: 501 }),
    tcp(t0 + 0.08, B, 80, A, 40000, FIN | ACK, { seq: 501, ack: 202 }),
    tcp(t0 + 0.09, A, 40000, B, 80, ACK, { seq: 202, ack: 502 }),
  ];
}

function asAgent(agent: string | null, packets: PacketRecord[]): FlowPacket[] {
  return packets.map((p) => ({ ...p, agent_id: agent }));
}

/** Interleaves the packets of several streams by time, earlier stream first on ties. */
function interleave(...streams: FlowPacket[][]): FlowPacket[] {
  return streams.flat().map((p, i) => [p, i] as const)
    .sort(([a, i], [b, j]) => a.timestamp - b.timestamp || i - j)
    .map(([p]) => p);
}

function runAll(packets: readonly FlowPacket[]): FlowRecord[] {
  const table = new FlowTable();
  const ended = [...table.merge(packets).ended, ...table.drain()];
  return ended.sort((a, b) =>
    a.first_seen - b.first_seen || (a.agent ?? "").localeCompare(b.agent ?? "") ||
    (a.flow_uid < b.flow_uid ? -1 : 1)
  );
}

Deno.test("FlowTable keeps the flows of two agents seeing the same conversation apart", () => {
  const flows = runAll(
    interleave(asAgent("sensor-1", connection()), asAgent("sensor-2", connection())),
  );
  assert.equal(flows.length, 2);
  assert.deepEqual(flows.map((f) => f.agent), ["sensor-1", "sensor-2"]);
  assert.notEqual(flows[0].flow_uid, flows[1].flow_uid);
  for (const flow of flows) {
    // Each agent's view alone: the conversation's own counts, not doubled.
    assert.equal(flow.orig_packets, 6);
    assert.equal(flow.resp_packets, 4);
    assert.equal(flow.orig_payload_bytes, 100);
    assert.equal(flow.resp_payload_bytes, 200);
    assert.equal(flow.conn_state, "SF");
    assert.equal(flow.close_reason, "fin");
    assert.equal(flow.orig_ip, A);
    // Community ID is the standard one: the same conversation, the same id.
    assert.equal(
      flow.community_id,
      communityId({ srcIp: A, dstIp: B, ipProto: 6, srcPort: 40000, dstPort: 80 }),
    );
    assert.equal(flow.tunnel_type, null);
    assert.equal(flow.tunnel_id, null);
  }
  // Without agents, the same packets make one flow holding both views.
  const merged = runAll(
    [...connection(), ...connection()].sort((a, b) => a.timestamp - b.timestamp),
  );
  assert.equal(merged.length, 1);
  assert.equal(merged[0].agent, null);
  assert.equal(merged[0].orig_packets + merged[0].resp_packets, 20);
});

Deno.test("FlowTable keeps agents apart on every key path: UDP, ICMP echo, fragments, VLANs", () => {
  const stream = (agent: string) =>
    asAgent(agent, [
      udp(1, A, 5353, B, 53, 30),
      udp(1.01, B, 53, A, 5353, 90),
      icmp(2, A, B, 8, 0, 7, 56),
      icmp(2.001, B, A, 0, 0, 7, 56),
      udp(3, A, 6000, B, 6001, 1472, { ip_id: 42, more_fragments: true, length: 1514 }),
      {
        ...udp(3.001, A, 6000, B, 6001, 100),
        src_port: null,
        dst_port: null,
        ip_id: 42,
        frag_offset: 1480,
        is_fragment: true,
      },
      udp(4, A, 1000, B, 2000, 10, { vlan_id: 10 }),
      udp(4.1, B, 2000, A, 1000, 10, { vlan_id: 10 }),
    ]);
  const flows = runAll(interleave(stream("left"), stream("right")));
  const byAgent = Map.groupBy(flows, (f) => f.agent);
  assert.deepEqual([...byAgent.keys()].sort(), ["left", "right"]);
  for (const [agent, own] of byAgent) {
    assert.equal(own.length, 4, `${agent}: ${own.length} flows`);
    for (const flow of own) {
      assert.equal(
        flow.orig_packets,
        1 + (flow.resp_packets === 0 ? 1 : 0),
        `${agent} ${flow.flow_uid}`,
      );
    }
  }
  assert.equal(new Set(flows.map((f) => f.flow_uid)).size, flows.length);
});

Deno.test("FlowTable charges an ICMP unreachable only to the flow of the same agent", () => {
  const flows = runAll([
    ...asAgent("one", [udp(1, A, 5000, B, 9, 12)]),
    ...asAgent("two", [udp(1.1, A, 5000, B, 9, 12), icmp(1.2, B, A, 3, 3, null, 36)]),
  ]);
  const udpFlows = flows.filter((f) => f.protocol === "UDP");
  assert.equal(udpFlows.length, 2);
  assert.deepEqual(
    udpFlows.map((f) => [f.agent, f.rejected]).sort(),
    [["one", false], ["two", true]],
  );
});

/** Tenant traffic with the same inner addresses, delivered in VXLAN under `vni`. */
function vxlanTenant(vni: number, t0: number): PacketRecord[] {
  const frames = [
    { t: 0, src: A, dst: B, sp: 40000, dp: 443, flags: SYN },
    { t: 0.01, src: B, dst: A, sp: 443, dp: 40000, flags: SYN | ACK },
    { t: 0.02, src: A, dst: B, sp: 40000, dp: 443, flags: ACK },
  ];
  return frames.map((f) => {
    const inner = encodePacket({
      ip: { version: 4, src: f.src, dst: f.dst },
      transport: { protocol: "tcp", srcPort: f.sp, dstPort: f.dp, flags: f.flags },
    });
    // The VTEPs swap places with the direction, as they do on the wire.
    const outer = f.src === A
      ? { version: 4 as const, src: "192.0.2.1", dst: "192.0.2.2" }
      : { version: 4 as const, src: "192.0.2.2", dst: "192.0.2.1" };
    const record = decode(overUdp(4789, concatBytes([vxlanHeader({ vni }), inner]), outer));
    return { ...record, timestamp: t0 + f.t };
  });
}

Deno.test("FlowTable keeps two VXLAN tenants' overlapping addresses apart by VNI", () => {
  const tenant1 = vxlanTenant(100, 0);
  const tenant2 = vxlanTenant(200, 0.001);
  assert.equal(tenant1[0].tunnel_type, "vxlan");
  assert.equal(tenant1[0].src_ip, A);
  const flows = runAll(interleave(asAgent("mirror", tenant1), asAgent("mirror", tenant2)));
  assert.equal(flows.length, 2);
  assert.deepEqual(flows.map((f) => [f.tunnel_type, f.tunnel_id]), [["vxlan", 100], [
    "vxlan",
    200,
  ]]);
  for (const flow of flows) {
    assert.equal(flow.orig_packets, 2);
    assert.equal(flow.resp_packets, 1);
    assert.equal(flow.conn_state, "S1");
    assert.equal(flow.agent, "mirror");
  }
});

Deno.test("FlowTable keys GRE by its key, but MPLS labels key nothing", () => {
  const inner = (src: string, dst: string, sp: number, dp: number, flags: number) =>
    encodePacket({
      link: "raw",
      ip: { version: 4, src, dst },
      transport: { protocol: "tcp", srcPort: sp, dstPort: dp, flags },
    });
  const gre = (key: number, t: number, flags: number, up: boolean) => ({
    ...decode(
      overIp(
        47,
        grePacket(
          { protocolType: 0x0800, key },
          up ? inner(A, B, 40000, 22, flags) : inner(B, A, 22, 40000, flags),
        ),
      ),
    ),
    timestamp: t,
  });
  const greFlows = runAll([
    gre(7, 0, SYN, true),
    gre(8, 0.001, SYN, true),
    gre(7, 0.01, SYN | ACK, false),
    gre(8, 0.011, SYN | ACK, false),
  ]);
  assert.deepEqual(
    greFlows.map((f) => [f.tunnel_type, f.tunnel_id, f.orig_packets, f.resp_packets]),
    [["gre", 7, 1, 1], ["gre", 8, 1, 1]],
  );

  // One direction labelled, the reply not (as in e_mpls.pcap): one flow.
  const labelled = decode(
    encodePacket({
      etherType: 0x8847,
      payload: concatBytes([
        mplsLabelStack([{ label: 29 }]),
        inner(A, B, 40000, 23, SYN),
      ]),
    }),
  );
  assert.equal(labelled.tunnel_type, "mpls");
  assert.equal(labelled.src_ip, A);
  const mplsFlows = runAll([
    { ...labelled, timestamp: 0 },
    tcp(0.01, B, 23, A, 40000, SYN | ACK, { seq: 1, ack: 1 }),
  ]);
  assert.equal(mplsFlows.length, 1);
  assert.equal(mplsFlows[0].orig_packets, 1);
  assert.equal(mplsFlows[0].resp_packets, 1);
  assert.equal(mplsFlows[0].tunnel_type, null);
});

Deno.test("FlowTable state with agents restores at every packet to the flows of an uninterrupted run", () => {
  const packets = interleave(
    asAgent("sensor-1", connection()),
    asAgent("sensor-2", connection(0.005)),
    asAgent("sensor-1", [udp(0.5, A, 5353, B, 53, 30), icmp(0.6, B, A, 3, 3, null, 36)]),
    vxlanTenant(5, 0.2).map((p) => ({ ...p, agent_id: "sensor-2" })),
  );
  const reference = runAll(packets);
  assert.equal(reference.length, 5);
  for (let split = 0; split <= packets.length; split++) {
    const first = new FlowTable();
    const ended = [...first.merge(packets.slice(0, split)).ended];
    const second = FlowTable.fromJSON(JSON.parse(JSON.stringify(first.toJSON())));
    ended.push(...second.merge(packets.slice(split)).ended, ...second.drain());
    assert.deepEqual(runAllSort(ended), reference, `split at ${split}`);
  }
});

function runAllSort(flows: FlowRecord[]): FlowRecord[] {
  return flows.sort((a, b) =>
    a.first_seen - b.first_seen || (a.agent ?? "").localeCompare(b.agent ?? "") ||
    (a.flow_uid < b.flow_uid ? -1 : 1)
  );
}

Deno.test("FlowTable restores state saved before flows had agents, and their flows still end", () => {
  const table = new FlowTable();
  table.merge(connection().slice(0, 5));
  table.merge([udp(0.05, A, 5353, B, 53, 30)]);
  const saved = JSON.parse(JSON.stringify(table.toJSON())) as FlowTableState;
  // What a table of the previous release saved: no scope fields at all.
  for (const flow of [...saved.flows, ...saved.pending]) {
    delete flow.agent;
    delete flow.tunnelType;
    delete flow.tunnelId;
  }
  const restored = FlowTable.fromJSON(saved);
  assert.equal(restored.size, 2);
  // Unscoped packets continue the old flows; an agent's packets start their own.
  const rest = connection().slice(5);
  restored.merge([...rest.slice(0, 2), ...asAgent("sensor-1", rest.slice(2))]);
  const flows = restored.drain().sort((a, b) => (a.agent ?? "").localeCompare(b.agent ?? ""));
  const tcpFlows = flows.filter((f) => f.protocol === "TCP");
  assert.deepEqual(tcpFlows.map((f) => [f.agent, f.orig_packets + f.resp_packets]), [
    [null, 7],
    ["sensor-1", 3],
  ]);
  assert.ok(flows.some((f) => f.protocol === "UDP" && f.agent === null));
});
