/**
 * A map from small non-negative integers (the 30-bit bucket hashes of the
 * flow table's tuple index and `FlowMap`) to one value each, in open
 * addressing over an `Int32Array`.
 *
 * Both used a `Map<number, Flow>`, which allocates: its table is rebuilt
 * whenever inserts after deletes have filled it with tombstones, and shrunk
 * (a new, smaller table) when deletes empty it, so a table whose flows come
 * and go allocated about 90 bytes per new flow for those two maps alone
 * (a sampling heap profile of the bench capture: 27 MB in the index's
 * `set`, 36 MB in `#create`'s, 25 MB in `#finalize`'s `delete`, of
 * 1.1 GB). Linear probing with backward-shift deletion leaves no tombstones,
 * so the arrays only ever grow, to twice the most keys held at once.
 *
 * @module
 */

/** Slot holds no key. */
const EMPTY = -1;
const INITIAL_CAPACITY = 1024;

/** Integer-keyed map (keys 0..2^31-1), no iteration; see the module doc. */
export class SmiMap<T> {
  #keys = new Int32Array(INITIAL_CAPACITY).fill(EMPTY);
  #values: (T | undefined)[] = new Array<T | undefined>(INITIAL_CAPACITY).fill(undefined);
  #mask = INITIAL_CAPACITY - 1;
  /** 32 - log2(capacity): Fibonacci hashing takes the top bits of the product. */
  #shift = 32 - Math.log2(INITIAL_CAPACITY);
  #size = 0;

  /** Keys held. */
  get size(): number {
    return this.#size;
  }

  #home(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> this.#shift;
  }

  /** The value under `key`, if any. */
  get(key: number): T | undefined {
    const keys = this.#keys;
    const mask = this.#mask;
    for (let i = this.#home(key);; i = (i + 1) & mask) {
      const at = keys[i];
      if (at === key) return this.#values[i];
      if (at === EMPTY) return undefined;
    }
  }

  /** Puts `value` under `key`, replacing what was there. */
  set(key: number, value: T): void {
    const keys = this.#keys;
    const mask = this.#mask;
    let i = this.#home(key);
    for (;; i = (i + 1) & mask) {
      const at = keys[i];
      if (at === key) {
        this.#values[i] = value;
        return;
      }
      if (at === EMPTY) break;
    }
    keys[i] = key;
    this.#values[i] = value;
    if (++this.#size * 2 > keys.length) this.#grow();
  }

  /** Takes `key` out, if it is in. */
  delete(key: number): void {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let i = this.#home(key);
    for (;; i = (i + 1) & mask) {
      const at = keys[i];
      if (at === key) break;
      if (at === EMPTY) return;
    }
    this.#size--;
    // Backward shift: move later keys of the run into the hole when their
    // home slot is not between the hole and them, so no lookup stops early.
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const at = keys[j];
      if (at === EMPTY) break;
      const home = this.#home(at);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!stays) {
        keys[i] = at;
        values[i] = values[j];
        i = j;
      }
    }
    keys[i] = EMPTY;
    values[i] = undefined;
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldValues = this.#values;
    const capacity = oldKeys.length * 2;
    this.#keys = new Int32Array(capacity).fill(EMPTY);
    this.#values = new Array<T | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
    this.#shift--;
    const keys = this.#keys;
    const mask = this.#mask;
    for (let j = 0; j < oldKeys.length; j++) {
      const key = oldKeys[j];
      if (key === EMPTY) continue;
      let i = this.#home(key);
      while (keys[i] !== EMPTY) i = (i + 1) & mask;
      keys[i] = key;
      this.#values[i] = oldValues[j];
    }
  }
}
