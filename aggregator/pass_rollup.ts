/**
 * The dashboard roll-ups' share of a pass (migration 020): what the pass's
 * flow writes change, added in the pass's transaction after the flows, so
 * the roll-ups never disagree with `traffic_data`. A flow new to the table
 * (COPY) counts as written. A flow that may be stored already (a long flow
 * written pass after pass; every flow on PGlite) counts as its row after the
 * upsert minus its row before, both read back: the upsert keeps some stored
 * columns (`first_seen`, the endpoints), so the row is the truth.
 *
 * @module
 */
import {
  addDashboardRollupDeltas,
  DashboardRollupDeltas,
  type FlowUpsert,
  foldDashboardHours,
  HOST_HOUR_KEEP,
  planFoldAhead,
  readStoredRollupFlows,
  ROLLUP_OTHER,
  type RollupFlow,
  SERVICE_HOUR_KEEP,
  type Sql,
} from "@traffic-analyzer/shared/db";

function rollupFlow(flow: FlowUpsert): RollupFlow {
  return {
    first_seen: flow.first_seen,
    last_seen: flow.last_seen,
    protocol: flow.protocol,
    label: flow.label,
    packets: flow.orig_packets + flow.resp_packets,
    bytes: flow.orig_bytes + flow.resp_bytes,
    orig_ip: flow.orig_ip,
    resp_ip: flow.resp_ip,
    resp_port: flow.resp_port,
  };
}

/** Collects a pass's roll-up deltas (see `PassFlowWriter`'s hooks) and writes them. */
export class PassRollup {
  /** Flows going in by COPY: new to `traffic_data`. */
  #copied = new DashboardRollupDeltas();
  /** Upserted flows' stored rows, subtracted; their rows as written are added in `record`. */
  readonly #upserted = new DashboardRollupDeltas();
  readonly #upsertedUids: string[] = [];

  /**
   * Takes a batch of scored flows; `mayBeStored` as
   * `PassFlowWriterOptions.onScored` says. Only new ones count here.
   */
  add(flows: readonly FlowUpsert[], mayBeStored: boolean): void {
    if (mayBeStored) return;
    for (const flow of flows) this.#copied.addFlow(rollupFlow(flow), 1);
  }

  /** The COPY was undone: its flows come again, to be upserted. */
  dropCopied(): void {
    this.#copied = new DashboardRollupDeltas();
  }

  /** Subtracts the stored versions of flows about to be upserted (call before they are sent). */
  async subtractStored(tx: Sql, uids: readonly string[]): Promise<void> {
    for (const uid of uids) this.#upsertedUids.push(uid);
    for (const stored of await readStoredRollupFlows(tx, uids)) {
      this.#upserted.addFlow(stored, -1);
    }
  }

  /**
   * Writes the deltas (after every flow is stored) and folds the hours that
   * are over. The new flows' hours that the fold closes in this same pass
   * are folded before they are written where that gives the same rows
   * (`planFoldAhead`): a pass over a backlog spanning many hours wrote each
   * of their host and service rows only for the fold to delete most.
   */
  async record(tx: Sql): Promise<void> {
    for (const written of await readStoredRollupFlows(tx, this.#upsertedUids)) {
      this.#upserted.addFlow(written, 1);
    }
    const foldAhead = await planFoldAhead(tx, this.#copied, [this.#upserted], {
      other: ROLLUP_OTHER,
      hostsKept: HOST_HOUR_KEEP,
      servicesKept: SERVICE_HOUR_KEEP,
    });
    await addDashboardRollupDeltas(tx, this.#copied, { foldAhead });
    await addDashboardRollupDeltas(tx, this.#upserted);
    await foldDashboardHours(tx);
  }
}
