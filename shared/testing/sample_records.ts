/**
 * Realistic packet records for tests and benchmarks, built deterministically
 * from a seed: a mix of TCP conversations, DNS over UDP, ICMP echo and IPv6.
 *
 * @module
 */
import type { PacketRecord } from "../packet/packet_record.ts";
import { blankPacketRecord } from "./blank_packet_record.ts";
import { mulberry32 } from "../random/mulberry32.ts";

/** Options for {@link sampleRecords}. */
export interface SampleRecordsOptions {
  /** First packet time, epoch seconds. @default 1_764_000_000 */
  startSec?: number;
  /** Seed for the generator, so runs repeat. @default 1 */
  seed?: number;
  /** Attach base64 captured bytes of this many bytes (0 for none). @default 0 */
  dataBytes?: number;
}

const BASE = blankPacketRecord({ interface: "eth0", protocol: "TCP", ip_proto: 6 });

/** Builds `count` plausible packet records. */
export function sampleRecords(
  count: number,
  options: SampleRecordsOptions = {},
): PacketRecord[] {
  const random = mulberry32(options.seed ?? 1);
  let t = options.startSec ?? 1_764_000_000;
  const data = options.dataBytes
    ? btoa(
      String.fromCharCode(
        ...Array.from({ length: options.dataBytes }, (_, i) => i & 0xff),
      ),
    )
    : null;
  const records: PacketRecord[] = [];
  for (let i = 0; i < count; i++) {
    t += random() * 0.002;
    const host = 1 + Math.floor(random() * 50);
    const kind = random();
    const src = `10.0.0.${host}`;
    const sport = 32768 + Math.floor(random() * 28000);
    if (kind < 0.7) {
      const len = 66 + Math.floor(random() * 1400);
      records.push({
        ...BASE,
        timestamp: t,
        src_ip: src,
        dst_ip: "192.0.2.10",
        src_port: sport,
        dst_port: 443,
        length: len,
        caplen: len,
        ip_id: Math.floor(random() * 65536),
        tcp_seq: Math.floor(random() * 4294967295),
        tcp_ack: Math.floor(random() * 4294967295),
        tcp_flags: 0x18,
        tcp_window: 64240,
        tcp_header_length: 32,
        payload_length: len - 66,
        data,
      });
    } else if (kind < 0.9) {
      records.push({
        ...BASE,
        timestamp: t,
        protocol: "UDP",
        ip_proto: 17,
        src_ip: src,
        dst_ip: "192.0.2.53",
        src_port: sport,
        dst_port: 53,
        length: 84,
        caplen: 84,
        payload_length: 42,
        data,
      });
    } else if (kind < 0.95) {
      records.push({
        ...BASE,
        timestamp: t,
        protocol: "ICMP",
        ip_proto: 1,
        src_ip: src,
        dst_ip: "192.0.2.1",
        src_port: null,
        dst_port: null,
        length: 98,
        caplen: 98,
        icmp_type: 8,
        icmp_code: 0,
        icmp_id: host,
        icmp_seq: i & 0xffff,
        payload_length: 56,
        data,
      });
    } else {
      records.push({
        ...BASE,
        timestamp: t,
        ether_type: 0x86dd,
        ip_version: 6,
        ip_header_length: 40,
        ip_id: null,
        dont_fragment: false,
        ip_flow_label: Math.floor(random() * 0xfffff),
        src_ip: `2001:db8::${host.toString(16)}`,
        dst_ip: "2001:db8::80",
        src_port: sport,
        dst_port: 80,
        length: 86,
        caplen: 86,
        tcp_seq: 1000,
        tcp_ack: 0,
        tcp_flags: 0x02,
        tcp_window: 65535,
        tcp_header_length: 32,
        data,
      });
    }
  }
  return records;
}
