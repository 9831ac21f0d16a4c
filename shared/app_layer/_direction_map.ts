/**
 * A map from flow-direction keys to per-direction state, for the extractor's
 * per-packet lookup. Every SYN and every packet with payload makes a new key
 * string; V8 must hash each new string before a `Map` can look it up, and
 * that hashing cost several times the rest of the lookup (measured with
 * `agent --read --dry-run`, issue 14's extraction budget). Here the key's
 * hash is computed in JavaScript over its UTF-16 units, which the engine
 * compiles to a short integer loop, and the `Map` underneath is keyed by
 * that small integer, which needs no hashing. Keys that share a hash are
 * chained and told apart by `===`.
 *
 * @module
 */

interface Entry<V> {
  readonly key: string;
  value: V;
  next: Entry<V> | null;
}

/** FNV-1a over the key's UTF-16 units, folded to a small integer (a V8 Smi). */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x3fffffff;
}

/**
 * String-keyed map with `Map`'s semantics for what the extractor uses:
 * `get`, `set`, `delete`, `size` and the oldest key (insertion order by hash
 * bucket, which is what bounding the map needs).
 */
export class DirectionMap<V> {
  readonly #buckets = new Map<number, Entry<V>>();
  #size = 0;

  /** Keys held. */
  get size(): number {
    return this.#size;
  }

  /** The value under `key`, or undefined. */
  get(key: string): V | undefined {
    for (let e: Entry<V> | null | undefined = this.#buckets.get(hashOf(key)); e; e = e.next) {
      if (e.key === key) return e.value;
    }
    return undefined;
  }

  /** Sets `key` to `value`. */
  set(key: string, value: V): void {
    const h = hashOf(key);
    const head = this.#buckets.get(h);
    for (let e: Entry<V> | null | undefined = head; e; e = e.next) {
      if (e.key === key) {
        e.value = value;
        return;
      }
    }
    this.#buckets.set(h, { key, value, next: head ?? null });
    this.#size++;
  }

  /** Removes `key`; true when it was there. */
  delete(key: string): boolean {
    const h = hashOf(key);
    let previous: Entry<V> | null = null;
    for (let e: Entry<V> | null | undefined = this.#buckets.get(h); e; e = e.next) {
      if (e.key === key) {
        if (previous !== null) previous.next = e.next;
        else if (e.next !== null) this.#buckets.set(h, e.next);
        else this.#buckets.delete(h);
        this.#size--;
        return true;
      }
      previous = e;
    }
    return false;
  }

  /**
   * A key of the oldest bucket (the first hash inserted that is still
   * held), or undefined when empty: what to forget when the map is full.
   */
  oldestKey(): string | undefined {
    for (const entry of this.#buckets.values()) {
      let last = entry;
      while (last.next !== null) last = last.next;
      return last.key; // chains grow at the head: the tail is the oldest
    }
    return undefined;
  }
}
