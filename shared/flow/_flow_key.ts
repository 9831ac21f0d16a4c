/**
 * Flow keys: what a packet's flow is keyed on (see the module doc of
 * `flow_table.ts`), read once per packet into a reusable {@linkcode PacketKey},
 * and the key string built from it only when the tuple index cannot find the
 * flow without one.
 *
 * @module
 */

import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type PacketRecord,
  type TunnelType,
} from "../packet/packet_record.ts";
import type { Flow } from "./_flow.ts";
import { icmpCounterpart } from "./_icmp_ports.ts";

/**
 * A packet as the table takes it: a {@linkcode PacketRecord}, and the agent
 * that captured it (the sending agent of its batch, `raw_packets.agent_id`).
 */
export interface FlowPacket extends PacketRecord {
  /** The capturing agent; flows of different agents never merge. Absent or null: none. */
  agent_id?: string | null;
}

// Index kinds: how a flow's key is made of its endpoint fields.
/** Not indexed. */
export const INDEX_NONE = 0;
/** `|proto|a|aPort|b|bPort` (TCP, UDP, SCTP). */
export const INDEX_TUPLE = 1;
/** `|proto|id|a|type|b|counterpart`: ICMP request/reply types. */
export const INDEX_ICMP = 2;
/** `|proto>src|type|dst|code`: one-way ICMP types, keyed by direction. */
export const INDEX_ICMP_ONE_WAY = 3;

// Key shapes: how `packetKeyString` lays the key out.
/** `scope|label|low|lowPort|high|highPort`, the endpoints in canonical order. */
const SHAPE_CANONICAL = 0;
/** `scope|proto>src|srcPort|dst|dstPort`: one-way ICMP, by direction. */
const SHAPE_ONE_WAY = 1;

/**
 * What a packet's flow is keyed on, filled by {@linkcode readPacketKey}. One
 * object serves every packet of a table, so reading a key allocates nothing.
 */
export class PacketKey {
  /** Source endpoint: IP address, or MAC for L2 flows. */
  src: string | null = null;
  /** Destination endpoint. */
  dst: string | null = null;
  /** Source port; ICMP: the type (Zeek's convention); null when port-less. */
  srcPort: number | null = null;
  /** Destination port; ICMP: the counterpart type, or the code for one-way types. */
  dstPort: number | null = null;
  /** A one-way ICMP type (errors and the like): keyed by direction. */
  oneWay = false;
  /**
   * Fragment map key (`vlans|proto|src|dst|ip id`): where a first fragment's
   * flow is recorded, or (`laterFragment`) where a later one looks it up.
   */
  fragmentKey: string | null = null;
  /**
   * A non-first fragment: the flow of its first fragment (fragment map), else
   * the address pair of its protocol. Its ports are unknown until then.
   */
  laterFragment = false;
  /**
   * The index kind of the key when the tuple index may find its flow (no
   * VLAN, no fragment, ports or ICMP ports known); else `INDEX_NONE`.
   */
  indexKind = INDEX_NONE;
  /** The protocol part of the key (IP protocol, `proto|echo id`, `L2:type`, ...). */
  label: string | number = "";
  /** How the key string is laid out. */
  shape = SHAPE_CANONICAL;
}

/**
 * Reads the key of a packet's flow into `k`. False: nothing to key (no
 * addresses at all). A later fragment (`k.laterFragment`) is keyed by the
 * table: with its first fragment's flow, else {@linkcode addressPairKey}.
 */
export function readPacketKey(p: FlowPacket, k: PacketKey): boolean {
  k.fragmentKey = null;
  k.laterFragment = false;
  k.oneWay = false;
  k.indexKind = INDEX_NONE;
  k.shape = SHAPE_CANONICAL;
  const src = p.src_ip;
  const dst = p.dst_ip;
  const proto = p.ip_proto;
  if (src === null || dst === null) {
    // L2: MAC pair + EtherType.
    k.src = p.eth_src;
    k.dst = p.eth_dst;
    k.srcPort = null;
    k.dstPort = null;
    k.label = `L2:${p.ether_type ?? p.protocol}`;
    return k.src !== null && k.dst !== null;
  }
  k.src = src;
  k.dst = dst;
  k.srcPort = null;
  k.dstPort = null;
  if (proto === null) {
    // ARP (or another non-IP protocol that names addresses).
    k.label = p.protocol;
    return true;
  }
  k.label = proto;
  if (p.is_fragment) {
    k.laterFragment = true;
    k.fragmentKey = fragmentKeyOf(p, proto, src, dst);
    return true;
  }
  const plain = !p.more_fragments && p.vlan_id === null && p.vlan_inner_id === null;
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP) {
    if (p.src_port === null || p.dst_port === null) return true;
    k.srcPort = p.src_port;
    k.dstPort = p.dst_port;
    if (plain) k.indexKind = INDEX_TUPLE;
  } else if ((proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) && p.icmp_type !== null) {
    const counterpart = icmpCounterpart(proto, p.icmp_type);
    k.srcPort = p.icmp_type;
    if (counterpart < 0) {
      k.dstPort = p.icmp_code ?? 0;
      k.oneWay = true;
      k.shape = SHAPE_ONE_WAY;
      if (plain) k.indexKind = INDEX_ICMP_ONE_WAY;
    } else {
      k.dstPort = counterpart;
      k.label = `${proto}|${p.icmp_id ?? ""}`;
      if (plain) k.indexKind = INDEX_ICMP;
    }
  }
  if (p.more_fragments && (p.frag_offset ?? 0) === 0) {
    k.fragmentKey = fragmentKeyOf(p, proto, src, dst);
  }
  return true;
}

/** The key string of what {@linkcode readPacketKey} read (not for a later fragment). */
export function packetKeyString(p: FlowPacket, k: PacketKey): string {
  const scope = packetScope(p);
  if (k.shape === SHAPE_ONE_WAY) {
    return `${scope}|${p.ip_proto}>${k.src}|${k.srcPort}|${k.dst}|${k.dstPort}`;
  }
  return canonicalKey(scope, k.label, k.src!, k.srcPort, k.dst!, k.dstPort);
}

/** The key of a packet's address pair under its IP protocol: a later fragment without its first. */
export function addressPairKey(p: FlowPacket, k: PacketKey): string {
  return canonicalKey(packetScope(p), k.label, k.src!, null, k.dst!, null);
}

function fragmentKeyOf(p: FlowPacket, proto: number, src: string, dst: string): string {
  return `${packetScope(p)}|${proto}|${src}|${dst}|${p.ip_id}`;
}

/**
 * Tunnel types whose id names a network that both directions share. The pcap
 * export matches a flow's packets with the same list (shared/db/flow_packets.ts).
 */
const KEYED_TUNNEL_TYPES: ReadonlySet<string> = new Set<TunnelType>([
  "vxlan",
  "geneve",
  "gre",
  "erspan",
  "pppoe",
]);

/** The tunnel type a packet's flow is keyed on (see the module doc), or null. */
export function keyedTunnelType(type: TunnelType | null | undefined): TunnelType | null {
  return type != null && KEYED_TUNNEL_TYPES.has(type) ? type : null;
}

/**
 * The start of every key in a scope: `vlans` alone for packets without an
 * agent or a keyed tunnel (the keys of tables before scopes existed), else
 * the length-prefixed agent (agent ids may hold any printable character),
 * the tunnel and the VLANs, unambiguously.
 */
export function keyScope(
  agent: string | null,
  tunnelType: TunnelType | null,
  tunnelId: number | null,
  vlans: string,
): string {
  if (agent === null && tunnelType === null) return vlans;
  const who = agent === null ? "-" : `${agent.length}:${agent}`;
  return `${who}/${tunnelType ?? ""}:${tunnelType === null ? "" : tunnelId ?? ""}/${vlans}`;
}

/** {@linkcode keyScope} of a packet, VLANs included. */
export function packetScope(p: FlowPacket): string {
  const tunnelType = keyedTunnelType(p.tunnel_type);
  return keyScope(
    p.agent_id ?? null,
    tunnelType,
    tunnelType === null ? null : p.tunnel_id ?? null,
    p.vlan_id === null && p.vlan_inner_id === null
      ? ""
      : `${p.vlan_id ?? ""}.${p.vlan_inner_id ?? ""}`,
  );
}

/** The host-pair map's key of an address pair in a scope (without VLANs). */
export function scopedPair(scope: string, orig: string, resp: string): string {
  return scope === "" ? `${orig}|${resp}` : `${scope}|${orig}|${resp}`;
}

/**
 * FNV-1a over the length and the last 8 UTF-16 code units of `text`: the
 * index only needs buckets (a hit is checked field by field), and addresses
 * of one network differ in their last characters, so hashing the whole
 * address on every packet bought nothing.
 */
function stringHash(text: string): number {
  const length = text.length;
  let h = Math.imul(0x811c9dc5 ^ length, 0x01000193);
  for (let i = length > 8 ? length - 8 : 0; i < length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h;
}

/**
 * Index bucket of a port tuple: the same for both directions, a small
 * non-negative integer (a Smi), so the index map never hashes a string.
 */
export function tupleHash(
  a: string,
  aPort: number,
  b: string,
  bPort: number,
  proto: number,
): number {
  const ha = Math.imul(stringHash(a) ^ aPort, 0x9e3779b1);
  const hb = Math.imul(stringHash(b) ^ bPort, 0x9e3779b1);
  let h = ((ha + hb) | 0) ^ Math.imul(proto, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & 0x3fffffff;
}

/** True when endpoint `a` comes first in a canonical key (see {@linkcode canonicalKey}). */
export function endpointAFirst(
  a: string,
  aPort: number | null,
  b: string,
  bPort: number | null,
): boolean {
  return a < b || (a === b && (aPort ?? 0) <= (bPort ?? 0));
}

/** `vlans|protocol|lowEndpoint|lowPort|highEndpoint|highPort`, built in one go. */
export function canonicalKey(
  vlans: string,
  protocol: string | number,
  a: string,
  aPort: number | null,
  b: string,
  bPort: number | null,
): string {
  if (endpointAFirst(a, aPort, b, bPort)) {
    return `${vlans}|${protocol}|${a}|${aPort ?? ""}|${b}|${bPort ?? ""}`;
  }
  return `${vlans}|${protocol}|${b}|${bPort ?? ""}|${a}|${aPort ?? ""}`;
}

/**
 * The packet whose key is `k` was sent by the flow's originator: its
 * source endpoint is the originator's, or, for a flow without addresses,
 * its source MAC.
 */
export function isFromOrig(k: PacketKey, flow: Flow): boolean {
  return k.src === flow.origIp && k.srcPort === flow.origPort
    ? true
    : (flow.origIp === null && k.src === flow.origMac);
}
