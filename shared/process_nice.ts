/**
 * Sets the scheduling priority (nice value) of this process, so that work
 * that cannot wait runs before work that can when the cores are busy: live
 * capture before the server and the aggregator, whose backlogs are durable
 * (the agent's outbox, the ingested batches), while the kernel's capture
 * ring is not (what overflows it is lost).
 *
 * On Linux a nice value belongs to a thread, and `setpriority(PRIO_PROCESS,
 * 0)` (what `node:os`'s `setPriority` calls) changes the calling thread only;
 * the runtime's own threads (the I/O and blocking pools that carry uploads,
 * Deno KV's commits and the database's sockets) started earlier would keep
 * theirs. So each thread listed in `/proc/self/task` is set; a thread made
 * later (a `Worker`, the ONNX runtime's pool) starts with its creator's.
 *
 * @module
 */
import { getPriority, setPriority } from "node:os";

/** How threads are listed and their priority read and set (tests pass their own). */
export interface PriorityAccess {
  /** Ids of the process's threads; `[0]` (the calling thread) where they cannot be listed. */
  threads(): number[];
  /** A thread's nice value (0: the calling thread). */
  get(thread: number): number;
  /** Sets a thread's nice value (0: the calling thread); throws when not permitted. */
  set(thread: number, nice: number): void;
}

const NODE_PRIORITY: PriorityAccess = {
  threads() {
    if (Deno.build.os !== "linux") return [0];
    try {
      return [...Deno.readDirSync("/proc/self/task")].map((entry) => Number(entry.name));
    } catch {
      return [0];
    }
  },
  get: (thread) => getPriority(thread),
  set: (thread, nice) => setPriority(thread, nice),
};

/** Options for {@linkcode setProcessNice}. */
export interface SetProcessNiceOptions {
  /** The nice value wanted, -20 (first) to 19 (last). */
  nice: number;
  /** Names the setting for the message, e.g. `CAPTURE_NICE`. */
  setting: string;
  /**
   * How threads are listed and their priority set.
   * @default {/proc/self/task and node:os's getPriority and setPriority}
   */
  access?: PriorityAccess;
}

/** What {@linkcode setProcessNice} did. */
export interface ProcessNiceOutcome {
  /** The calling thread's nice value before. */
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
 * Sets every thread of this process to nice value `nice`, the calling
 * thread first. Never throws for want of permission: the process then keeps
 * its priority, and the outcome says why, for the caller to log (running at
 * the old priority is no reason to stop). A thread that ended meanwhile is
 * passed over.
 */
export function setProcessNice(options: SetProcessNiceOptions): ProcessNiceOutcome {
  const { nice, setting } = options;
  const access = options.access ?? NODE_PRIORITY;
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
    throw new RangeError(
      `Cannot set the process's priority as '${setting}' must be an integer from -20 to 19: ` +
        `current value is ${nice}`,
    );
  }
  const before = access.get(0);
  try {
    if (before !== nice) access.set(0, nice);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      before,
      after: before,
      problem: `cannot set ${setting}=${nice} (nice ${before} kept): ${reason}` +
        (nice < before ? "; a lower nice value needs root or CAP_SYS_NICE" : ""),
    };
  }
  for (const thread of access.threads()) {
    try {
      if (thread !== 0 && access.get(thread) !== nice) access.set(thread, nice);
    } catch {
      // The thread ended after it was listed; the calling thread's own setting stood.
    }
  }
  return { before, after: access.get(0), problem: null };
}
