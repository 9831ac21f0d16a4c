/**
 * Flow assembly rate on synthetic traffic: `deno bench shared/flow/`.
 * The mix is TCP connections (handshake, data both ways, FIN teardown),
 * DNS-like UDP pairs and ICMP echo pairs, ~100k packets/s of packet time
 * over many hosts.
 *
 * @module
 */

import { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_PSH, TCP_FLAG_SYN } from "../packet/packet_record.ts";
import type { PacketRecord } from "../packet/packet_record.ts";
import { FlowTable } from "./flow_table.ts";
import { icmp, tcp, udp } from "./_test_packets.ts";

/**
 * Builds `count` synthetic packets, deterministic. TCP connections carry
 * 2..(1 + `maxExchanges`) request/response pairs.
 */
export function syntheticTraffic(count: number, maxExchanges = 7): PacketRecord[] {
  const packets: PacketRecord[] = [];
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let ts = 1_700_000_000;
  const step = () => (ts += 0.00001);
  let conn = 0;
  while (packets.length < count) {
    conn++;
    const client = `10.${(conn >> 8) & 255}.${conn & 255}.${1 + (conn % 200)}`;
    const server = `192.168.${conn % 16}.${1 + (conn % 50)}`;
    const port = 1024 + (conn % 60000);
    const kind = random();
    if (kind < 0.7) {
      const S = TCP_FLAG_SYN, A = TCP_FLAG_ACK, P = TCP_FLAG_PSH, F = TCP_FLAG_FIN;
      packets.push(tcp(step(), client, port, server, 443, S, { seq: 1, options: 20 }));
      packets.push(tcp(step(), server, 443, client, port, S | A, { seq: 1, ack: 2, options: 20 }));
      packets.push(tcp(step(), client, port, server, 443, A, { seq: 2, ack: 2 }));
      const exchanges = 2 + Math.floor(random() * maxExchanges);
      for (let i = 0; i < exchanges; i++) {
        packets.push(
          tcp(step(), client, port, server, 443, P | A, { seq: 2, ack: 2, payload: 200 }),
        );
        packets.push(
          tcp(step(), server, 443, client, port, P | A, { seq: 2, ack: 202, payload: 1400 }),
        );
      }
      packets.push(tcp(step(), client, port, server, 443, F | A, { seq: 500, ack: 900 }));
      packets.push(tcp(step(), server, 443, client, port, F | A, { seq: 900, ack: 501 }));
      packets.push(tcp(step(), client, port, server, 443, A, { seq: 501, ack: 901 }));
    } else if (kind < 0.95) {
      packets.push(udp(step(), client, port, "10.255.0.53", 53, 40));
      packets.push(udp(step(), "10.255.0.53", 53, client, port, 120));
    } else {
      packets.push(icmp(step(), client, server, 8, 0, conn & 0xffff, 56));
      packets.push(icmp(step(), server, client, 0, 0, conn & 0xffff, 56));
    }
  }
  packets.length = count;
  return packets;
}

const BATCH = 10_000;
const shortFlows = syntheticTraffic(200_000);
const longFlows = syntheticTraffic(200_000, 100);

Deno.bench("FlowTable.merge 200k packets, ~11 packets per flow, 10k batches", () => {
  const table = new FlowTable();
  for (let i = 0; i < shortFlows.length; i += BATCH) table.merge(shortFlows.slice(i, i + BATCH));
  table.drain();
});

Deno.bench("FlowTable.merge 200k packets, ~100 packets per flow, 10k batches", () => {
  const table = new FlowTable();
  for (let i = 0; i < longFlows.length; i += BATCH) table.merge(longFlows.slice(i, i + BATCH));
  table.drain();
});
