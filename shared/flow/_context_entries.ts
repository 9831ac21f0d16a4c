/**
 * Layout of the context tracker's entries (`context_features.ts`): the
 * outcome bits an entry keeps and the fields of its row. The tracker takes
 * them as its own constants, which V8 folds (see `flow_features.ts`).
 *
 * The windows' counts sit in `Int32Array`s indexed by small integer ids
 * (their layout is in `_context_cells.ts`): an address (as originator and as
 * responder host) gets an id when it first enters the long window and gives
 * it back when it leaves; a service (responder address, protocol and port)
 * and each pair the distinct counts need (originator and responder,
 * originator and port, service and originator, responder and originator) get
 * ids from a {@linkcode PairIds}. An entry is a row of the tracker's entry
 * arrays, and its handle is its row's number. Per flow, this allocates
 * nothing on the JS heap (where the cells were objects with maps of their
 * own, and an entry an object that lived as long as its flow), and the
 * string-keyed lookups are the two of the flow's addresses.
 *
 * @module
 */
import type { ContextSubject } from "./_context_types.ts";

export const ANSWERED = 1;
export const REJECTED = 2;
export const SYN = 4;
export const SYN_ESTABLISHED = 8;

/** Entry row fields (besides its uid, seq and start time). */
export const E_BITS = 0;
export const E_ORIG = 1;
export const E_RESP = 2;
export const E_PORT_KEY = 3;
export const E_SERVICE = 4;
/** Pair ids: originator and responder, originator and port, service and originator, responder and originator. */
export const E_HOST = 5;
export const E_ORIG_PORT = 6;
export const E_SERVICE_ORIG = 7;
export const E_HOST_ORIG = 8;
/** Ints per entry. */
export const E_FIELDS = 9;

/** The outcome bits of `subject`, as an entry row keeps them. */
export function bitsOf(subject: ContextSubject): number {
  return (subject.answered ? ANSWERED : 0) | (subject.rejected ? REJECTED : 0) |
    (subject.syn ? SYN : 0) | (subject.syn && subject.established ? SYN_ESTABLISHED : 0);
}

/** Port slot for "no port" in a port key. */
export const NO_PORT = 65536;
