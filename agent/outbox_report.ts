/**
 * The outbox's status and counters, of the whole store: queue depth, stored
 * bytes, the oldest batch, dead letters, holdings by target, and the
 * persisted counters read in one snapshot so that
 * `captured = sent + stored + dropped + dead_lettered` holds in what is
 * returned.
 *
 * @module
 */
import { type AgentCounters, emptyCounters, TOTAL_COUNTER_NAMES } from "./agent_counters.ts";
import { BY_AGE } from "./outbox_keys.ts";
import {
  COUNTER,
  DEAD_LEVEL,
  noTotals,
  type OutboxCore,
  TOTALS,
  type Totals,
} from "./outbox_core.ts";
import type { OutboxDeadLetters } from "./outbox_dead_letters.ts";
import type { OutboxTargets } from "./outbox_targets.ts";
import type { CounterDeltas, OutboxStatus } from "./outbox_types.ts";

/** Reads the status and counters, and adds to the counters that only grow. */
export class OutboxReport {
  readonly #core: OutboxCore;
  readonly #deadLetters: OutboxDeadLetters;
  readonly #targets: OutboxTargets;

  /** Lists dead letters and holdings through the parts that own them. */
  constructor(core: OutboxCore, deadLetters: OutboxDeadLetters, targets: OutboxTargets) {
    this.#core = core;
    this.#deadLetters = deadLetters;
    this.#targets = targets;
  }

  /** Adds to the counters that only grow, in one atomic write. */
  async addCounters(deltas: CounterDeltas): Promise<void> {
    const op = this.#core.kv.atomic();
    if (this.#core.sumCounters(op, deltas) === 0) return;
    await this.#core.commit(op, null, "count");
  }

  /** The counters, read in one snapshot. */
  async counters(): Promise<AgentCounters> {
    const entries = await this.#core.kv.getMany<unknown[]>([
      ...TOTAL_COUNTER_NAMES.map((name) => [...COUNTER, name]),
      DEAD_LEVEL,
      TOTALS,
    ]);
    const counters = emptyCounters();
    TOTAL_COUNTER_NAMES.forEach((name, i) => {
      counters[name] = Number((entries[i].value as Deno.KvU64 | null)?.value ?? 0n);
    });
    const dead = entries[TOTAL_COUNTER_NAMES.length].value as Deno.KvU64 | null;
    counters.dead_lettered = Number(dead?.value ?? 0n);
    const totals = entries[TOTAL_COUNTER_NAMES.length + 1].value as Totals | null;
    counters.stored = totals?.records ?? 0;
    return counters;
  }

  /** Queue depth, stored bytes, dead letters and counters, of the whole store. */
  async status(): Promise<OutboxStatus> {
    const core = this.#core;
    const totals = (await core.kv.get<Totals>(TOTALS)).value ?? noTotals();
    let oldestCreatedAtMs: number | null = null;
    for await (const entry of core.kv.list({ prefix: BY_AGE }, { limit: 1 })) {
      oldestCreatedAtMs = entry.key[2] as number;
    }
    const deadLetters = await this.#deadLetters.list();
    return {
      pendingBatches: totals.batches,
      pendingRecords: totals.records,
      pendingBytes: totals.bytes,
      maxBytes: core.maxBytes,
      oldestCreatedAtMs,
      deadLetters,
      deadLetterBytes: deadLetters.reduce((sum, d) => sum + d.bodyBytes, 0),
      counters: await this.counters(),
      targets: await this.#targets.targets(),
    };
  }
}
