/**
 * Zeek's mapping of ICMP/ICMPv6 type and code onto a port pair, shared by
 * Community ID and the flow table so that both agree on which ICMP messages
 * pair up into one bidirectional flow.
 *
 * @module
 */

import { IPPROTO_ICMP } from "../packet/packet_record.ts";

/** ICMPv4 request/reply type pairs (Zeek `ICMP4_counterpart`). */
const ICMP4_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [8, 0], // echo request -> echo reply
  [0, 8],
  [13, 14], // timestamp
  [14, 13],
  [15, 16], // information
  [16, 15],
  [10, 9], // router solicitation -> advertisement
  [9, 10],
  [17, 18], // address mask
  [18, 17],
]);

/** ICMPv6 request/reply type pairs (Zeek `ICMP6_counterpart`). */
const ICMP6_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [128, 129], // echo request -> echo reply
  [129, 128],
  [133, 134], // router solicitation -> advertisement
  [134, 133],
  [135, 136], // neighbor solicitation -> advertisement
  [136, 135],
  [130, 131], // MLD query -> report
  [131, 130],
  [139, 140], // node information query -> reply
  [140, 139],
  [144, 145], // home agent address discovery
  [145, 144],
]);

/**
 * The port equivalents of an ICMP message: `[type, counterpart, false]` for
 * request/reply types, which pair up with their reverse, and
 * `[type, code, true]` for one-way types such as errors, which never do.
 */
export function icmpPortEquivalents(
  ipProto: number,
  type: number,
  code: number,
): [srcPort: number, dstPort: number, oneWay: boolean] {
  const table = ipProto === IPPROTO_ICMP ? ICMP4_COUNTERPART : ICMP6_COUNTERPART;
  const counterpart = table.get(type);
  if (counterpart === undefined) return [type, code, true];
  return [type, counterpart, false];
}

/**
 * The counterpart type of a request/reply ICMP type, or -1 for one-way types:
 * {@linkcode icmpPortEquivalents} without the array, for the per-packet path.
 */
export function icmpCounterpart(ipProto: number, type: number): number {
  const table = ipProto === IPPROTO_ICMP ? ICMP4_COUNTERPART : ICMP6_COUNTERPART;
  return table.get(type) ?? -1;
}
