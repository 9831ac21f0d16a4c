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
 *   makes) is kept as units in typed arrays. Neither a lookup nor a new
 *   direction then makes a string, hashes one in V8, or follows a pointer
 *   to one (string keys, an earlier design, cost a string per new direction
 *   and a scattered read per hit). Longer keys (callers that name
 *   directions with text) are kept as strings.
 * - The key's hash is computed in JavaScript over its units packed two to
 *   an int, a short integer loop; a key given as a string is read as its
 *   units.
 * - The table is open addressing with linear probing over one typed array
 *   of 32-byte records: a slot's hash, its key's length and its first 8
 *   units (all of a plain IPv4 direction's 7). A probe, a hit's key compare
 *   and an insertion touch one record, where separate arrays of hashes,
 *   lengths and units cost a cache miss in each (the table outgrows the
 *   L2 cache while the capture streams through it). Deletion shifts the
 *   following entries back (no tombstones).
 *
 * Insertion order, for forgetting the oldest direction when the extractor is
 * full, is kept from the first time it is asked for (the extractor asks
 * only when full; until then an insertion only stamps its slot): a queue of
 * (hash, stamp) pairs, built by sorting the held keys by stamp. Stamps are
 * unique, so a pair is found again by probing from its hash's home slot for
 * its stamp, without the key. A pair whose key was deleted, or set again
 * since, is skipped lazily, and the queue is compacted as it grows.
 *
 * @module
 */

/** Longest key kept as units in the slots: 24 units, an IPv6 direction behind a tunnel or VLAN. */
const MAX_SLAB_UNITS = 24;
/** Units kept in a slot's record itself: a plain IPv4 direction's 7, packed two to an int. */
const RECORD_UNITS = 8;
/** A slot's record, in ints: tag, length, {@link RECORD_UNITS} packed units, two spare. */
const STRIDE = 8;
/** Where a record's packed units start. */
const WORDS_AT = 2;
/** Units past {@link RECORD_UNITS} a slot keeps beside its record (a longer key's rest). */
const MORE_UNITS = MAX_SLAB_UNITS - RECORD_UNITS;

/** Slots to start with: room for 4096 directions before the first growth. */
const INITIAL_CAPACITY = 8192;

/**
 * Map keyed by strings (or their UTF-16 units) with `Map`'s semantics for
 * what the extractor uses: `get`, `set`, `delete`, `size` and the oldest key
 * (insertion order; setting a key that is held keeps its place).
 */
export class DirectionMap<V> {
  #mask = INITIAL_CAPACITY - 1;
  /**
   * Per slot, {@link STRIDE} ints from `slot * STRIDE`: the tag (0 when
   * empty, else the key's hash + 1), the key's length in units, and its
   * first {@link RECORD_UNITS} units two to an int. A probe, the key compare
   * of a plain IPv4 direction and its insertion read and write this one
   * 32-byte record (one cache line), not one place in each of four arrays.
   */
  #records = new Int32Array(INITIAL_CAPACITY * STRIDE);
  /** Per slot, {@link MORE_UNITS} units from `slot * MORE_UNITS`: a key's units past the record's. */
  #more = new Uint16Array(INITIAL_CAPACITY * MORE_UNITS);
  /** Per slot: a key longer than {@link MAX_SLAB_UNITS} units, else null; made at the first one. */
  #longKeys: (string | null)[] | null = null;
  #values: (V | null)[] = new Array(INITIAL_CAPACITY).fill(null);
  /** Per slot: when its key was inserted (a count of insertions, unique). */
  #stamps = new Float64Array(INITIAL_CAPACITY);
  #size = 0;
  #clock = 0;
  /** The hash of the units {@linkcode slotOfUnits} was last asked for. */
  #lastHash = 0;
  /** The units a lookup asks for, packed two to an int (as a record holds them). */
  readonly #words = new Int32Array(MAX_SLAB_UNITS / 2);
  /**
   * Hashes and stamps of keys in insertion order, from `#head` on; some no
   * longer held. Kept only from the first time the oldest key is asked for
   * (the extractor asks only when full, which most captures never are): it
   * is then built from the slots' stamps, and every insertion after adds
   * to it.
   */
  #ordered = false;
  #orderHashes: number[] = [];
  #orderStamps: number[] = [];
  #head = 0;
  /** A key string's units, for the string methods (reused). */
  readonly #scratch: number[] = [];

  /** Keys held. */
  get size(): number {
    return this.#size;
  }

  /**
   * Packs `units` into `#words` and returns their hash: a multiply-xorshift
   * mix per packed int, folded to 30 bits (a V8 Smi). Every bit of every
   * unit reaches the low bits the table's mask keeps.
   */
  #pack(units: readonly number[]): number {
    const words = this.#words;
    const length = units.length;
    let h = Math.imul(length + 1, 0x9e3779b1);
    const n = length < MAX_SLAB_UNITS ? length : MAX_SLAB_UNITS;
    let w = 0;
    for (let k = 0; k < n; k += 2) {
      const word = k + 1 < n ? units[k] | (units[k + 1] << 16) : units[k];
      words[w++] = word;
      h = Math.imul(h ^ word, 0x85ebca6b);
      h ^= h >>> 13;
    }
    // A key past the slots' units (a caller's text) is hashed over the rest too.
    for (let k = n; k < length; k++) {
      h = Math.imul(h ^ units[k], 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h ^= h >>> 15;
    return h & 0x3fffffff;
  }

  /** Whether slot `i` holds the key whose units are `units` (packed in `#words`). */
  #holds(i: number, units: readonly number[]): boolean {
    const records = this.#records;
    const base = i * STRIDE;
    const length = units.length;
    if (records[base + 1] !== length) return false;
    const words = this.#words;
    const inRecord = length < RECORD_UNITS ? length : RECORD_UNITS;
    for (let w = 0; w < inRecord; w += 2) {
      if (records[base + WORDS_AT + (w >> 1)] !== words[w >> 1]) return false;
    }
    if (length <= RECORD_UNITS) return true;
    if (length > MAX_SLAB_UNITS) return this.#longKeys![i] === String.fromCharCode(...units);
    const more = this.#more;
    const at = i * MORE_UNITS - RECORD_UNITS;
    for (let k = RECORD_UNITS; k < length; k++) if (more[at + k] !== units[k]) return false;
    return true;
  }

  /** The slot holding the key whose UTF-16 units are `units` (packed in `#words`), or -1. */
  #findUnits(units: readonly number[], hash: number): number {
    const records = this.#records;
    const mask = this.#mask;
    const tag = hash + 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const t = records[i * STRIDE];
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
    const slot = this.#findUnits(units, this.#pack(units));
    return slot < 0 ? undefined : this.#values[slot] as V;
  }

  /**
   * The slot holding the key whose UTF-16 units are `units`, or -1; either
   * way its hash is kept for {@linkcode insertAfterMiss}. A slot stays valid
   * until the map next changes other than by {@linkcode setAt}: one hash and
   * one probe serve a packet's lookup, its update and its removal.
   */
  slotOfUnits(units: readonly number[]): number {
    const hash = this.#pack(units);
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
    this.#pack(units); // the same hash: only the packed units are wanted again
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
    const hash = this.#pack(units);
    const found = this.#findUnits(units, hash);
    if (found >= 0) {
      this.#values[found] = value;
      return;
    }
    this.#insert(units, hash, value);
  }

  /** Puts a key that is not held (its units packed in `#words`) into the table under `hash`; returns its slot. */
  #insert(units: readonly number[], hash: number, value: V): number {
    const records = this.#records;
    const mask = this.#mask;
    let i = hash & mask;
    while (records[i * STRIDE] !== 0) i = (i + 1) & mask;
    const stamp = ++this.#clock;
    const base = i * STRIDE;
    records[base] = hash + 1;
    const length = units.length;
    records[base + 1] = length;
    const words = this.#words;
    const inRecord = length < RECORD_UNITS ? length : RECORD_UNITS;
    for (let w = 0; w < inRecord; w += 2) records[base + WORDS_AT + (w >> 1)] = words[w >> 1];
    if (length > MAX_SLAB_UNITS) {
      (this.#longKeys ??= new Array(mask + 1).fill(null))[i] = String.fromCharCode(...units);
    } else if (length > RECORD_UNITS) {
      const more = this.#more;
      const at = i * MORE_UNITS - RECORD_UNITS;
      for (let k = RECORD_UNITS; k < length; k++) more[at + k] = units[k];
    }
    this.#values[i] = value;
    this.#stamps[i] = stamp;
    this.#size++;
    if (this.#ordered) {
      this.#orderHashes.push(hash);
      this.#orderStamps.push(stamp);
      // Each compaction looks every queued pair up: letting stale pairs reach three
      // times the live ones (not one) makes that 4/3 lookups per insertion
      // instead of 2, for a queue at most four times the keys held (plus 4096).
      if (this.#orderHashes.length - this.#head > 4 * this.#size + 4096) this.#compactOrder();
    }
    if (this.#size * 2 > mask + 1) {
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
    return this.#deleteAt(this.#findUnits(units, this.#pack(units)));
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
    const records = this.#records;
    const src = from * STRIDE;
    const dst = to * STRIDE;
    // A loop, not `copyWithin`: a builtin call costs more than copying 8 ints.
    for (let k = 0; k < STRIDE; k++) records[dst + k] = records[src + k];
    const length = records[src + 1];
    if (length > MAX_SLAB_UNITS) this.#longKeys![to] = this.#longKeys![from];
    else if (length > RECORD_UNITS) {
      const more = this.#more;
      const a = from * MORE_UNITS;
      const b = to * MORE_UNITS;
      for (let k = 0; k < length - RECORD_UNITS; k++) more[b + k] = more[a + k];
    }
    this.#values[to] = this.#values[from];
    this.#stamps[to] = this.#stamps[from];
  }

  /** Empties slot `i` (nothing for -1); true when it held a key. */
  #deleteAt(slot: number): boolean {
    let i = slot;
    if (i < 0) return false;
    const records = this.#records;
    const mask = this.#mask;
    // Backward shift: move each following entry of the run into the hole
    // when its home slot does not lie between the hole and itself.
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const t = records[j * STRIDE];
      if (t === 0) break;
      const home = (t - 1) & mask;
      const between = i <= j ? i < home && home <= j : i < home || home <= j;
      if (between) continue;
      this.#move(j, i);
      i = j;
    }
    records[i * STRIDE] = 0;
    if (this.#longKeys !== null) this.#longKeys[i] = null;
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
    const records = this.#records;
    const mask = this.#mask;
    const tag = hash + 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const t = records[i * STRIDE];
      if (t === 0) return -1;
      if (t === tag && this.#stamps[i] === stamp) return i;
    }
  }

  /** The key of slot `i`. */
  #keyAt(i: number): string {
    const records = this.#records;
    const base = i * STRIDE;
    const length = records[base + 1];
    if (length > MAX_SLAB_UNITS) return this.#longKeys![i]!;
    const units: number[] = [];
    for (let k = 0; k < length && k < RECORD_UNITS; k++) {
      const word = records[base + WORDS_AT + (k >> 1)];
      units.push((k & 1) === 0 ? word & 0xffff : word >>> 16);
    }
    const at = i * MORE_UNITS - RECORD_UNITS;
    for (let k = RECORD_UNITS; k < length; k++) units.push(this.#more[at + k]);
    return String.fromCharCode(...units);
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
    if (!this.#ordered) this.#startOrder();
    const hashes = this.#orderHashes;
    const stamps = this.#orderStamps;
    while (this.#head < hashes.length) {
      const slot = this.#slotOfStamp(hashes[this.#head], stamps[this.#head]);
      if (slot >= 0) return slot;
      this.#head++; // deleted, or set again later: a later pair stands for it
    }
    return -1;
  }

  /** Queues the keys held, oldest first, and keeps the queue from now on. */
  #startOrder(): void {
    const records = this.#records;
    const stamps = this.#stamps;
    const slots: number[] = [];
    for (let i = 0; i <= this.#mask; i++) if (records[i * STRIDE] !== 0) slots.push(i);
    slots.sort((a, b) => stamps[a] - stamps[b]);
    this.#orderHashes = slots.map((i) => records[i * STRIDE] - 1);
    this.#orderStamps = slots.map((i) => stamps[i]);
    this.#head = 0;
    this.#ordered = true;
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
    const records = this.#records;
    const more = this.#more;
    const longKeys = this.#longKeys;
    const values = this.#values;
    const stamps = this.#stamps;
    const capacity = (this.#mask + 1) * 2;
    const mask = capacity - 1;
    const newRecords = new Int32Array(capacity * STRIDE);
    const newMore = new Uint16Array(capacity * MORE_UNITS);
    const newLongKeys: (string | null)[] | null = longKeys === null
      ? null
      : new Array(capacity).fill(null);
    const newValues: (V | null)[] = new Array(capacity).fill(null);
    const newStamps = new Float64Array(capacity);
    for (let s = 0; s < stamps.length; s++) {
      const src = s * STRIDE;
      const t = records[src];
      if (t === 0) continue;
      let i = (t - 1) & mask;
      while (newRecords[i * STRIDE] !== 0) i = (i + 1) & mask;
      const dst = i * STRIDE;
      for (let k = 0; k < STRIDE; k++) newRecords[dst + k] = records[src + k];
      // A loop over the key's units, not `set` of a subarray: a view per entry is garbage.
      const length = records[src + 1];
      if (length > MAX_SLAB_UNITS) newLongKeys![i] = longKeys![s];
      else if (length > RECORD_UNITS) {
        const a = s * MORE_UNITS;
        const b = i * MORE_UNITS;
        for (let k = 0; k < length - RECORD_UNITS; k++) newMore[b + k] = more[a + k];
      }
      newValues[i] = values[s];
      newStamps[i] = stamps[s];
    }
    this.#mask = mask;
    this.#records = newRecords;
    this.#more = newMore;
    this.#longKeys = newLongKeys;
    this.#values = newValues;
    this.#stamps = newStamps;
  }
}
