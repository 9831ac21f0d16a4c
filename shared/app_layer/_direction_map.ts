/**
 * A map from flow-direction keys to per-direction state, for the extractor's
 * per-packet lookup. Every SYN and every packet with payload makes a new key
 * string and looks it up, most of them in vain (a SYN flood, a port scan),
 * so the lookup must be cheap when it misses, with tens of thousands of
 * directions held:
 *
 * - V8 must hash each new string before a `Map` can look it up, and that
 *   hashing cost several times the rest of the lookup (measured with
 *   `agent --read --dry-run`, issue 14's extraction budget). Here the key's
 *   hash is computed in JavaScript over its UTF-16 units, a short integer
 *   loop.
 * - A `Map` keyed by that hash (the previous design) still walked from the
 *   hash table to an entry object to the key string, three scattered reads
 *   per lookup, and grew and shrank its table as directions came and went.
 *   Here the table is open addressing with linear probing over a typed array
 *   of hashes: a miss reads one slot (or a few neighbours) of one compact
 *   array, and the key string is compared only when its hash matches.
 *   Deletion shifts the following entries back (no tombstones).
 *
 * Insertion order, for forgetting the oldest direction when the extractor is
 * full, is a queue of (key, stamp) pairs; a pair whose key was deleted, or
 * set again since, is skipped lazily and the queue is compacted as it grows.
 *
 * @module
 */

/** FNV-1a over the key's UTF-16 units, folded to 30 bits (a V8 Smi). */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x3fffffff;
}

/** {@linkcode hashOf} of the string whose UTF-16 units are `units` (no string made). */
function hashOfUnits(units: readonly number[]): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < units.length; i++) {
    h ^= units[i];
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x3fffffff;
}

/** Whether `key` is the string whose UTF-16 units are `units`. */
function sameUnits(key: string, units: readonly number[]): boolean {
  if (key.length !== units.length) return false;
  for (let i = 0; i < units.length; i++) if (key.charCodeAt(i) !== units[i]) return false;
  return true;
}

/** Slots to start with: room for 4096 directions before the first growth. */
const INITIAL_CAPACITY = 8192;

/**
 * String-keyed map with `Map`'s semantics for what the extractor uses:
 * `get`, `set`, `delete`, `size` and the oldest key (insertion order; setting
 * a key that is held keeps its place).
 */
export class DirectionMap<V> {
  #mask = INITIAL_CAPACITY - 1;
  /** Per slot: 0 when empty, else the key's hash + 1. */
  #tags = new Int32Array(INITIAL_CAPACITY);
  #keys: (string | null)[] = new Array(INITIAL_CAPACITY).fill(null);
  #values: (V | null)[] = new Array(INITIAL_CAPACITY).fill(null);
  /** Per slot: when its key was inserted (a count of insertions). */
  #stamps = new Float64Array(INITIAL_CAPACITY);
  #size = 0;
  #clock = 0;
  /** Keys in insertion order with their stamps, from `#head` on; some no longer held. */
  #order: string[] = [];
  #orderStamps: number[] = [];
  #head = 0;

  /** Keys held. */
  get size(): number {
    return this.#size;
  }

  /** The slot holding `key`, or -1. */
  #find(key: string, hash: number): number {
    const tags = this.#tags;
    const mask = this.#mask;
    const tag = hash + 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const t = tags[i];
      if (t === 0) return -1;
      if (t === tag && this.#keys[i] === key) return i;
    }
  }

  /** The value under `key`, or undefined. */
  get(key: string): V | undefined {
    const slot = this.#find(key, hashOf(key));
    return slot < 0 ? undefined : this.#values[slot] as V;
  }

  /**
   * The value under the key whose UTF-16 units (each 0..0xffff) are
   * `units`, or undefined: `get(String.fromCharCode(...units))` without
   * making the string. A packet of a direction already held, the common
   * case, then allocates nothing to be looked up.
   */
  getByUnits(units: readonly number[]): V | undefined {
    const slot = this.#findUnits(units);
    return slot < 0 ? undefined : this.#values[slot] as V;
  }

  /** The slot of the key whose UTF-16 units are `units`, or -1. */
  #findUnits(units: readonly number[]): number {
    const tags = this.#tags;
    const mask = this.#mask;
    const hash = hashOfUnits(units);
    const tag = hash + 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const t = tags[i];
      if (t === 0) return -1;
      if (t === tag && sameUnits(this.#keys[i]!, units)) return i;
    }
  }

  /** Sets `key` to `value`. */
  set(key: string, value: V): void {
    const hash = hashOf(key);
    const tags = this.#tags;
    const mask = this.#mask;
    const tag = hash + 1;
    let i = hash & mask;
    for (;; i = (i + 1) & mask) {
      const t = tags[i];
      if (t === 0) break;
      if (t === tag && this.#keys[i] === key) {
        this.#values[i] = value;
        return;
      }
    }
    const stamp = ++this.#clock;
    tags[i] = tag;
    this.#keys[i] = key;
    this.#values[i] = value;
    this.#stamps[i] = stamp;
    this.#size++;
    this.#order.push(key);
    this.#orderStamps.push(stamp);
    // Each compaction looks every queued key up: letting stale pairs reach three
    // times the live ones (not one) makes that 4/3 lookups per insertion
    // instead of 2, for a queue at most four times the keys held (plus 4096).
    if (this.#order.length - this.#head > 4 * this.#size + 4096) this.#compactOrder();
    if (this.#size * 2 > this.#mask + 1) this.#grow();
  }

  /** Removes `key`; true when it was there. */
  delete(key: string): boolean {
    return this.#deleteAt(this.#find(key, hashOf(key)));
  }

  /**
   * Removes the key whose UTF-16 units are `units`: `delete(String.fromCharCode(...units))`
   * without making the string. True when it was there.
   */
  deleteByUnits(units: readonly number[]): boolean {
    return this.#deleteAt(this.#findUnits(units));
  }

  /** Empties slot `i` (nothing for -1); true when it held a key. */
  #deleteAt(slot: number): boolean {
    let i = slot;
    if (i < 0) return false;
    const tags = this.#tags;
    const keys = this.#keys;
    const values = this.#values;
    const stamps = this.#stamps;
    const mask = this.#mask;
    // Backward shift: move each following entry of the run into the hole
    // when its home slot does not lie between the hole and itself.
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const t = tags[j];
      if (t === 0) break;
      const home = (t - 1) & mask;
      const between = i <= j ? i < home && home <= j : i < home || home <= j;
      if (between) continue;
      tags[i] = t;
      keys[i] = keys[j];
      values[i] = values[j];
      stamps[i] = stamps[j];
      i = j;
    }
    tags[i] = 0;
    keys[i] = null;
    values[i] = null;
    this.#size--;
    return true;
  }

  /**
   * The key held longest (inserted first of those still held), or undefined
   * when empty: what to forget when the map is full.
   */
  oldestKey(): string | undefined {
    const order = this.#order;
    const stamps = this.#orderStamps;
    while (this.#head < order.length) {
      const key = order[this.#head];
      const slot = this.#find(key, hashOf(key));
      if (slot >= 0 && this.#stamps[slot] === stamps[this.#head]) return key;
      this.#head++; // deleted, or set again later: a later pair stands for it
    }
    return undefined;
  }

  /** Drops the queue's pairs whose key is no longer held under that stamp. */
  #compactOrder(): void {
    const order: string[] = [];
    const orderStamps: number[] = [];
    for (let n = this.#head; n < this.#order.length; n++) {
      const key = this.#order[n];
      const slot = this.#find(key, hashOf(key));
      if (slot >= 0 && this.#stamps[slot] === this.#orderStamps[n]) {
        order.push(key);
        orderStamps.push(this.#orderStamps[n]);
      }
    }
    this.#order = order;
    this.#orderStamps = orderStamps;
    this.#head = 0;
  }

  /** Doubles the table, placing every entry anew. */
  #grow(): void {
    const tags = this.#tags;
    const keys = this.#keys;
    const values = this.#values;
    const stamps = this.#stamps;
    const capacity = (this.#mask + 1) * 2;
    const mask = capacity - 1;
    const newTags = new Int32Array(capacity);
    const newKeys: (string | null)[] = new Array(capacity).fill(null);
    const newValues: (V | null)[] = new Array(capacity).fill(null);
    const newStamps = new Float64Array(capacity);
    for (let s = 0; s < tags.length; s++) {
      const t = tags[s];
      if (t === 0) continue;
      let i = (t - 1) & mask;
      while (newTags[i] !== 0) i = (i + 1) & mask;
      newTags[i] = t;
      newKeys[i] = keys[s];
      newValues[i] = values[s];
      newStamps[i] = stamps[s];
    }
    this.#mask = mask;
    this.#tags = newTags;
    this.#keys = newKeys;
    this.#values = newValues;
    this.#stamps = newStamps;
  }
}
