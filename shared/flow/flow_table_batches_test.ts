/**
 * FlowTable gives the same flows however the packets reach it: split across
 * calls and restored from JSON at any packet, in batches of any size with
 * expire() between them, through mergeEnded() + takeChanged(), or out of time
 * order within a batch; and uids() tells which flows a call may have made.
 */
import assert from "node:assert/strict";
import {
  TCP_FLAG_ACK as ACK,
  TCP_FLAG_FIN as FIN,
  TCP_FLAG_RST as RST,
  TCP_FLAG_SYN as SYN,
} from "../packet/packet_record.ts";
import type { PacketRecord } from "../packet/packet_record.ts";
import { type FlowRecord, FlowTable, type FlowTableOptions } from "./flow_table.ts";
import { basePacket, icmp, tcp, udp } from "./_test_packets.ts";
import { A, B, C, fullConnection, runAll, unreachableFrame } from "./_test_flow_table.ts";

/** Deterministic mixed traffic: every case of `flow_table_test.ts`, interleaved, over ~400 s. */
function mixedTraffic(): PacketRecord[] {
  const packets: PacketRecord[] = [
    ...fullConnection(0),
    tcp(0.5, A, 40000, B, 80, ACK, { seq: 202, ack: 502 }),
    ...fullConnection(1.2),
    tcp(1.3, B, 80, A, 40010, ACK, { payload: 40 }),
    tcp(1.31, A, 40010, B, 80, SYN, { seq: 1 }),
    tcp(2, A, 40001, B, 81, SYN, { seq: 5 }),
    tcp(2.001, B, 81, A, 40001, RST | ACK, { ack: 6 }),
    udp(2.5, A, 5353, B, 53, 30),
    udp(2.51, B, 53, A, 5353, 90),
    icmp(3, A, B, 8, 0, 7, 56),
    icmp(3.001, B, A, 0, 0, 7, 56),
    udp(3.5, A, 5000, B, 9, 12),
    icmp(3.6, B, A, 3, 3, null, 36, { data: unreachableFrame(B, A, A, B, 5000, 9) }),
    udp(3.65, A, 5002, B, 10, 12),
    icmp(3.7, B, A, 3, 3, null, 36),
    udp(4, A, 6000, B, 6001, 1472, { ip_id: 42, more_fragments: true, length: 1514 }),
    basePacket({
      timestamp: 4.001,
      src_ip: A,
      dst_ip: B,
      protocol: "UDP",
      ip_proto: 17,
      ip_id: 42,
      frag_offset: 1480,
      is_fragment: true,
      payload_length: 100,
    }),
    udp(4.5, A, 1000, B, 2000, 10, { vlan_id: 10 }),
    udp(4.6, A, 1000, B, 2000, 10, { vlan_id: 20 }),
  ];
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let ts = 5;
  for (let i = 0; i < 120; i++) {
    ts += random() * 6;
    const port = 30000 + Math.floor(random() * 6);
    const kind = Math.floor(random() * 5);
    if (kind === 0) {
      packets.push(tcp(ts, C, port, B, 22, SYN, { seq: Math.floor(random() * 1000) }));
    } else if (kind === 1) packets.push(tcp(ts, B, 22, C, port, SYN | ACK, { ack: 1 }));
    else if (kind === 2) packets.push(tcp(ts, C, port, B, 22, FIN | ACK, { seq: 5, ack: 5 }));
    else if (kind === 3) packets.push(udp(ts, C, port, A, 53, Math.floor(random() * 100)));
    else packets.push(icmp(ts, C, A, 8, 0, port & 3, 8));
  }
  packets.push(udp(ts + 200, A, 1, B, 1, 1));
  return packets;
}

function sortFlows(flows: FlowRecord[]): FlowRecord[] {
  return [...flows].sort((
    a,
    b,
  ) => (a.flow_uid < b.flow_uid ? -1 : a.flow_uid > b.flow_uid ? 1 : 0));
}

Deno.test("FlowTable gives the same flows when split, serialized and restored at every packet", () => {
  const packets = mixedTraffic();
  const options: FlowTableOptions = { sweepIntervalSec: 1, activeTimeoutSec: 120 };
  const reference = sortFlows(runAll(packets, options));
  assert.ok(reference.length > 20, `only ${reference.length} flows`);
  assert.equal(new Set(reference.map((f) => f.flow_uid)).size, reference.length);
  for (let split = 0; split <= packets.length; split++) {
    const first = new FlowTable(options);
    const ended = [...first.merge(packets.slice(0, split)).ended];
    const saved = JSON.parse(JSON.stringify(first.toJSON()));
    const second = FlowTable.fromJSON(saved);
    ended.push(...second.merge(packets.slice(split)).ended, ...second.drain());
    assert.deepEqual(sortFlows(ended), reference, `split at ${split}`);
  }
});

Deno.test("FlowTable gives the same flows whatever the batch sizes and expire() calls", () => {
  const packets = mixedTraffic();
  const reference = sortFlows(runAll(packets));
  for (const batch of [1, 2, 7, 50]) {
    const table = new FlowTable();
    const ended: FlowRecord[] = [];
    for (let i = 0; i < packets.length; i += batch) {
      const slice = packets.slice(i, i + batch);
      ended.push(...table.merge(slice).ended);
      // The watermark may reach, but not pass, the next packet's time.
      const next = packets[i + batch]?.timestamp ?? slice[slice.length - 1].timestamp;
      ended.push(...table.expire(next));
    }
    ended.push(...table.drain());
    assert.deepEqual(sortFlows(ended), reference, `batch ${batch}`);
  }
});

Deno.test("FlowTable.uids() holds every flow reported before and no flow a later call creates", () => {
  const packets = mixedTraffic();
  for (const batch of [1, 3, 20]) {
    const table = new FlowTable({ sweepIntervalSec: 1 });
    const reported = new Set<string>();
    const open = new Set<string>();
    for (let i = 0; i < packets.length; i += batch) {
      const before = table.uids();
      // Every flow reported live and not yet reported ended is still held.
      for (const uid of open) assert.ok(before.has(uid), `batch ${batch}: ${uid} missing`);
      const { changed, ended } = table.merge(packets.slice(i, i + batch));
      for (const flow of [...changed, ...ended]) {
        // A flow not held before this call was created by it: never reported before.
        if (!before.has(flow.flow_uid)) {
          assert.ok(
            !reported.has(flow.flow_uid),
            `batch ${batch}: ${flow.flow_uid} reported before`,
          );
        }
        reported.add(flow.flow_uid);
      }
      for (const flow of changed) open.add(flow.flow_uid);
      for (const flow of ended) open.delete(flow.flow_uid);
    }
    assert.ok(reported.size > 20);
  }
});

Deno.test("FlowTable.mergeEnded() + takeChanged() report what merge() reports, each flow once", () => {
  const packets = mixedTraffic();
  for (const batch of [1, 4, 25]) {
    for (const reportEvery of [1, 3, 1000]) {
      const reference = new FlowTable({ sweepIntervalSec: 1 });
      const deferred = new FlowTable({ sweepIntervalSec: 1 });
      const latest = new Map<string, FlowRecord>();
      const reported: FlowRecord[] = [];
      for (let call = 0, i = 0; i < packets.length; call++, i += batch) {
        const slice = packets.slice(i, i + batch);
        const { changed, ended } = reference.merge(slice);
        for (const flow of changed) latest.set(flow.flow_uid, flow);
        for (const flow of ended) latest.delete(flow.flow_uid);
        assert.deepEqual(deferred.mergeEnded(slice), ended, `batch ${batch}, call ${call}`);
        if (call % reportEvery === reportEvery - 1) {
          reported.push(...deferred.takeChanged());
          // Whatever was reported is the latest state of a live flow, once.
          assert.deepEqual(sortFlows(reported), sortFlows([...latest.values()]));
          reported.length = 0;
          latest.clear();
        }
      }
      assert.deepEqual(sortFlows(deferred.takeChanged()), sortFlows([...latest.values()]));
    }
  }
});

Deno.test("FlowTable sorts a batch that is out of time order before merging", () => {
  const packets = fullConnection();
  const shuffled = [
    packets[3],
    packets[0],
    packets[9],
    packets[1],
    packets[2],
    packets[4],
    packets[8],
    packets[5],
    packets[6],
    packets[7],
  ];
  assert.deepEqual(runAll(shuffled), runAll(packets));
});
