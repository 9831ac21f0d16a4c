/**
 * Test support: what every decoded record must satisfy, whatever bytes it
 * came from.
 *
 * @module
 */

import assert from "node:assert/strict";
import { MAX_TUNNEL_DEPTH, type PacketRecord, TUNNEL_TYPES } from "./packet_record.ts";
import { parseIpv4, parseIpv6 } from "./packet_encoder.ts";
import { PACKET_FIELDS } from "./packet_schema.ts";

/**
 * Every field of a record, for checking that none is missing or extra: the
 * table's schema. decodePacket() is stateless, so its app-layer fields (the
 * agent's) are always null.
 */
export const RECORD_KEYS: readonly string[] = PACKET_FIELDS.map((field) => field.name);

export function base64Bytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function inRange(value: number | null, max: number): boolean {
  return value === null || (Number.isInteger(value) && value >= 0 && value <= max);
}

/** What must hold for any record of any frame, however damaged. */
export function assertWellFormed(
  record: PacketRecord,
  frame: Uint8Array,
  wireLength: number,
  linkType: number,
): void {
  assert.deepEqual(Object.keys(record).sort(), [...RECORD_KEYS].sort());
  for (const key of RECORD_KEYS) {
    assert.notEqual(record[key as keyof PacketRecord], undefined, key);
  }
  assert.equal(record.caplen, frame.length);
  assert.equal(record.length, Math.max(wireLength, frame.length));
  assert.equal(record.link_type, linkType);
  assert.equal(record.malformed, record.malformed_reason !== null);
  assert.ok(typeof record.protocol === "string" && record.protocol.length > 0);
  assert.ok(inRange(record.payload_length, 0x7fffffff));
  for (const key of ["src_port", "dst_port", "tcp_window", "ip_id", "icmp_id", "icmp_seq"]) {
    const max = key === "ip_id" ? 0xffffffff : 0xffff;
    assert.ok(inRange(record[key as keyof PacketRecord] as number | null, max), key);
  }
  for (const key of ["ttl", "ip_tos", "tcp_flags", "icmp_type", "icmp_code", "ip_proto"]) {
    assert.ok(inRange(record[key as keyof PacketRecord] as number | null, 255), key);
  }
  assert.ok(inRange(record.tcp_seq, 0xffffffff) && inRange(record.tcp_ack, 0xffffffff));
  assert.ok(inRange(record.vlan_id, 4095) && inRange(record.vlan_inner_id, 4095));
  assert.ok(record.ip_version === null || record.ip_version === 4 || record.ip_version === 6);
  for (const address of [record.src_ip, record.dst_ip]) {
    if (address === null) continue;
    if (address.includes(":")) assert.equal(parseIpv6(address).length, 16);
    else assert.equal(parseIpv4(address).length, 4);
  }
  assert.ok(record.tunnel_type === null || TUNNEL_TYPES.includes(record.tunnel_type));
  assert.equal(record.tunnel_type === null, record.tunnel_depth === 0);
  assert.ok(inRange(record.tunnel_depth, MAX_TUNNEL_DEPTH));
  assert.ok(inRange(record.tunnel_id, 0xffffffff));
  if (record.tunnel_type === null) {
    assert.deepEqual([record.tunnel_id, record.tunnel_src_ip, record.tunnel_dst_ip], [
      null,
      null,
      null,
    ]);
  }
  for (const address of [record.tunnel_src_ip, record.tunnel_dst_ip]) {
    if (address === null) continue;
    if (address.includes(":")) assert.equal(parseIpv6(address).length, 16);
    else assert.equal(parseIpv4(address).length, 4);
  }
  if (record.data !== null) {
    const kept = base64Bytes(record.data);
    assert.ok(kept.length <= frame.length);
    assert.deepEqual(kept, frame.subarray(0, kept.length));
  }
}
