/**
 * The types at the edges of the context tracker (`context_features.ts`):
 * what it reads from a flow ({@linkcode ContextSubject}), the handle it gives
 * an admitted flow ({@linkcode ContextHandle}) and its saved state
 * ({@linkcode ContextTrackerState}).
 *
 * @module
 */
import type { ContextOptions } from "./context_options.ts";

/**
 * An admitted flow's place in a {@linkcode ContextTracker}, from
 * {@linkcode ContextTracker.admitHandle}.
 */
export interface ContextHandle {
  /** Brand: a handle is only made by the tracker. */
  readonly [contextHandleBrand]: true;
}
/** The brand that keeps a {@linkcode ContextHandle} from being made outside the tracker. */
export declare const contextHandleBrand: unique symbol;

/** What the tracker reads from a flow. */
export interface ContextSubject {
  /** Stable flow id. */
  uid: string;
  /** Flow start, epoch seconds. */
  first_seen: number;
  /** Originator address, or null for flows without IP/ARP addresses. */
  orig_ip: string | null;
  /** Responder address. */
  resp_ip: string | null;
  /** Protocol name, e.g. `TCP`. */
  protocol: string;
  /** Responder port (Zeek-style for ICMP), or null. */
  resp_port: number | null;
  /** The responder sent at least one packet. */
  answered: boolean;
  /** The flow was rejected (RST before anything else, or ICMP unreachable). */
  rejected: boolean;
  /** The originator sent a SYN. */
  syn: boolean;
  /** The TCP three-way handshake completed. */
  established: boolean;
}

/** Serialised {@linkcode ContextTracker}. */
export interface ContextTrackerState {
  /** Options in force. */
  options: Required<ContextOptions>;
  /** Start time of the most recently admitted flow; null before the first. */
  cursor: number | null;
  /** Sequence number of the first entry still in the short window. */
  shortHeadSeq: number;
  /** Sequence number the next entry gets. */
  nextSeq: number;
  /** Entries of the long window: [seq, uid, first_seen, orig, resp, protocol, resp port, outcome bits]. */
  entries: [number, string, number, string, string, string, number | null, number][];
}
