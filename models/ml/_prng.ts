/**
 * A small seeded pseudo-random generator (mulberry32) for training. The same
 * seed yields the same sequence on every machine and Deno version, which is
 * what makes a trained forest reproducible; `Math.random` cannot be seeded.
 *
 * @module
 */

/** A deterministic generator of uniform numbers. */
export interface Prng {
  /** Next float in [0, 1). */
  next(): number;
  /** Integer in [0, n), for 1 <= n <= 2^32. */
  below(n: number): number;
}

/**
 * Mixes two integers into one well-spread 32-bit seed (the finaliser of
 * MurmurHash3), so each tree gets its own stream from (forest seed, tree index)
 * and trees do not depend on the order they are grown in.
 */
export function mixSeed(a: number, b: number): number {
  let h = (Math.imul(a | 0, 0x9e3779b1) ^ Math.imul((b | 0) + 0x7f4a7c15, 0x85ebca77)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Creates a mulberry32 generator from a 32-bit seed. */
export function createPrng(seed: number): Prng {
  let state = mixSeed(seed, 0x2545f491);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    below(n: number): number {
      return Math.floor(next() * n);
    },
  };
}
