/**
 * Picks the lab runs that evaluation holds out. Whole runs are held out,
 * never a random share of one run's flows: flows of one run share hosts,
 * timing, ports and tool settings, so a split within a run would let the
 * model recognise the run and report a score it cannot reach on a new
 * capture.
 *
 * @module
 */

/** Options for {@linkcode chooseHeldOutRuns}. */
export interface ChooseHeldOutRunsOptions {
  /** Runs to hold out. @default {2} */
  count?: number;
  /** Picks one of the valid sets; the same seed and runs give the same set. @default {1} */
  seed?: number;
}

/** The held-out runs and how they were chosen. */
export interface HeldOutRuns {
  /** Held-out runs, sorted. */
  heldOut: string[];
  /** Training runs, sorted. */
  train: string[];
  /** How many sets of `count` runs were valid (both sides hold every class). */
  validSets: number;
  /** How many sets of `count` runs there are in all. */
  allSets: number;
}

/** Raised when no set of runs can be held out with every class on both sides. */
export class HeldOutRunsError extends Error {
  /** Creates the error; `cause` carries the underlying error, if any. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "HeldOutRunsError";
  }
}

function combinations<T>(items: readonly T[], k: number): T[][] {
  const out: T[][] = [];
  const pick: T[] = [];
  const walk = (from: number) => {
    if (pick.length === k) {
      out.push([...pick]);
      return;
    }
    for (let i = from; i <= items.length - (k - pick.length); i++) {
      pick.push(items[i]);
      walk(i + 1);
      pick.pop();
    }
  };
  walk(0);
  return out;
}

/** MurmurHash3's 32-bit finaliser: spreads consecutive seeds over the whole range. */
function mix32(seed: number): number {
  let h = seed | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Chooses `count` runs to hold out, given each row's run (`groups`) and class
 * (`labels`). Only sets whose held-out runs hold every class of the data, and
 * whose remaining runs do too, are valid: a class missing from the held-out
 * runs would go unmeasured, and one missing from training could not be
 * learnt. Valid sets are listed in sorted order and the seed picks one.
 *
 * @throws {HeldOutRunsError} when no valid set exists.
 *
 * @example
 * ```ts
 * const { heldOut, train } = chooseHeldOutRuns(data.groups, data.y, { count: 2, seed: 1 });
 * ```
 */
export function chooseHeldOutRuns(
  groups: readonly string[],
  labels: readonly string[],
  options: ChooseHeldOutRunsOptions = {},
): HeldOutRuns {
  const count = options.count ?? 2;
  const seed = options.seed ?? 1;
  if (groups.length !== labels.length) {
    throw new RangeError(
      `Cannot choose held-out runs as 'labels' must have one entry per row: current lengths are ${labels.length} and ${groups.length}`,
    );
  }
  if (!Number.isInteger(seed)) {
    throw new RangeError(
      `Cannot choose held-out runs as 'seed' must be an integer: current value is ${seed}`,
    );
  }
  const classesOf = new Map<string, Set<string>>();
  for (let i = 0; i < groups.length; i++) {
    let set = classesOf.get(groups[i]);
    if (!set) classesOf.set(groups[i], set = new Set());
    set.add(labels[i]);
  }
  const runs = [...classesOf.keys()].sort();
  if (!Number.isInteger(count) || count < 1 || count >= runs.length) {
    throw new RangeError(
      `Cannot choose held-out runs as 'count' must be an integer 1..${
        runs.length - 1
      } (there are ${runs.length} runs): current value is ${count}`,
    );
  }
  const allClasses = new Set(labels);
  const covers = (side: readonly string[]) => {
    const seen = new Set<string>();
    for (const r of side) for (const c of classesOf.get(r)!) seen.add(c);
    return seen.size === allClasses.size;
  };
  const sets = combinations(runs, count);
  const valid = sets.filter((held) =>
    covers(held) && covers(runs.filter((r) => !held.includes(r)))
  );
  if (valid.length === 0) {
    throw new HeldOutRunsError(
      `Cannot hold out ${count} of the ${runs.length} runs so that both sides hold all ${allClasses.size} classes: record more runs with \`deno task lab\` or hold out fewer`,
    );
  }
  const heldOut = valid[mix32(seed) % valid.length];
  return {
    heldOut,
    train: runs.filter((r) => !heldOut.includes(r)),
    validSets: valid.length,
    allSets: sets.length,
  };
}
