/**
 * Which flow an ICMP destination-unreachable is about: the flow of the
 * datagram it quotes, or, without a quote, the latest non-TCP flow from the
 * error's receiver to its sender, which the flow table keeps per host pair
 * (`HostPairs`) for this lookup alone.
 *
 * @module
 */

import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from "../packet/packet_record.ts";
import type { Flow } from "./_flow.ts";
import {
  canonicalKey,
  type FlowPacket,
  INDEX_TUPLE,
  keyedTunnelType,
  keyScope,
  packetScope,
  scopedPair,
} from "./_flow_key.ts";
import type { FlowMap } from "./_flow_map.ts";
import type { HostPairs } from "./_host_pairs.ts";
import { readIcmpQuote } from "./_icmp_quote.ts";
import type { TupleIndex } from "./_tuple_index.ts";

/** ICMP type of a destination-unreachable. */
export const ICMP4_UNREACHABLE = 3;
/** ICMPv6 type of a destination-unreachable. */
export const ICMP6_UNREACHABLE = 1;

/**
 * The live flow (of `flows`, found through `index` when it can be) that the
 * ICMP destination-unreachable `p` is about, if any. The caller checks
 * that the flow has not expired.
 */
export function unreachableTarget(
  p: FlowPacket,
  index: TupleIndex,
  flows: FlowMap,
  hostPairs: HostPairs,
): Flow | undefined {
  const vlans = packetScope(p);
  const untagged = p.vlan_id === null && p.vlan_inner_id === null;
  let target: Flow | undefined;
  const quote = readIcmpQuote(p);
  if (quote !== null) {
    const ported = quote.srcPort !== null &&
      (quote.ipProto === IPPROTO_TCP || quote.ipProto === IPPROTO_UDP ||
        quote.ipProto === IPPROTO_SCTP);
    if (ported && untagged && quote.dstPort !== null) {
      target = index.find(
        quote.srcIp,
        quote.srcPort!,
        quote.dstIp,
        quote.dstPort,
        quote.ipProto,
        INDEX_TUPLE,
        null,
        p.agent_id ?? null,
        keyedTunnelType(p.tunnel_type),
        keyedTunnelType(p.tunnel_type) === null ? null : p.tunnel_id ?? null,
      );
    }
    if (target === undefined) {
      const key = ported
        ? canonicalKey(
          vlans,
          quote.ipProto,
          quote.srcIp,
          quote.srcPort,
          quote.dstIp,
          quote.dstPort,
        )
        : canonicalKey(vlans, quote.ipProto, quote.srcIp, null, quote.dstIp, null);
      target = flows.get(key);
    }
  } else if (p.dst_ip !== null && p.src_ip !== null) {
    // No quote: the latest non-TCP flow from the error's receiver to its sender.
    const scope = keyScope(
      p.agent_id ?? null,
      keyedTunnelType(p.tunnel_type),
      p.tunnel_id ?? null,
      "",
    );
    const key = hostPairs.keyOf(scopedPair(scope, p.dst_ip, p.src_ip));
    if (key !== undefined) target = flows.get(key);
    if (target !== undefined && (target.origIp !== p.dst_ip || target.respIp !== p.src_ip)) {
      target = undefined;
    }
  }
  return target;
}
