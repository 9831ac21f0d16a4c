/**
 * mulberry32, the project's one seeded generator: test data, benchmarks, and
 * (through `models/prng.ts`, which adds the lab's and the trainer's seeding
 * and helpers) the lab and the training code. The same seed gives the same
 * sequence on every machine, so a failing case, a benchmark's input or a
 * trained model can be made again; `Math.random` cannot be seeded.
 *
 * @module
 */

/**
 * A generator of floats in [0, 1) from a 32-bit seed.
 *
 * @example
 * ```ts
 * const random = mulberry32(7);
 * const coin = random() < 0.5;
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
