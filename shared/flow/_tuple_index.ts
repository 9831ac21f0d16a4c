/**
 * The flow table's tuple index: flows whose key is made of their endpoint
 * fields (TCP, UDP or SCTP with both ports and no VLAN; most ICMP), found
 * from a packet's endpoints without building and hashing the key string.
 *
 * @module
 */

import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from "../packet/packet_record.ts";
import type { Flow } from "./_flow.ts";
import { INDEX_ICMP, INDEX_ICMP_ONE_WAY, INDEX_NONE, INDEX_TUPLE, tupleHash } from "./_flow_key.ts";
import { SmiMap } from "./_smi_map.ts";

/**
 * Flows of a table's `FlowMap` whose key is made of their endpoint fields,
 * by {@linkcode tupleHash} of the endpoints, chained through
 * `Flow.indexNext`: a packet of such a flow finds it without building and
 * hashing the key string.
 */
export class TupleIndex {
  #buckets = new SmiMap<Flow>();

  /**
   * The indexed flow whose key a packet with these endpoints (Zeek's ports
   * for ICMP) would get, if any. A hit is exact: the flow is the one the
   * table's `FlowMap` holds under that key. A miss of `INDEX_TUPLE` proves
   * that no flow has the key (every TCP, UDP or SCTP flow keyed by its ports
   * and no VLAN is indexed, see {@linkcode TupleIndex.add}); any other miss
   * proves nothing (an ICMP flow is indexed only when made from a packet of
   * an indexed kind, and not when restored): the caller then looks the key
   * up. Flows of every scope (agent, keyed tunnel) share the buckets; only
   * one of the packet's scope is found.
   */
  find(
    src: string,
    srcPort: number,
    dst: string,
    dstPort: number,
    proto: number,
    kind: number,
    icmpId: number | null,
    agent: string | null,
    tunnelType: string | null,
    tunnelId: number | null,
  ): Flow | undefined {
    let flow = this.#buckets.get(tupleHash(src, srcPort, dst, dstPort, proto));
    while (flow !== undefined) {
      if (
        flow.indexKind === kind && flow.ipProto === proto &&
        ((flow.origPort === srcPort && flow.respPort === dstPort && flow.origIp === src &&
          flow.respIp === dst) ||
          (kind !== INDEX_ICMP_ONE_WAY && flow.origPort === dstPort &&
            flow.respPort === srcPort && flow.origIp === dst && flow.respIp === src)) &&
        (kind !== INDEX_ICMP || flow.indexIcmpId === icmpId) && flow.agent === agent &&
        flow.tunnelType === tunnelType && flow.tunnelId === tunnelId
      ) {
        return flow;
      }
      flow = flow.indexNext;
    }
    return undefined;
  }

  /**
   * Indexes a flow just put in the table's `FlowMap` when its key is known
   * to be made of its endpoint fields. A TCP, UDP or SCTP flow with both
   * ports and no VLAN always has such a key (roles flip, but the pair
   * stays). An ICMP flow is indexed when its key came from the ICMP branch
   * of the packet path (`icmpKind`, with the packet's echo id), or from the
   * flow it continues.
   */
  add(
    flow: Flow,
    continueFrom: Flow | undefined,
    icmpKind: number,
    icmpId: number | null,
  ): void {
    const proto = flow.ipProto;
    if (
      flow.origIp === null || flow.respIp === null || flow.origPort === null ||
      flow.respPort === null || flow.vlanId !== null || flow.vlanInnerId !== null
    ) {
      return;
    }
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP) {
      flow.indexKind = INDEX_TUPLE;
    } else if (continueFrom !== undefined) {
      if (continueFrom.indexKind === INDEX_NONE) return;
      flow.indexKind = continueFrom.indexKind;
      flow.indexIcmpId = continueFrom.indexIcmpId;
    } else if (icmpKind !== INDEX_NONE) {
      flow.indexKind = icmpKind;
      flow.indexIcmpId = icmpId;
    } else {
      return;
    }
    const hash = tupleHash(flow.origIp, flow.origPort, flow.respIp, flow.respPort, proto!);
    flow.indexHash = hash;
    flow.indexNext = this.#buckets.get(hash);
    this.#buckets.set(hash, flow);
  }

  /** Takes a flow just removed from the table's `FlowMap` out of the index. */
  remove(flow: Flow): void {
    const hash = flow.indexHash;
    if (hash < 0) return;
    flow.indexHash = -1;
    let head = this.#buckets.get(hash);
    if (head === flow) {
      if (flow.indexNext === undefined) this.#buckets.delete(hash);
      else this.#buckets.set(hash, flow.indexNext);
    } else {
      while (head !== undefined && head.indexNext !== flow) head = head.indexNext;
      if (head !== undefined) head.indexNext = flow.indexNext;
    }
    flow.indexNext = undefined;
  }
}
