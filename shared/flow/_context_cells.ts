/**
 * Layout of the context windows' count cells, shared by the tracker that
 * keeps them (`context_features.ts`) and the per-flow counts taken from them
 * (`flow_context_counts.ts`): each address (as originator and as responder
 * host) and each service (responder address, protocol and port) has a row of
 * `Int32Array` cells at its id times `A_FIELDS` / `S_FIELDS`; the pairs the
 * distinct counts need keep theirs in a {@linkcode PairCounts} each.
 *
 * @module
 */
import { PairIds } from "./_pair_ids.ts";

// Address fields, short (`*_S*`) and long window, originator side then responder side.
export const A_O_SN = 0;
export const A_O_LN = 1;
export const A_O_SANSWERED = 2;
export const A_O_LANSWERED = 3;
export const A_O_SREJECTED = 4;
export const A_O_LREJECTED = 5;
/** Distinct responder addresses (pairs with a short / long entry). */
export const A_O_SHOSTS = 6;
export const A_O_LHOSTS = 7;
/** Distinct responder port keys. */
export const A_O_SPORTS = 8;
export const A_O_LPORTS = 9;
export const A_H_SN = 10;
export const A_H_LN = 11;
export const A_H_SANSWERED = 12;
export const A_H_LANSWERED = 13;
export const A_H_SORIGS = 14;
export const A_H_LORIGS = 15;
/** Services with an entry in the short window. */
export const A_H_SPORTS = 16;
/** Services with an entry in the long window. */
export const A_H_LPORTS = 17;
/** Ints per address. */
export const A_FIELDS = 18;

/** Service fields. */
export const S_SN = 0;
export const S_LN = 1;
export const S_SSYN = 2;
export const S_LSYN = 3;
export const S_SSYN_ESTABLISHED = 4;
export const S_LSYN_ESTABLISHED = 5;
export const S_SORIGS = 6;
export const S_LORIGS = 7;
/** Ints per service. */
export const S_FIELDS = 8;

/** `array`'s values in an array of at least `length` (doubled). */
export function grown(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  let size = array.length * 2;
  while (size < length) size *= 2;
  const next = new Int32Array(size);
  next.set(array);
  return next;
}

/** Entries of one pair kind, short (2 id) and long (2 id + 1) window. */
export class PairCounts {
  readonly ids = new PairIds();
  counts = new Int32Array(512);

  /** The id of `(a, b)`, a new one with zero counts if not held. */
  intern(a: number, b: number): number {
    const id = this.ids.intern(a, b);
    if (2 * id + 1 >= this.counts.length) this.counts = grown(this.counts, 2 * id + 2);
    const counts = this.counts;
    if (counts[2 * id + 1] === 0) counts[2 * id] = 0;
    return id;
  }

  /** Counts one entry of `id` out of the long window; true when that was its last (the id is freed). */
  leave(id: number): boolean {
    if (--this.counts[2 * id + 1] !== 0) return false;
    this.ids.delete(id);
    return true;
  }
}
