/**
 * The lab's and the training code's seeded generator: the project's one
 * mulberry32 (`@traffic-analyzer/shared/random`) with the helpers they draw
 * with. The same seed yields the same sequence on every machine and Deno
 * version, which is what makes lab settings and trained forests
 * reproducible; `Math.random` cannot be seeded.
 *
 * The lab and the trainer turn their seeds into the generator's state in
 * different ways ({@linkcode createPrng}, {@linkcode createTrainingPrng}),
 * kept as they were so that the committed captures' settings and the
 * committed model still come out the same.
 *
 * @module
 */

import { mulberry32 as mulberry32Floats } from "@traffic-analyzer/shared/random";

/** A deterministic generator of uniform numbers. */
export interface Prng {
  /** Next float in [0, 1). */
  next(): number;
  /** Integer in [0, n), for 1 <= n <= 2^32. */
  below(n: number): number;
  /** Integer in [min, max], both ends included. */
  int(min: number, max: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** A shuffled copy of `items` (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[];
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

/** A mulberry32 generator started from a 32-bit state. */
export function mulberry32(initialState: number): Prng {
  const next = mulberry32Floats(initialState);
  const int = (min: number, max: number): number => {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new RangeError(
        `Cannot draw an integer as 'min'..'max' must be integers with min <= max: current value is ${min}..${max}`,
      );
    }
    return min + Math.floor(next() * (max - min + 1));
  };
  return {
    next,
    below(n: number): number {
      return Math.floor(next() * n);
    },
    int,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) {
        throw new RangeError("Cannot pick from an empty list");
      }
      return items[int(0, items.length - 1)];
    },
    chance(p: number): boolean {
      return next() < p;
    },
    shuffle<T>(items: readonly T[]): T[] {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}

/**
 * The lab's generator from a 32-bit integer seed.
 *
 * @example
 * ```ts
 * const prng = createPrng(7);
 * prng.int(1, 6); // same value for seed 7 every time
 * ```
 */
export function createPrng(seed: number): Prng {
  if (!Number.isInteger(seed)) {
    throw new RangeError(
      `Cannot create a PRNG as 'seed' must be an integer: current value is ${seed}`,
    );
  }
  // Mixing the seed once keeps small neighbouring seeds (1, 2, 3) from
  // starting on visibly correlated sequences.
  return mulberry32(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b));
}

/** The training code's generator from a 32-bit seed (see {@linkcode mixSeed}). */
export function createTrainingPrng(seed: number): Prng {
  return mulberry32(mixSeed(seed, 0x2545f491));
}
