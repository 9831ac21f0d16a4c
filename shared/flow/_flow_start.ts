/**
 * A new flow's fields from its first packet: scope, roles (or those of the
 * flow it continues past the active timeout), ICMP fields, Community ID
 * (reused from the flow before it on the same key when its inputs are the
 * same) and uid.
 *
 * @module
 */

import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP } from "../packet/packet_record.ts";
import { flowCommunityId } from "./community_id.ts";
import type { Flow } from "./_flow.ts";
import { type FlowPacket, keyedTunnelType, keyScope, type PacketKey } from "./_flow_key.ts";
import { flowUid, keyHashOfLanes, type TupleKey } from "./_flow_uid.ts";
import { REJECTED } from "./_tcp_state.ts";

/**
 * Fills a flow just made or reset (`Flow.init`) under `key` from packet `p`
 * at time `ts`, whose key was read into `k`. `previous` is the flow that
 * ended on the same key for this packet, if any (same uid suffix sequence
 * and Community ID inputs); `continueFrom` is that flow when it ended by
 * the active timeout, whose roles and TCP state the new flow keeps.
 */
export function startFlow(
  flow: Flow,
  key: string | null,
  p: FlowPacket,
  k: PacketKey,
  ts: number,
  previous: Flow | undefined,
  continueFrom: Flow | undefined,
  communityIdSeed: number,
): void {
  flow.iface = p.interface;
  // The key's scope (same key, same values).
  flow.agent = p.agent_id ?? null;
  flow.tunnelType = keyedTunnelType(p.tunnel_type);
  flow.tunnelId = flow.tunnelType === null ? null : p.tunnel_id ?? null;
  flow.protocol = p.protocol;
  flow.ipProto = p.ip_proto;
  flow.ipVersion = p.ip_version;
  flow.vlanId = p.vlan_id;
  flow.vlanInnerId = p.vlan_inner_id;
  flow.isTcp = p.ip_proto === IPPROTO_TCP;
  flow.firstSeen = ts;
  flow.lastSeen = ts;
  const isIp = p.src_ip !== null && p.dst_ip !== null;
  if (continueFrom !== undefined) {
    // Same conversation past the active timeout: keep roles and TCP state.
    flow.origIp = continueFrom.origIp;
    flow.origPort = continueFrom.origPort;
    flow.origMac = continueFrom.origMac;
    flow.respIp = continueFrom.respIp;
    flow.respPort = continueFrom.respPort;
    flow.respMac = continueFrom.respMac;
    flow.bits = continueFrom.bits & ~REJECTED;
    flow.origIsn = continueFrom.origIsn;
    flow.origFinEnd = continueFrom.origFinEnd;
    flow.respFinEnd = continueFrom.respFinEnd;
    flow.continuation = true;
  } else if (isIp) {
    flow.origIp = k.src;
    flow.origPort = k.srcPort;
    flow.respIp = k.dst;
    flow.respPort = k.dstPort;
    flow.origMac = p.eth_src;
    flow.respMac = p.eth_dst;
  } else {
    flow.origMac = p.eth_src;
    flow.respMac = p.eth_dst;
  }
  if (p.icmp_type !== null && (p.ip_proto === IPPROTO_ICMP || p.ip_proto === IPPROTO_ICMPV6)) {
    flow.icmpType = p.icmp_type;
    flow.icmpCode = p.icmp_code;
    flow.icmpId = p.icmp_id;
  }
  if (isIp && p.ip_proto !== null) {
    const icmp = p.ip_proto === IPPROTO_ICMP || p.ip_proto === IPPROTO_ICMPV6;
    const src = p.src_ip!;
    const dst = p.dst_ip!;
    const srcPort = icmp ? p.icmp_type : (p.is_fragment ? null : p.src_port);
    const dstPort = icmp ? p.icmp_code : (p.is_fragment ? null : p.dst_port);
    flow.cidSrc = src;
    flow.cidDst = dst;
    flow.cidSrcPort = srcPort;
    flow.cidDstPort = dstPort;
    // Same key, so same protocol and seed: the same inputs give the same ID.
    // Outside ICMP the ID ignores direction, so reversed inputs do too.
    if (
      previous !== undefined && previous.cidSrc !== null &&
      ((previous.cidSrc === src && previous.cidDst === dst &&
        previous.cidSrcPort === srcPort && previous.cidDstPort === dstPort) ||
        (!icmp && previous.cidSrc === dst && previous.cidDst === src &&
          previous.cidSrcPort === dstPort && previous.cidDstPort === srcPort))
    ) {
      flow.communityId = previous.communityId;
    } else {
      flow.communityId = flowCommunityId(
        src,
        dst,
        p.ip_proto,
        srcPort,
        dstPort,
        communityIdSeed,
      );
    }
  }
  flow.uidSuffix = previous !== undefined && previous.firstSeen === ts ? previous.uidSuffix + 1 : 0;
  flow.uid = flowUid(flow, previous, key === null ? tupleKeyOf(flow) : null);
  flow.keyHash = keyHashOfLanes(flow);
}

/** Reused by {@linkcode tupleKeyOf}: `flowUid` reads it and keeps nothing. */
const scratchTuple: TupleKey = { scope: "", proto: 0, a: "", aPort: 0, b: "", bPort: 0 };

/** The parts of a tuple-indexed flow's key (see `Flow.key`), in a shared scratch object. */
function tupleKeyOf(flow: Flow): TupleKey {
  const tuple = scratchTuple;
  tuple.scope = keyScope(flow.agent, flow.tunnelType, flow.tunnelId, "");
  tuple.proto = flow.ipProto!;
  tuple.a = flow.origIp!;
  tuple.aPort = flow.origPort!;
  tuple.b = flow.respIp!;
  tuple.bPort = flow.respPort!;
  return tuple;
}
