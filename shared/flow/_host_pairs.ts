/**
 * The flow table's host-pair map: the key of the latest non-TCP flow from
 * each originator to each responder (within a scope), which an ICMP
 * destination-unreachable that quotes nothing is charged to.
 *
 * @module
 */

import type { Flow } from "./_flow.ts";
import { keyScope, scopedPair } from "./_flow_key.ts";

/**
 * The host-pair key of a non-TCP flow (its scope, originator and
 * responder): under it the table keeps the key of the latest such flow.
 */
export function hostPairOf(flow: Flow): string {
  return scopedPair(
    keyScope(flow.agent, flow.tunnelType, flow.tunnelId, ""),
    flow.origIp!,
    flow.respIp!,
  );
}

/**
 * Flow keys by {@linkcode hostPairOf}: only non-TCP flows with addresses
 * are entered, and their roles never flip. Iterates as the saved
 * `[pair, key]` entries, in insertion order.
 */
export class HostPairs implements Iterable<[string, string]> {
  #keys = new Map<string, string>();

  /**
   * Enters a new flow, under `key` (its table key, when known), as the
   * latest of its host pair; `previous` is the flow that ended on the same
   * key for it, whose pair string is reused when its roles are the same.
   */
  enter(flow: Flow, previous: Flow | undefined, key: string | null): void {
    if (!flow.isTcp && flow.origIp !== null && flow.respIp !== null) {
      flow.hostPair = previous !== undefined && previous.hostPair !== null &&
          previous.origIp === flow.origIp && previous.respIp === flow.respIp
        ? previous.hostPair
        : hostPairOf(flow);
      this.#keys.set(flow.hostPair, key ?? flow.key);
    }
  }

  /** Takes an ending flow out, unless a later flow of its pair took its place. */
  leave(flow: Flow): void {
    if (!flow.isTcp && flow.origIp !== null && flow.respIp !== null) {
      const pair = flow.hostPair ?? hostPairOf(flow);
      if (this.#keys.get(pair) === flow.key) this.#keys.delete(pair);
    }
  }

  /** The key of the latest flow of `pair` (a {@linkcode hostPairOf} string), if any. */
  keyOf(pair: string): string | undefined {
    return this.#keys.get(pair);
  }

  /** Puts back an entry of saved state. */
  restore(pair: string, key: string): void {
    this.#keys.set(pair, key);
  }

  /** The `[pair, key]` entries, in insertion order. */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.#keys[Symbol.iterator]();
  }
}
