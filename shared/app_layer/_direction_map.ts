/**
 * A map from flow-direction keys to per-direction state, for the extractor's
 * per-packet lookup. Every SYN and every packet with payload looks its
 * direction up, most of them in vain (a SYN flood, a port scan), and a scan
 * makes and drops tens of thousands of directions, so both the lookup and
 * the making of a direction must be cheap with tens of thousands held:
 *
 * - A key is its UTF-16 units: the extractor hands them over without
 *   making a string (see `directionUnits` in header_app_extractor.ts), and a
 *   key of up to {@link MAX_SLAB_UNITS} units (every direction key the agent
 *   makes) is kept as units in one typed array. Neither a lookup nor a new
 *   direction then makes a string, hashes one in V8, or follows a pointer
 *   to one (string keys, the previous design, cost a string per new
 *   direction and a scattered read per hit). Longer keys (callers that name
 *   directions with text) are kept as strings.
 * - The key's hash is computed in JavaScript over its units, a short integer
 *   loop; a key given as a string is read as its units.
 * - The table is open addressing with linear probing over a typed array of
 *   hashes: a miss reads one slot (or a few neighbours) of one compact
 *   array, and the key's units are compared only when its hash matches.
 *   Deletion shifts the following entries back (no tombstones).
 *
 * Insertion order, for forgetting the oldest direction when the extractor is
 * full, is a queue of (hash, stamp) pairs: stamps are unique, so a pair is
 * found again by probing from its hash's home slot for its stamp, without
 * the key. A pair whose key was deleted, or set again since, is skipped
 * lazily, and the queue is compacted as it grows.
 *
 * @module
 */

/** Longest key kept as units in the slab: 24 units, an IPv6 direction behind a tunnel or VLAN. */
const MAX_SLAB_UNITS = 24;

/** FNV-1a over a key's UTF-16 units, folded to 30 bits (a V8 Smi). */
function hashOfUnits(units: readonly number[]): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < units.length; i++) {
    h ^= units[i];
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x3fffffff;
}

/** Slots to start with: room for 4096 directions before the first growth. */
const INITIAL_CAPACITY = 8192;

/**
 * Map keyed by strings (or their UTF-16 units) with `Map`'s semantics for
 * what the extractor uses: `get`, `set`, `delete`, `size` and the oldest key
 * (insertion order; setting a key that is held keeps its place).
 */
export class DirectionMap<V> {
  #mask = INITIAL_CAPACITY - 1;
  /** Per slot: 0 when empty, else the key's hash + 1. */
  #tags = new Int32Array(INITIAL_CAPACITY);
  /** Per slot: the key's length in units. */
  #lengths = new Int32Array(INITIAL_CAPACITY);
  /** Per slot, {@link MAX_SLAB_UNITS} units from `slot * MAX_SLAB_UNITS`: a short key's units. */
  #units = new Uint16Array(INITIAL_CAPACITY * MAX_SLAB_UNITS);
  /** Per slot: a key longer than {@link MAX_SLAB_UNITS} units, else null. */
  #longKeys: (string | null)[] = new Array(INITIAL_CAPACITY).fill(null);
  #values: (V | null)[] = new Array(INITIAL_CAPACITY).fill(null);
  /** Per slot: when its key was inserted (a count of insertions, unique). */
  #stamps = new Float64Array(INITIAL_CAPACITY);
  #size = 0;
  #clock = 0;
  /** The hash of the units {@linkcode slotOfUnits} was last asked for. */
  #lastHash = 0;
  /** Hashes and stamps of keys in insertion order, from `#head` on; some no longer held. */
  #orderHashes: number[] = [];
  #orderStamps: number[] = [];
  #head = 0;
  /** A key string's units, for the string methods (reused). */
  readonly #scratch: number[] = [];

  /** Keys held. */
  get size(): number {
    return this.#size;
  }

  /** Whether slot `i` holds the key whose units are `units`. */
  #holds(i: number, units: readonly number[]): boolean {
    const length = units.length;
    if (this.#lengths[i] !== length) return false;
    if (length > MAX_SLAB_UNITS) return this.#longKeys[i] === String.fromCharCode(...units);
    const slab = this.#units;
    const base = i * MAX_SLAB_UNITS;
    for (let k = 0; k < length; k++) if (slab[base + k] !== units[k]) return false;
    return true;
  }

  /** The slot holding the key whose UTF-16 units are `units`, or -1. */
  #findUnits(units: readonly number[], hash: number): number {
    const tags = this.#tags;
    const mask = this.#mask;
    const tag = hash + 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const t = tags[i];
      if (t === 0) return -1;
      if (t === tag && this.#holds(i, units)) return i;
    }
  }

  /** The value under `key`, or undefined. */
  get(key: string): V | undefined {
    return this.getByUnits(this.#unitsOf(key));
  }

  /**
   * The value under the key whose UTF-16 units (each 0..0xffff) are
   * `units`, or undefined: `get(String.fromCharCode(...units))` without
   * making the string.
   */
  getByUnits(units: readonly number[]): V | undefined {
    const slot = this.#findUnits(units, hashOfUnits(units));
    return slot < 0 ? undefined : this.#values[slot] as V;
  }

  /**
   * The slot holding the key whose UTF-16 units are `units`, or -1; either
   * way its hash is kept for {@linkcode insertAfterMiss}. A slot stays valid
   * until the map next changes other than by {@linkcode setAt}: one hash and
   * one probe serve a packet's lookup, its update and its removal.
   */
  slotOfUnits(units: readonly number[]): number {
    const hash = hashOfUnits(units);
    this.#lastHash = hash;
    return this.#findUnits(units, hash);
  }

  /** The value in `slot` (from {@linkcode slotOfUnits}). */
  valueAt(slot: number): V {
    return this.#values[slot] as V;
  }

  /** Replaces the value in `slot` (from {@linkcode slotOfUnits}); the key keeps its place. */
  setAt(slot: number, value: V): void {
    this.#values[slot] = value;
  }

  /** Removes the key in `slot` (from {@linkcode slotOfUnits}; nothing for -1). */
  deleteAt(slot: number): boolean {
    return this.#deleteAt(slot);
  }

  /**
   * Inserts the key whose units are `units`, which the last
   * {@linkcode slotOfUnits} (with these units) found missing, and returns its
   * slot: `setByUnits` without hashing and probing for the key again. Other
   * keys may have been deleted since that miss.
   */
  insertAfterMiss(units: readonly number[], value: V): number {
    return this.#insert(units, this.#lastHash, value);
  }

  /** Sets `key` to `value`. */
  set(key: string, value: V): void {
    this.setByUnits(this.#unitsOf(key), value);
  }

  /**
   * Sets the key whose UTF-16 units are `units` to `value`:
   * `set(String.fromCharCode(...units), value)` without making the string
   * (for a key of up to {@link MAX_SLAB_UNITS} units).
   */
  setByUnits(units: readonly number[], value: V): void {
    const hash = hashOfUnits(units);
    const found = this.#findUnits(units, hash);
    if (found >= 0) {
      this.#values[found] = value;
      return;
    }
    this.#insert(units, hash, value);
  }

  /** Puts a key that is not held into the table under `hash`; returns its slot. */
  #insert(units: readonly number[], hash: number, value: V): number {
    const tags = this.#tags;
    const mask = this.#mask;
    let i = hash & mask;
    while (tags[i] !== 0) i = (i + 1) & mask;
    const stamp = ++this.#clock;
    tags[i] = hash + 1;
    const length = units.length;
    this.#lengths[i] = length;
    if (length > MAX_SLAB_UNITS) this.#longKeys[i] = String.fromCharCode(...units);
    else {
      const slab = this.#units;
      const base = i * MAX_SLAB_UNITS;
      for (let k = 0; k < length; k++) slab[base + k] = units[k];
    }
    this.#values[i] = value;
    this.#stamps[i] = stamp;
    this.#size++;
    this.#orderHashes.push(hash);
    this.#orderStamps.push(stamp);
    // Each compaction looks every queued pair up: letting stale pairs reach three
    // times the live ones (not one) makes that 4/3 lookups per insertion
    // instead of 2, for a queue at most four times the keys held (plus 4096).
    if (this.#orderHashes.length - this.#head > 4 * this.#size + 4096) this.#compactOrder();
    if (this.#size * 2 > this.#mask + 1) {
      this.#grow();
      return this.#findUnits(units, hash);
    }
    return i;
  }

  /** Removes `key`; true when it was there. */
  delete(key: string): boolean {
    return this.deleteByUnits(this.#unitsOf(key));
  }

  /**
   * Removes the key whose UTF-16 units are `units`: `delete(String.fromCharCode(...units))`
   * without making the string. True when it was there.
   */
  deleteByUnits(units: readonly number[]): boolean {
    return this.#deleteAt(this.#findUnits(units, hashOfUnits(units)));
  }

  /** `key`'s units, in the reused scratch array. */
  #unitsOf(key: string): number[] {
    const units = this.#scratch;
    units.length = key.length;
    for (let k = 0; k < key.length; k++) units[k] = key.charCodeAt(k);
    return units;
  }

  /** Moves the entry of slot `from` to the empty slot `to`. */
  #move(from: number, to: number): void {
    this.#tags[to] = this.#tags[from];
    const length = this.#lengths[from];
    this.#lengths[to] = length;
    if (length > MAX_SLAB_UNITS) this.#longKeys[to] = this.#longKeys[from];
    else {
      // A loop, not `copyWithin`: a builtin call costs more than copying 7 units.
      const slab = this.#units;
      const src = from * MAX_SLAB_UNITS;
      const dst = to * MAX_SLAB_UNITS;
      for (let k = 0; k < length; k++) slab[dst + k] = slab[src + k];
    }
    this.#values[to] = this.#values[from];
    this.#stamps[to] = this.#stamps[from];
  }

  /** Empties slot `i` (nothing for -1); true when it held a key. */
  #deleteAt(slot: number): boolean {
    let i = slot;
    if (i < 0) return false;
    const tags = this.#tags;
    const mask = this.#mask;
    // Backward shift: move each following entry of the run into the hole
    // when its home slot does not lie between the hole and itself.
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const t = tags[j];
      if (t === 0) break;
      const home = (t - 1) & mask;
      const between = i <= j ? i < home && home <= j : i < home || home <= j;
      if (between) continue;
      this.#move(j, i);
      i = j;
    }
    tags[i] = 0;
    this.#longKeys[i] = null;
    this.#values[i] = null;
    this.#size--;
    return true;
  }

  /**
   * The slot of the key inserted with `stamp` under `hash`, or -1 when it is
   * no longer held under that stamp: stamps are unique, and a held key lies
   * in the run of slots from its hash's home slot.
   */
  #slotOfStamp(hash: number, stamp: number): number {
    const tags = this.#tags;
    const mask = this.#mask;
    const tag = hash + 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const t = tags[i];
      if (t === 0) return -1;
      if (t === tag && this.#stamps[i] === stamp) return i;
    }
  }

  /** The key of slot `i`. */
  #keyAt(i: number): string {
    const length = this.#lengths[i];
    if (length > MAX_SLAB_UNITS) return this.#longKeys[i]!;
    const base = i * MAX_SLAB_UNITS;
    return String.fromCharCode(...this.#units.subarray(base, base + length));
  }

  /**
   * The key held longest (inserted first of those still held), or undefined
   * when empty: what to forget when the map is full.
   */
  oldestKey(): string | undefined {
    const slot = this.#oldestSlot();
    return slot < 0 ? undefined : this.#keyAt(slot);
  }

  /** Removes the key held longest; false when empty. */
  deleteOldest(): boolean {
    return this.#deleteAt(this.#oldestSlot());
  }

  #oldestSlot(): number {
    const hashes = this.#orderHashes;
    const stamps = this.#orderStamps;
    while (this.#head < hashes.length) {
      const slot = this.#slotOfStamp(hashes[this.#head], stamps[this.#head]);
      if (slot >= 0) return slot;
      this.#head++; // deleted, or set again later: a later pair stands for it
    }
    return -1;
  }

  /** Drops the queue's pairs whose key is no longer held under that stamp. */
  #compactOrder(): void {
    const hashes: number[] = [];
    const stamps: number[] = [];
    for (let n = this.#head; n < this.#orderHashes.length; n++) {
      if (this.#slotOfStamp(this.#orderHashes[n], this.#orderStamps[n]) >= 0) {
        hashes.push(this.#orderHashes[n]);
        stamps.push(this.#orderStamps[n]);
      }
    }
    this.#orderHashes = hashes;
    this.#orderStamps = stamps;
    this.#head = 0;
  }

  /** Doubles the table, placing every entry anew. */
  #grow(): void {
    const tags = this.#tags;
    const lengths = this.#lengths;
    const units = this.#units;
    const longKeys = this.#longKeys;
    const values = this.#values;
    const stamps = this.#stamps;
    const capacity = (this.#mask + 1) * 2;
    const mask = capacity - 1;
    const newTags = new Int32Array(capacity);
    const newLengths = new Int32Array(capacity);
    const newUnits = new Uint16Array(capacity * MAX_SLAB_UNITS);
    const newLongKeys: (string | null)[] = new Array(capacity).fill(null);
    const newValues: (V | null)[] = new Array(capacity).fill(null);
    const newStamps = new Float64Array(capacity);
    for (let s = 0; s < tags.length; s++) {
      const t = tags[s];
      if (t === 0) continue;
      let i = (t - 1) & mask;
      while (newTags[i] !== 0) i = (i + 1) & mask;
      newTags[i] = t;
      newLengths[i] = lengths[s];
      // A loop over the key's units, not `set` of a subarray: a view per entry is garbage.
      const length = lengths[s];
      if (length <= MAX_SLAB_UNITS) {
        const src = s * MAX_SLAB_UNITS;
        const dst = i * MAX_SLAB_UNITS;
        for (let k = 0; k < length; k++) newUnits[dst + k] = units[src + k];
      }
      newLongKeys[i] = longKeys[s];
      newValues[i] = values[s];
      newStamps[i] = stamps[s];
    }
    this.#mask = mask;
    this.#tags = newTags;
    this.#lengths = newLengths;
    this.#units = newUnits;
    this.#longKeys = newLongKeys;
    this.#values = newValues;
    this.#stamps = newStamps;
  }
}
