/**
 * Sets the scheduling priority (nice value) of the calling thread, so that
 * work that cannot wait runs before work that can when the cores are busy:
 * live capture before the server and the aggregator, whose backlogs are
 * durable (the agent's outbox, the ingested batches), while the kernel's
 * capture ring is not (what overflows it is lost).
 *
 * On Linux a nice value belongs to a thread: `setpriority(PRIO_PROCESS, 0)`,
 * which `node:os`'s `setPriority` calls, changes the calling thread only,
 * and a thread started later (a `Worker`, the ONNX runtime's pool) starts
 * with its creator's. So call it before starting the workers that should
 * share it. The runtime's own threads, started before any JavaScript runs
 * (its I/O pool), keep theirs: listing them needs `/proc/self/task`, which
 * Deno lets only a program run with `--allow-all` read.
 *
 * @module
 */
import { getPriority, setPriority } from "node:os";

/** How the calling thread's priority is read and set (tests pass their own). */
export interface PriorityAccess {
  /** The calling thread's nice value. */
  get(): number;
  /** Sets the calling thread's nice value; throws when not permitted. */
  set(nice: number): void;
}

const NODE_PRIORITY: PriorityAccess = {
  get: () => getPriority(),
  set: (nice) => setPriority(nice),
};

/** Options for {@linkcode setThreadNice}. */
export interface SetThreadNiceOptions {
  /** The nice value wanted, -20 (first) to 19 (last). */
  nice: number;
  /** Names the setting for the message, e.g. `CAPTURE_NICE`. */
  setting: string;
  /**
   * How the priority is read and set.
   * @default {node:os's getPriority and setPriority}
   */
  access?: PriorityAccess;
}

/** What {@linkcode setThreadNice} did. */
export interface ThreadNiceOutcome {
  /** The thread's nice value before. */
  before: number;
  /** Its nice value after: `nice` when it was set, `before` when it could not be. */
  after: number;
  /**
   * Why the value could not be set (a nice value below the current one
   * needs root or CAP_SYS_NICE); null when it was set or already held.
   */
  problem: string | null;
}

/**
 * Sets the calling thread's nice value to `nice`. Never throws for want of
 * permission: the thread then keeps its priority, and the outcome says why,
 * for the caller to log (running at the old priority is no reason to stop).
 */
export function setThreadNice(options: SetThreadNiceOptions): ThreadNiceOutcome {
  const { nice, setting } = options;
  const access = options.access ?? NODE_PRIORITY;
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
    throw new RangeError(
      `Cannot set the thread's priority as '${setting}' must be an integer from -20 to 19: ` +
        `current value is ${nice}`,
    );
  }
  const before = access.get();
  if (before === nice) return { before, after: nice, problem: null };
  try {
    access.set(nice);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      before,
      after: before,
      problem: `cannot set ${setting}=${nice} (nice ${before} kept): ${reason}` +
        (nice < before ? "; a lower nice value needs root or CAP_SYS_NICE" : ""),
    };
  }
  return { before, after: access.get(), problem: null };
}
