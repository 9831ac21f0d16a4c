/**
 * The flow table's flows by key, in insertion order, without hashing key
 * strings in V8.
 *
 * A `Map<string, Flow>` hashed each new flow's key string on insertion,
 * and a string's first hash cost about 0.5–1 µs of CPU time here (the key
 * is a fresh string every time): the single `set` was 7 % of flow assembly
 * in a CPU profile of the bench capture (one new flow per four packets).
 * The key's hash is already at hand: the uid hash lanes after the key
 * ({@linkcode keyHash}), which the flow computes anyway. So flows are
 * bucketed by that number (a Smi key, which V8 hashes for nothing) and
 * chained through `Flow.keyNext`, and the insertion order a `Map` kept is
 * kept by a list through `Flow.orderPrev`/`orderNext`.
 *
 * @module
 */

import type { Flow } from "./_flow.ts";
import { keyHash } from "./_flow_uid.ts";
import { SmiMap } from "./_smi_map.ts";

/**
 * Flows by key, iterated in insertion order like a `Map`. Each flow has one
 * key (`Flow.key`, `Flow.keyHash` = {@linkcode keyHash} of it) and is in at
 * most one map.
 */
export class FlowMap {
  #buckets = new SmiMap<Flow>();
  #first: Flow | undefined = undefined;
  #last: Flow | undefined = undefined;
  #size = 0;

  /** Flows held. */
  get size(): number {
    return this.#size;
  }

  /**
   * The first flow in insertion order; the next is `flow.orderNext`, or,
   * once `flow` was deleted, its `orderNext` of before (see
   * {@linkcode FlowMap.values}): a walk that allocates no iterator results.
   */
  get first(): Flow | undefined {
    return this.#first;
  }

  /** The flow under `key`, if any; `hash` is {@linkcode keyHash} of it when known. */
  get(key: string, hash: number = keyHash(key)): Flow | undefined {
    let flow = this.#buckets.get(hash);
    while (flow !== undefined && flow.key !== key) flow = flow.keyNext;
    return flow;
  }

  /**
   * Puts `flow` under its key: last in the order, or, as `Map.set` does,
   * in the place of a flow already under that key.
   */
  set(flow: Flow): void {
    if (flow.keyHash < 0) flow.keyHash = keyHash(flow.key);
    const hash = flow.keyHash;
    const head = this.#buckets.get(hash);
    let old = head;
    while (old !== undefined && old.key !== flow.key) old = old.keyNext;
    if (old !== undefined) {
      if (old === flow) return;
      this.#unchain(old);
      this.#replaceInOrder(old, flow);
      this.#chain(flow);
      return;
    }
    flow.keyNext = head;
    this.#buckets.set(hash, flow);
    flow.inMap = true;
    flow.orderPrev = this.#last;
    flow.orderNext = undefined;
    if (this.#last === undefined) this.#first = flow;
    else this.#last.orderNext = flow;
    this.#last = flow;
    this.#size++;
  }

  /** Takes `flow` out, if it is in. */
  delete(flow: Flow): void {
    if (!flow.inMap) return;
    this.#unchain(flow);
    const prev = flow.orderPrev;
    const next = flow.orderNext;
    if (prev === undefined) this.#first = next;
    else prev.orderNext = next;
    if (next === undefined) this.#last = prev;
    else next.orderPrev = prev;
    // `orderNext` stays: an iteration standing on this flow goes on from it.
    flow.orderPrev = undefined;
    flow.inMap = false;
    this.#size--;
  }

  /**
   * The flows in insertion order. The flow just given may be deleted
   * before the next is asked for (as `#sweep` does); flows set while the
   * flow just given stays in come last and are given too, as a `Map` would.
   * Nothing else may change during the iteration.
   */
  *values(): IterableIterator<Flow> {
    let flow = this.#first;
    while (flow !== undefined) {
      const next = flow.orderNext;
      yield flow;
      flow = flow.inMap ? flow.orderNext : next;
    }
  }

  #chain(flow: Flow): void {
    flow.keyNext = this.#buckets.get(flow.keyHash);
    this.#buckets.set(flow.keyHash, flow);
    flow.inMap = true;
  }

  #unchain(flow: Flow): void {
    const hash = flow.keyHash;
    const head = this.#buckets.get(hash);
    if (head === flow) {
      if (flow.keyNext === undefined) this.#buckets.delete(hash);
      else this.#buckets.set(hash, flow.keyNext);
    } else {
      let at = head;
      while (at !== undefined && at.keyNext !== flow) at = at.keyNext;
      if (at !== undefined) at.keyNext = flow.keyNext;
    }
    flow.keyNext = undefined;
  }

  #replaceInOrder(old: Flow, flow: Flow): void {
    flow.orderPrev = old.orderPrev;
    flow.orderNext = old.orderNext;
    if (old.orderPrev === undefined) this.#first = flow;
    else old.orderPrev.orderNext = flow;
    if (old.orderNext === undefined) this.#last = flow;
    else old.orderNext.orderPrev = flow;
    old.orderPrev = undefined;
    old.inMap = false;
  }
}
