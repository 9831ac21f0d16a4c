/**
 * Small integer ids for pairs of small non-negative integers, for the
 * context windows' cells (an originator and a responder address, an
 * address and a port key, a service and an originator): open addressing
 * over an `Int32Array` with linear probing and backward-shift deletion (as
 * `_smi_map.ts`), so inserts and deletes allocate nothing once the arrays
 * have grown to twice the most pairs held at once. A freed id is reused.
 *
 * @module
 */

/** Slot holds no pair. */
const EMPTY = -1;
const INITIAL_CAPACITY = 256;

/** Pair -> id map with id allocation; see the module doc. */
export class PairIds {
  /** Slot -> id, or EMPTY. */
  #slots = new Int32Array(INITIAL_CAPACITY).fill(EMPTY);
  #mask = INITIAL_CAPACITY - 1;
  /** 32 - log2(capacity). */
  #shift = 32 - Math.log2(INITIAL_CAPACITY);
  /** Id -> its pair (`a` at 2 id, `b` at 2 id + 1). */
  #pairs = new Int32Array(INITIAL_CAPACITY);
  /** Ids handed out so far (the next new one). */
  #top = 0;
  /** Freed ids, reused first. */
  #free = new Int32Array(64);
  #freeCount = 0;
  #size = 0;

  /** Pairs held. */
  get size(): number {
    return this.#size;
  }

  /** One more than the largest id handed out: arrays indexed by id need this many slots. */
  get capacity(): number {
    return this.#top;
  }

  #home(a: number, b: number): number {
    return Math.imul(Math.imul(a, 0x9e3779b1) ^ b, 0x85ebca6b) >>> this.#shift;
  }

  /** The id of `(a, b)`, or -1. */
  get(a: number, b: number): number {
    const slots = this.#slots;
    const pairs = this.#pairs;
    const mask = this.#mask;
    for (let i = this.#home(a, b);; i = (i + 1) & mask) {
      const id = slots[i];
      if (id === EMPTY) return -1;
      if (pairs[2 * id] === a && pairs[2 * id + 1] === b) return id;
    }
  }

  /** The id of `(a, b)`, given a new one if the pair is not held. */
  intern(a: number, b: number): number {
    const slots = this.#slots;
    const pairs = this.#pairs;
    const mask = this.#mask;
    let i = this.#home(a, b);
    for (;; i = (i + 1) & mask) {
      const id = slots[i];
      if (id === EMPTY) break;
      if (pairs[2 * id] === a && pairs[2 * id + 1] === b) return id;
    }
    const id = this.#freeCount > 0 ? this.#free[--this.#freeCount] : this.#newId();
    const held = this.#pairs;
    held[2 * id] = a;
    held[2 * id + 1] = b;
    slots[i] = id;
    if (++this.#size * 2 > slots.length) this.#grow();
    return id;
  }

  #newId(): number {
    const id = this.#top++;
    if (2 * this.#top > this.#pairs.length) {
      const pairs = new Int32Array(this.#pairs.length * 2);
      pairs.set(this.#pairs);
      this.#pairs = pairs;
    }
    return id;
  }

  /** The first number of the pair held under `id`. */
  a(id: number): number {
    return this.#pairs[2 * id];
  }

  /** The second number of the pair held under `id`. */
  b(id: number): number {
    return this.#pairs[2 * id + 1];
  }

  /** Takes the pair held under `id` out; the id may be handed out again. */
  delete(id: number): void {
    const slots = this.#slots;
    const pairs = this.#pairs;
    const mask = this.#mask;
    let i = this.#home(pairs[2 * id], pairs[2 * id + 1]);
    while (slots[i] !== id) i = (i + 1) & mask;
    this.#size--;
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const at = slots[j];
      if (at === EMPTY) break;
      const home = this.#home(pairs[2 * at], pairs[2 * at + 1]);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!stays) {
        slots[i] = at;
        i = j;
      }
    }
    slots[i] = EMPTY;
    if (this.#freeCount === this.#free.length) {
      const free = new Int32Array(this.#free.length * 2);
      free.set(this.#free);
      this.#free = free;
    }
    this.#free[this.#freeCount++] = id;
  }

  #grow(): void {
    const old = this.#slots;
    const capacity = old.length * 2;
    const slots = this.#slots = new Int32Array(capacity).fill(EMPTY);
    const mask = this.#mask = capacity - 1;
    this.#shift--;
    const pairs = this.#pairs;
    for (let j = 0; j < old.length; j++) {
      const id = old[j];
      if (id === EMPTY) continue;
      let i = this.#home(pairs[2 * id], pairs[2 * id + 1]);
      while (slots[i] !== EMPTY) i = (i + 1) & mask;
      slots[i] = id;
    }
  }
}
