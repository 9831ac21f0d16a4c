/**
 * How many cases a fast-check property tries. `deno task test` (what CI runs)
 * tries each property's full count, with a new random seed every run, so the
 * search keeps going over time. `deno task test:unit` sets
 * `PROPERTY_RUNS=quick`: a tenth of the count (at least 50) from a fixed
 * seed, so the contributor loop stays fast and gives the same answer twice.
 * The property itself is the same in both; only the number of inputs tried
 * differs.
 *
 * - `PROPERTY_RUNS`: `full` (the default), `quick`, or a factor such as `0.5`
 *   that scales every count.
 * - `PROPERTY_SEED`: an integer seed for every property, to replay a run.
 *   A failure prints its seed and path; fast-check replays it from them.
 *
 * @module
 */

/** What fast-check's `assert`/`sample` take to set the number of cases and the seed. */
export interface PropertyRunParameters {
  /** Cases to try. */
  numRuns: number;
  /** Seed of the random inputs; absent lets fast-check pick one (and print it on failure). */
  seed?: number;
}

/** Seed of the quick runs, so that `test:unit` tries the same inputs every time. */
const QUICK_SEED = 20261202;
/** Fewest cases a quick run tries, so that a small count still means something. */
const QUICK_MINIMUM_RUNS = 50;
/** Share of the full count a quick run tries. */
const QUICK_FACTOR = 0.1;

function readEnv(name: string): string | undefined {
  const granted = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
  return granted ? Deno.env.get(name) : undefined;
}

/** Options for {@link propertyRuns}; tests of this module pass them, every other caller reads the environment. */
export interface PropertyRunsOptions {
  /**
   * `full`, `quick` or a positive factor.
   * @default the `PROPERTY_RUNS` environment variable, else `full`
   */
  mode?: string;
  /**
   * Seed for every property, as an integer in text.
   * @default the `PROPERTY_SEED` environment variable, else none
   */
  seed?: string;
}

/**
 * Parameters for a property that tries `fullRuns` cases in a full run, scaled
 * by `PROPERTY_RUNS` (see the module doc). A quick run never tries more cases
 * than the full one.
 *
 * @example
 * ```ts ignore
 * fc.assert(fc.property(fc.uint8Array(), (bytes) => { ... }), propertyRuns(3000));
 * ```
 */
export function propertyRuns(
  fullRuns: number,
  options: PropertyRunsOptions = {},
): PropertyRunParameters {
  if (!Number.isInteger(fullRuns) || fullRuns < 1) {
    throw new RangeError(
      `Cannot size a property as 'fullRuns' must be a positive integer: current value is ${fullRuns}`,
    );
  }
  const mode = (options.mode ?? readEnv("PROPERTY_RUNS") ?? "full").trim();
  const factor = mode === "full" || mode === ""
    ? 1
    : mode === "quick"
    ? QUICK_FACTOR
    : Number(mode);
  if (!Number.isFinite(factor) || factor <= 0) {
    throw new RangeError(
      `Cannot size a property as 'PROPERTY_RUNS' must be full, quick or a positive factor: ` +
        `current value is ${mode}`,
    );
  }
  const numRuns = factor === 1
    ? fullRuns
    : Math.max(Math.min(fullRuns, QUICK_MINIMUM_RUNS), Math.ceil(fullRuns * factor));
  const seedText = (options.seed ?? readEnv("PROPERTY_SEED") ?? "").trim();
  if (seedText !== "") {
    const seed = Number(seedText);
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(
        `Cannot seed a property as 'PROPERTY_SEED' must be an integer: current value is ${seedText}`,
      );
    }
    return { numRuns, seed };
  }
  return mode === "quick" ? { numRuns, seed: QUICK_SEED } : { numRuns };
}
