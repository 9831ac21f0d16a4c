/**
 * TCP connection state of a flow: the flow bits, the handshake, FIN and RST
 * state machine with Zeek's role flips, and Zeek's `conn_state`.
 *
 * @module
 */

import {
  type PacketRecord,
  TCP_FLAG_ACK,
  TCP_FLAG_FIN,
  TCP_FLAG_RST,
  TCP_FLAG_SYN,
} from "../packet/packet_record.ts";
import type { Flow } from "./_flow.ts";
import { isFromOrig, type PacketKey } from "./_flow_key.ts";

// Flow bits. ORIG_x/RESP_x pairs are swapped on a role flip.
/** The originator sent a SYN. */
export const ORIG_SYN = 1 << 0;
/** The responder sent a SYN. */
export const RESP_SYN = 1 << 1;
/** The originator sent a SYN-ACK. */
export const ORIG_SYNACK = 1 << 2;
/** The responder sent a SYN-ACK. */
export const RESP_SYNACK = 1 << 3;
/** The originator sent a FIN. */
export const ORIG_FIN = 1 << 4;
/** The responder sent a FIN. */
export const RESP_FIN = 1 << 5;
/** The originator's FIN was acknowledged. */
export const ORIG_FIN_ACKED = 1 << 6;
/** The responder's FIN was acknowledged. */
export const RESP_FIN_ACKED = 1 << 7;
/** The originator sent a RST. */
export const ORIG_RST = 1 << 8;
/** The responder sent a RST. */
export const RESP_RST = 1 << 9;
/** The originator sent a packet without RST. */
export const ORIG_NONRST = 1 << 10;
/** The responder sent a packet without RST. */
export const RESP_NONRST = 1 << 11;
/** The three-way handshake completed. */
export const ESTABLISHED = 1 << 12;
/** Rejected: RST from the responder before anything else, or ICMP unreachable. */
export const REJECTED = 1 << 13;
/** A SYN or SYN-ACK fixed the roles. */
export const ROLES_LOCKED = 1 << 14;
const PAIRED_BITS: [number, number][] = [
  [ORIG_SYN, RESP_SYN],
  [ORIG_SYNACK, RESP_SYNACK],
  [ORIG_FIN, RESP_FIN],
  [ORIG_FIN_ACKED, RESP_FIN_ACKED],
  [ORIG_RST, RESP_RST],
  [ORIG_NONRST, RESP_NONRST],
];

/** Both bits `a` and `b` are set. */
export function hasBoth(bits: number, a: number, b: number): boolean {
  return (bits & a) !== 0 && (bits & b) !== 0;
}

/** Serial-number comparison (RFC 1982) for 32-bit TCP sequence numbers. */
export function seqAtLeast(a: number, b: number): boolean {
  return ((a - b) >>> 0) < 0x80000000;
}

/** TCP state machine; returns the (possibly swapped) direction. */
export function updateTcp(flow: Flow, p: PacketRecord, flags: number, fromOrig: boolean): boolean {
  const syn = (flags & TCP_FLAG_SYN) !== 0;
  const ack = (flags & TCP_FLAG_ACK) !== 0;
  let bits = flow.bits;
  if (syn && !ack) {
    if (!fromOrig && (bits & ROLES_LOCKED) === 0) {
      flipRoles(flow);
      bits = flow.bits;
      fromOrig = true;
    }
    bits |= (fromOrig ? ORIG_SYN : RESP_SYN) | ROLES_LOCKED;
    if (fromOrig && flow.origIsn === null) flow.origIsn = p.tcp_seq;
  } else if (syn && ack) {
    if (fromOrig && (bits & ROLES_LOCKED) === 0) {
      flipRoles(flow);
      bits = flow.bits;
      fromOrig = false;
    }
    bits |= (fromOrig ? ORIG_SYNACK : RESP_SYNACK) | ROLES_LOCKED;
  } else if (
    ack && fromOrig && (bits & ORIG_SYN) !== 0 && (bits & RESP_SYNACK) !== 0
  ) {
    bits |= ESTABLISHED;
  }
  const seq = p.tcp_seq;
  if ((flags & TCP_FLAG_FIN) !== 0) {
    const end = seq === null ? -1 : (seq + p.payload_length + 1 + (syn ? 1 : 0)) >>> 0;
    if (fromOrig) {
      if ((bits & ORIG_FIN) === 0) flow.origFinEnd = end;
      bits |= ORIG_FIN;
    } else {
      if ((bits & RESP_FIN) === 0) flow.respFinEnd = end;
      bits |= RESP_FIN;
    }
  }
  if (ack) {
    const otherFin = fromOrig ? RESP_FIN : ORIG_FIN;
    const otherAcked = fromOrig ? RESP_FIN_ACKED : ORIG_FIN_ACKED;
    if ((bits & otherFin) !== 0 && (bits & otherAcked) === 0) {
      const finEnd = fromOrig ? flow.respFinEnd : flow.origFinEnd;
      if (finEnd < 0 || p.tcp_ack === null || seqAtLeast(p.tcp_ack, finEnd)) {
        bits |= otherAcked;
      }
    }
  }
  if ((flags & TCP_FLAG_RST) !== 0) {
    bits |= fromOrig ? ORIG_RST : RESP_RST;
    if (!fromOrig && (bits & RESP_NONRST) === 0) bits |= REJECTED;
    if (!flow.closed) {
      flow.closed = true;
      flow.closeReason = "rst";
    }
  } else {
    bits |= fromOrig ? ORIG_NONRST : RESP_NONRST;
  }
  flow.bits = bits;
  if (!flow.closed && hasBoth(bits, ORIG_FIN_ACKED, RESP_FIN_ACKED)) {
    flow.closed = true;
    flow.closeReason = "fin";
  }
  return fromOrig;
}

/** Swaps the originator and responder of a flow: endpoints, TCP state, statistics. */
export function flipRoles(flow: Flow): void {
  [flow.origIp, flow.respIp] = [flow.respIp, flow.origIp];
  [flow.origPort, flow.respPort] = [flow.respPort, flow.origPort];
  [flow.origMac, flow.respMac] = [flow.respMac, flow.origMac];
  [flow.origFinEnd, flow.respFinEnd] = [flow.respFinEnd, flow.origFinEnd];
  let bits = flow.bits;
  for (const [a, b] of PAIRED_BITS) {
    const hadA = (bits & a) !== 0;
    const hadB = (bits & b) !== 0;
    bits &= ~(a | b);
    if (hadA) bits |= b;
    if (hadB) bits |= a;
  }
  flow.bits = bits;
  flow.origIsn = null;
  flow.acc.swapDirections();
}

/** Zeek's conn_state, derived from the flow bits. */
export function connState(flow: Flow): string {
  const bits = flow.bits;
  const origPackets = flow.acc.packets(true);
  const respPackets = flow.acc.packets(false);
  if (!flow.isTcp) {
    if (origPackets > 0 && respPackets > 0) return "SF";
    return origPackets > 0 ? "S0" : "OTH";
  }
  const origSyn = (bits & ORIG_SYN) !== 0;
  const respSynAck = (bits & RESP_SYNACK) !== 0;
  const origFin = (bits & ORIG_FIN) !== 0;
  const respFin = (bits & RESP_FIN) !== 0;
  const origRst = (bits & ORIG_RST) !== 0;
  const respRst = (bits & RESP_RST) !== 0;
  if (origSyn && !respSynAck) {
    if (respRst) return "REJ";
    if (origRst) return "RSTOS0";
    if (origFin) return "SH";
    return "S0";
  }
  if (!origSyn && respSynAck) {
    if (respRst) return "RSTRH";
    if (respFin) return "SHR";
    return "OTH";
  }
  if (!origSyn && !respSynAck && !flow.continuation) return "OTH";
  if (origRst) return "RSTO";
  if (respRst) return "RSTR";
  if (origFin && respFin) return "SF";
  if (origFin) return "S2";
  if (respFin) return "S3";
  return "S1";
}

/**
 * True when a pure SYN on `flow`'s key (packet `p`, whose key is `k`)
 * starts a new connection: the flow closed, or both FINs were seen, or,
 * after the handshake, the SYN comes from the responder or with a fresh ISN.
 */
export function isReuse(flow: Flow, p: PacketRecord, k: PacketKey): boolean {
  if (!flow.isTcp) return false;
  if (flow.closed || hasBoth(flow.bits, ORIG_FIN, RESP_FIN)) return true;
  if ((flow.bits & ESTABLISHED) === 0) return false;
  // A SYN with a fresh ISN after the handshake: the old connection is gone.
  const fromOrig = isFromOrig(k, flow);
  return !fromOrig || (p.tcp_seq !== null && flow.origIsn !== null && p.tcp_seq !== flow.origIsn);
}
