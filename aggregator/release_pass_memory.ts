/**
 * Gives back, after a pass, the heap the pass needed only while it ran
 * (issue 15). A pass of 250,000 packets allocates several times the heap it
 * leaves alive (the packets' column blocks, the flows it writes, its flow
 * table's saved state as JSON and gzip), and V8 collects its old generation
 * only when that reaches a limit it sets from the last collection, so the
 * garbage of several passes stayed resident: in the soak's reproduction
 * (bench/aggregator_memory.ts; docs/performance_log.md) the heap alive after a pass was
 * 50–90 MB while V8 held 300–470 MB and the process grew past 1 GB. A full
 * collection after each pass keeps V8's heap near what is alive.
 *
 * The collector is taken through `node:v8`'s `setFlagsFromString("--expose-gc")`
 * (nothing on the command line); where that fails it does nothing. (glibc's
 * `malloc_trim(0)` gave back 45–215 MB more in the same reproduction, but
 * needs FFI, which unit tests must not load: not done.)
 *
 * @module
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collect: (() => void) | null | undefined;

function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc");
    collect = typeof gc === "function" ? () => gc() : null;
  } catch {
    collect = null;
  }
  return collect;
}

/**
 * Runs a full garbage collection where the process allows it (see the module
 * doc); returns whether it ran. About 200 ms of CPU with 86 MB alive: once
 * a large pass, not per packet.
 */
export function releasePassMemory(): boolean {
  const gc = collector();
  gc?.();
  return gc !== null;
}
