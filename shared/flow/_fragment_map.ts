/**
 * The flow table's fragment map: where the later fragments of a datagram
 * go, recorded from its first fragment (which alone carries the ports), for
 * `fragmentTimeoutSec` of packet time.
 *
 * @module
 */

import type { PacketKey } from "./_flow_key.ts";
import type { FlowMap } from "./_flow_map.ts";

/**
 * Fragment map entry, under a first fragment's `PacketKey.fragmentKey`:
 * where the later fragments of its datagram go (its flow, checked by uid,
 * and the ports they cannot carry), until `expiresSec`.
 */
export interface FragmentEntry {
  /** The first fragment's flow key. */
  key: string;
  /** That flow's uid: an entry whose flow has ended leads nowhere. */
  uid: string;
  /** The first fragment's source address. */
  srcIp: string;
  /** The first fragment's source port (ICMP type); null when port-less. */
  srcPort: number | null;
  /** The first fragment's destination port; null when port-less. */
  dstPort: number | null;
  /** Packet time after which later fragments no longer join the flow. */
  expiresSec: number;
}

/** Fragment map entries by fragment key, in insertion order (as saved). */
export class FragmentMap implements Iterable<[string, FragmentEntry]> {
  #entries = new Map<string, FragmentEntry>();

  /**
   * Records where the later fragments of a first fragment's datagram go:
   * `k` is the first fragment's key (with its fragment key), `key` and
   * `uid` its flow's, until packet time `expiresSec`.
   */
  record(k: PacketKey, key: string, uid: string, expiresSec: number): void {
    this.#entries.set(k.fragmentKey!, {
      key,
      uid,
      srcIp: k.src!,
      srcPort: k.srcPort,
      dstPort: k.dstPort,
      expiresSec,
    });
  }

  /** Puts back an entry of saved state. */
  restore(fragmentKey: string, entry: FragmentEntry): void {
    this.#entries.set(fragmentKey, entry);
  }

  /**
   * The entry a later fragment at `ts` finds, if any, still to be checked
   * against its flow and expiry; the entry leaves the map with the last
   * fragment (`moreFragments` false) or once expired.
   */
  take(fragmentKey: string, moreFragments: boolean, ts: number): FragmentEntry | undefined {
    const entry = this.#entries.get(fragmentKey);
    if (entry !== undefined && (!moreFragments || ts > entry.expiresSec)) {
      this.#entries.delete(fragmentKey);
    }
    return entry;
  }

  /**
   * Drops the entries whose flow is gone from `flows` (they lead nowhere)
   * or that expired at their flow's agent's clock.
   */
  sweep(flows: FlowMap): void {
    for (const [fragmentKey, entry] of this.#entries) {
      const flow = flows.get(entry.key);
      if (flow === undefined || flow.uid !== entry.uid || flow.lane.nowSec > entry.expiresSec) {
        this.#entries.delete(fragmentKey);
      }
    }
  }

  /** Drops every entry (end of input). */
  clear(): void {
    this.#entries.clear();
  }

  /** The `[fragment key, entry]` pairs, in insertion order. */
  [Symbol.iterator](): IterableIterator<[string, FragmentEntry]> {
    return this.#entries[Symbol.iterator]();
  }
}
