/**
 * mulberry32, the seeded generator of shared/'s test data and benchmarks:
 * the same seed gives the same sequence on every machine, so a failing case
 * or a benchmark's input can be made again. (The lab and the trainer have
 * their own seeding around the same generator in `models/prng.ts`, kept so
 * the committed captures and model come out the same.)
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
