/**
 * What the FlowTable tests share: three hosts, a run of packets through a
 * table, a complete TCP connection and an ICMP unreachable frame quoting a
 * UDP header. Private to this folder.
 *
 * @module
 */
import {
  TCP_FLAG_ACK as ACK,
  TCP_FLAG_FIN as FIN,
  TCP_FLAG_PSH as PSH,
  TCP_FLAG_SYN as SYN,
} from "../packet/packet_record.ts";
import type { PacketRecord } from "../packet/packet_record.ts";
import { type FlowRecord, FlowTable, type FlowTableOptions } from "./flow_table.ts";
import { tcp } from "./_test_packets.ts";

/** The first host: the client of {@linkcode fullConnection}. */
export const A = "10.0.0.1";
/** The second host: the server of {@linkcode fullConnection}. */
export const B = "10.0.0.2";
/** A third host. */
export const C = "10.0.0.3";

/** Runs packets through a table and returns every flow, ended or not. */
export function runAll(packets: PacketRecord[], options: FlowTableOptions = {}): FlowRecord[] {
  const table = new FlowTable(options);
  const result = table.merge(packets);
  return [...result.ended, ...table.drain()].sort((a, b) =>
    a.first_seen - b.first_seen || (a.flow_uid < b.flow_uid ? -1 : 1)
  );
}

/** A complete connection A:40000 -> B:80 with 100 bytes up, 200 down, FIN/FIN teardown. */
export function fullConnection(t0 = 0, clientPort = 40000): PacketRecord[] {
  return [
    tcp(t0 + 0.00, A, clientPort, B, 80, SYN, { seq: 100, window: 64240, options: 20 }),
    tcp(t0 + 0.01, B, 80, A, clientPort, SYN | ACK, {
      seq: 300,
      ack: 101,
      window: 65160,
      options: 20,
    }),
    tcp(t0 + 0.02, A, clientPort, B, 80, ACK, { seq: 101, ack: 301, window: 502 }),
    tcp(t0 + 0.03, A, clientPort, B, 80, PSH | ACK, { seq: 101, ack: 301, payload: 100 }),
    tcp(t0 + 0.04, B, 80, A, clientPort, ACK, { seq: 301, ack: 201 }),
    tcp(t0 + 0.05, B, 80, A, clientPort, PSH | ACK, { seq: 301, ack: 201, payload: 200 }),
    tcp(t0 + 0.06, A, clientPort, B, 80, ACK, { seq: 201, ack: 501 }),
    tcp(t0 + 0.07, A, clientPort, B, 80, FIN | ACK, { seq: 201, ack: 501 }),
    tcp(t0 + 0.08, B, 80, A, clientPort, FIN | ACK, { seq: 501, ack: 202 }),
    tcp(t0 + 0.09, A, clientPort, B, 80, ACK, { seq: 202, ack: 502 }),
  ];
}

/** Ethernet + IPv4 + ICMP unreachable quoting an IPv4/UDP header, base64. */
export function unreachableFrame(
  from: string,
  to: string,
  quotedSrc: string,
  quotedDst: string,
  sport: number,
  dport: number,
): string {
  const ip = (s: string) => s.split(".").map(Number);
  const bytes = new Uint8Array(14 + 20 + 8 + 20 + 8);
  bytes.set([0x08, 0x00], 12);
  bytes.set([0x45, 0, 0, 56, 0, 0, 0, 0, 64, 1, 0, 0, ...ip(from), ...ip(to)], 14);
  bytes.set([3, 3, 0, 0, 0, 0, 0, 0], 34);
  bytes.set([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 17, 0, 0, ...ip(quotedSrc), ...ip(quotedDst)], 42);
  bytes.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 20, 0, 0], 62);
  return btoa(String.fromCharCode(...bytes));
}
