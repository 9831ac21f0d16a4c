/**
 * Collects what a pass needs for incidents while its flows are scored (the
 * flagged flows, and the benign ones that may have been flagged by an
 * earlier pass), then records the incidents in the pass's transaction once
 * the flows are written (see `recordIncidents`).
 *
 * @module
 */
import {
  type FlowUpsert,
  type IncidentFlowInput,
  recordIncidents,
  type RecordIncidentsResult,
  type Sql,
} from "@traffic-analyzer/shared/db";
import type { PGlite } from "@electric-sql/pglite";

/** Options for {@link PassIncidents}. */
export interface PassIncidentsOptions {
  /** The model's benign class: flows of any other label are flagged. */
  benignLabel: string;
  /** ALERT_MIN_SCORE: flagged flows scored below it join no incident. */
  minScore: number;
  /** See `AssignIncidentsOptions.windowSec`. */
  windowSec: number;
  /**
   * Uids of the flows the flow table held at the start of the pass: only
   * these can have been flagged by an earlier pass. A benign flow outside it
   * is not looked up (on PGlite every flow is upserted, so the writer cannot
   * say which are new). Null trusts the writer's `mayBeStored` alone.
   * @default null
   */
  storedBefore?: ReadonlySet<string> | null;
  /**
   * The embedded PGlite behind the pass's transaction, if any (see
   * `RecordIncidentsOptions.pglite`). @default null
   */
  pglite?: PGlite | null;
}

/** Default gap of packet time after which a source's (or target's) flows open a new incident. */
export const INCIDENT_WINDOW_SEC = 900;

/** A pass's incident input, gathered flow by flow. */
export class PassIncidents {
  readonly #options: PassIncidentsOptions;
  /**
   * Flagged flows said new to `traffic_data` (its COPY) before any flow said
   * maybe stored came, in the order they came. Each such flow comes once
   * (the writer scores each new flow once) unless the COPY is undone, so
   * they need no map by uid: 303k of them in the bench's 1.5 M-packet pass,
   * whose uid-keyed inserts were the largest self time of the scoring
   * hooks under `--cpu-prof` (issue 15).
   */
  #fresh: IncidentFlowInput[] = [];
  /** Set once a flow said maybe stored came: later flows all go to the maps below. */
  #mapped = false;
  /**
   * Flagged flows by uid (a flow scored twice counts once, as last scored),
   * after those in `#fresh`, which came first.
   */
  #flagged = new Map<string, IncidentFlowInput>();
  #cleared = new Set<string>();
  /** Flagged flows in `#flagged` new to `traffic_data` in this pass (its COPY), as last scored. */
  #new = new Set<string>();

  constructor(options: PassIncidentsOptions) {
    const { minScore, windowSec } = options;
    if (!(minScore >= 0 && minScore <= 1)) {
      throw new RangeError(
        `Cannot build incidents as 'minScore' must be 0..1: current value is ${minScore}`,
      );
    }
    if (!(windowSec >= 0)) {
      throw new RangeError(
        `Cannot build incidents as 'windowSec' must be at least 0: current value is ${windowSec}`,
      );
    }
    this.#options = options;
  }

  /** Takes a batch of scored flows (`PassFlowWriterOptions.onScored`). */
  add(flows: readonly FlowUpsert[], mayBeStored: boolean): void {
    const benign = this.#options.benignLabel;
    if (!mayBeStored && !this.#mapped) {
      // Each comes once, so a benign one was never flagged here and has
      // nothing to undo; a flagged one is simply next.
      for (const flow of flows) {
        if (flow.label === null || flow.label === benign || flow.score === null) continue;
        this.#fresh.push(incidentInput(flow, flow.label, flow.score));
      }
      return;
    }
    this.#mapped = true;
    const storedBefore = this.#options.storedBefore ?? null;
    for (const flow of flows) {
      if (flow.label === null || flow.label === benign || flow.score === null) {
        this.#flagged.delete(flow.flow_uid);
        this.#new.delete(flow.flow_uid);
        if (mayBeStored && (storedBefore === null || storedBefore.has(flow.flow_uid))) {
          this.#cleared.add(flow.flow_uid);
        }
        continue;
      }
      this.#cleared.delete(flow.flow_uid);
      if (mayBeStored) this.#new.delete(flow.flow_uid);
      else this.#new.add(flow.flow_uid);
      this.#flagged.set(flow.flow_uid, incidentInput(flow, flow.label, flow.score));
    }
  }

  /**
   * The COPY of the new flows was undone (`PassFlowWriterOptions.onCopyUndone`):
   * they come again, said maybe stored, and must then replace what they
   * left here, so the flagged ones so far go to the maps, first, as they
   * would have been had they been mapped as they came.
   */
  copyUndone(): void {
    if (this.#fresh.length === 0) return;
    const later = [...this.#flagged.values()];
    this.#flagged = new Map();
    for (const flow of this.#fresh) {
      this.#flagged.set(flow.flowUid, flow);
      this.#new.add(flow.flowUid);
    }
    for (const flow of later) this.#flagged.set(flow.flowUid, flow);
    this.#fresh = [];
  }

  /** Records the incidents on the pass's transaction, after its flows are written. */
  async record(tx: Sql): Promise<RecordIncidentsResult> {
    const result = await recordIncidents(tx, {
      newFlagged: this.#fresh,
      flagged: [...this.#flagged.values()],
      clearedUids: [...this.#cleared],
      minScore: this.#options.minScore,
      windowSec: this.#options.windowSec,
      newUids: this.#new,
      pglite: this.#options.pglite ?? null,
    });
    this.#fresh = [];
    this.#mapped = false;
    this.#flagged.clear();
    this.#cleared.clear();
    this.#new.clear();
    return result;
  }
}

function incidentInput(flow: FlowUpsert, label: string, score: number): IncidentFlowInput {
  return {
    flowUid: flow.flow_uid,
    label,
    score,
    origIp: flow.orig_ip,
    respIp: flow.resp_ip,
    respPort: flow.resp_port,
    firstSeen: flow.first_seen,
    lastSeen: flow.last_seen,
  };
}
