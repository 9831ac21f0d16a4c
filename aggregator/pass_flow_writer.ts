/**
 * Scores a pass's flows and writes them to `traffic_data` while the pass is
 * still merging: flows are handed over as they become final (ended) and at
 * the end (the live ones), scored in batches, and sent at once, so the
 * database stores one batch while this process merges and scores the next.
 *
 * Flows new to `traffic_data` go in by binary COPY (see `openFlowCopy`; on
 * PGlite through its `COPY FROM '/dev/blob'`), in a savepoint: should one be
 * stored already after all (COPY cannot update), the COPY is undone and they
 * are upserted instead. Flows that may be stored already are upserted.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { PGlite } from "@electric-sql/pglite";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import {
  CopyInError,
  type FlowCopy,
  type FlowUpsert,
  openFlowCopy,
  type Sql,
  upsertFlows,
} from "@traffic-analyzer/shared/db";
import {
  FEATURE_VERSION,
  type FlowAppFields,
  flowFeatureVector,
  type FlowRecord,
  NO_FLOW_APP_FIELDS,
} from "@traffic-analyzer/shared/flow";
import { type AddressEnrichment, FlowEnricher } from "@traffic-analyzer/shared/enrich";
import type { FeatureContribution } from "@traffic-analyzer/shared/explain";

const log = getLogger([LOG_ROOT, "aggregator"]);

/** What scores flows: the ONNX scorer in production. */
export interface FlowScorer {
  /** Version of the model, stored with every flow. */
  readonly modelVersion: string;
  /** The class of harmless flows; every other label is flagged. @default "benign" */
  readonly benignLabel?: string;
  /**
   * Scores feature vectors; one result per row, in order. With
   * `explainMinScore`, a flow scored at least that carries its explanation
   * (see `OnnxFlowScorer.score`).
   */
  score(
    rows: Float32Array[],
    options?: { explainMinScore?: number | null; explainMaxFlows?: number | null },
  ): Promise<FlowVerdict[]>;
}

/** One flow's verdict from a {@linkcode FlowScorer}. */
export interface FlowVerdict {
  /** Most probable class. */
  label: string;
  /** The calibrated probability of an attack (see score_calibration.ts). */
  score: number;
  /** Top TreeSHAP contributions, when asked for and the score reached the bar. */
  explanation?: FeatureContribution[] | null;
}

/** Options for {@link PassFlowWriter}. */
export interface PassFlowWriterOptions {
  /** The pass's transaction. */
  tx: Sql;
  /** The embedded PGlite behind `tx`, whose COPY takes a blob; null on PostgreSQL. @default null */
  pglite?: PGlite | null;
  /** Scores flows; every written flow carries its label, score and model version. */
  scorer: FlowScorer;
  /** Flows scored per model call and written per statement. */
  batchSize: number;
  /**
   * ALERT_MIN_SCORE: flows scored at least this are stored with their
   * explanation; null stores none. @default null
   */
  explainMinScore?: number | null;
  /**
   * Most flows explained in the pass; alerted flows beyond it are stored
   * without an explanation (`deno task rescore` adds them later). Batches
   * are explained in the order they are scored, each taking what the ones
   * before it left. `null` for no limit. @default null
   */
  maxExplainedFlows?: number | null;
  /**
   * Uids of the flows that may be in `traffic_data` already (the flow
   * table's at the start of the pass); every other flow is new there and
   * goes in by COPY. Null writes every flow by upsert.
   */
  maybeStored: ReadonlySet<string> | null;
  /**
   * Called with each batch of scored flows before it is sent; `mayBeStored`
   * is false for flows known to be new to `traffic_data`. A flow can come
   * twice (new, then upserted after a COPY conflict): the last call wins.
   * @default none
   */
  onScored?: (flows: readonly FlowUpsert[], mayBeStored: boolean) => void;
  /**
   * Called when the COPY of new flows was undone (one was stored after
   * all): what `onScored` said of them with `mayBeStored` false no longer
   * holds; they come again, to be upserted. @default none
   */
  onCopyUndone?: () => void;
  /**
   * Called once in `finish()` with the uids of the flows about to be
   * upserted, before any is sent: `traffic_data` still holds their stored
   * versions (the roll-ups subtract them). @default none
   */
  beforeUpsert?: (uids: readonly string[]) => Promise<void>;
  /**
   * GeoIP country and ASN of each flow's endpoints (scopes only without a
   * database). @default scopes only
   */
  enricher?: FlowEnricher;
}

/**
 * The row of a scored flow, read through getters from the flow record, its
 * app fields, its endpoints' enrichment and its verdict: nothing is copied
 * until a writer reads it. Built as one object literal naming all 59 fields
 * (itself twice as quick as two spreads), a row was the pass's costliest
 * allocation outside the flow table: `--cpu-prof` of the bench's
 * 1.5 M-packet pass put 1.4 s of self time on that literal, and the COPY
 * then read every field back out of it once.
 */
class ScoredFlowRow implements FlowUpsert {
  readonly #flow: FlowRecord;
  readonly #app: FlowAppFields;
  readonly #orig: AddressEnrichment | null;
  readonly #resp: AddressEnrichment | null;
  readonly #vector: Float32Array;
  readonly #verdict: FlowVerdict;
  readonly #modelVersion: string;

  constructor(
    flow: FlowRecord,
    vector: Float32Array,
    verdict: FlowVerdict,
    modelVersion: string,
    enricher: FlowEnricher,
  ) {
    this.#flow = flow;
    this.#app = flow.app ?? NO_FLOW_APP_FIELDS;
    // Originator first: the enricher's cache is emptied when full, so the order counts.
    this.#orig = flow.orig_ip === null ? null : enricher.address(flow.orig_ip);
    this.#resp = flow.resp_ip === null ? null : enricher.address(flow.resp_ip);
    this.#vector = vector;
    this.#verdict = verdict;
    this.#modelVersion = modelVersion;
  }

  get app_protocol(): string | null {
    return this.#app.app_protocol;
  }
  get dns_query(): string | null {
    return this.#app.dns_query;
  }
  get dns_qtype(): number | null {
    return this.#app.dns_qtype;
  }
  get dns_rcode(): number | null {
    return this.#app.dns_rcode;
  }
  get dns_answers(): string | null {
    return this.#app.dns_answers;
  }
  get dns_query_count(): number {
    return this.#app.dns_query_count;
  }
  get dns_names(): string | null {
    return this.#app.dns_names;
  }
  get tls_sni(): string | null {
    return this.#app.tls_sni;
  }
  get tls_alpn(): string | null {
    return this.#app.tls_alpn;
  }
  get tls_ja3(): string | null {
    return this.#app.tls_ja3;
  }
  get tls_ja4(): string | null {
    return this.#app.tls_ja4;
  }
  get tls_version(): number | null {
    return this.#app.tls_version;
  }
  get tls_cipher(): number | null {
    return this.#app.tls_cipher;
  }
  get http_method(): string | null {
    return this.#app.http_method;
  }
  get http_host(): string | null {
    return this.#app.http_host;
  }
  get http_path(): string | null {
    return this.#app.http_path;
  }
  get http_user_agent(): string | null {
    return this.#app.http_user_agent;
  }
  get http_status(): number | null {
    return this.#app.http_status;
  }
  get ssh_client(): string | null {
    return this.#app.ssh_client;
  }
  get ssh_server(): string | null {
    return this.#app.ssh_server;
  }
  get dhcp_hostname(): string | null {
    return this.#app.dhcp_hostname;
  }
  get orig_scope(): FlowUpsert["orig_scope"] {
    return this.#orig?.scope ?? null;
  }
  get orig_country(): string | null {
    return this.#orig?.country ?? null;
  }
  get orig_asn(): number | null {
    return this.#orig?.asn ?? null;
  }
  get orig_as_org(): string | null {
    return this.#orig?.asOrganization ?? null;
  }
  get resp_scope(): FlowUpsert["resp_scope"] {
    return this.#resp?.scope ?? null;
  }
  get resp_country(): string | null {
    return this.#resp?.country ?? null;
  }
  get resp_asn(): number | null {
    return this.#resp?.asn ?? null;
  }
  get resp_as_org(): string | null {
    return this.#resp?.asOrganization ?? null;
  }
  get flow_uid(): string {
    return this.#flow.flow_uid;
  }
  get community_id(): string | null {
    return this.#flow.community_id;
  }
  get interface(): string | null {
    return this.#flow.interface;
  }
  get agent(): string | null {
    return this.#flow.agent;
  }
  get tunnel_type(): string | null {
    return this.#flow.tunnel_type;
  }
  get tunnel_id(): number | null {
    return this.#flow.tunnel_id;
  }
  get orig_ip(): string | null {
    return this.#flow.orig_ip;
  }
  get orig_port(): number | null {
    return this.#flow.orig_port;
  }
  get resp_ip(): string | null {
    return this.#flow.resp_ip;
  }
  get resp_port(): number | null {
    return this.#flow.resp_port;
  }
  get protocol(): string {
    return this.#flow.protocol;
  }
  get ip_proto(): number | null {
    return this.#flow.ip_proto;
  }
  get vlan(): number | null {
    return this.#flow.vlan;
  }
  get vlan_inner(): number | null {
    return this.#flow.vlan_inner;
  }
  get first_seen(): number {
    return this.#flow.first_seen;
  }
  get last_seen(): number {
    return this.#flow.last_seen;
  }
  get orig_packets(): number {
    return this.#flow.orig_packets;
  }
  get resp_packets(): number {
    return this.#flow.resp_packets;
  }
  get orig_bytes(): number {
    return this.#flow.orig_bytes;
  }
  get resp_bytes(): number {
    return this.#flow.resp_bytes;
  }
  get state(): FlowUpsert["state"] {
    return this.#flow.state;
  }
  get close_reason(): string | null {
    return this.#flow.close_reason;
  }
  get conn_state(): string | null {
    return this.#flow.conn_state;
  }
  /** Stored as float32 bytes, non-finite values as 0. */
  get features(): Float32Array {
    return this.#vector;
  }
  get feature_version(): number {
    return FEATURE_VERSION;
  }
  get label(): string {
    return this.#verdict.label;
  }
  get score(): number {
    return this.#verdict.score;
  }
  get model_version(): string {
    return this.#modelVersion;
  }
  get explanation(): FeatureContribution[] | null {
    return this.#verdict.explanation ?? null;
  }
}

/** A COPY that failed because a row's flow_uid is stored already. */
function isConflict(error: unknown): error is CopyInError {
  return error instanceof CopyInError && error.code === "23505";
}

/**
 * Takes a pass's flows as they come and writes each once, scored. A flow
 * must not be added twice (the flow table reports each once per pass when
 * merged with `mergeEnded()` and `takeChanged()`).
 */
export class PassFlowWriter {
  readonly #options: PassFlowWriterOptions;
  /** New flows not scored yet, and flows that may be stored already, to upsert at the end. */
  #pendingNew: FlowRecord[] = [];
  #maybeStored: FlowRecord[] = [];
  /** Every new flow handed to the COPY, to upsert instead should it fail. */
  #copied: FlowRecord[] = [];
  #copy: Promise<FlowCopy> | null = null;
  /**
   * Batches of new flows being scored and sent, oldest first. Each is sent
   * after the one before it (one COPY, in order), but scored at once: with
   * the scorer in a worker, the model scores while the pass merges on.
   */
  #sending: Promise<void>[] = [];
  /**
   * Set once the COPY failed because a flow was stored already: the rest is
   * not sent, and `finish()` undoes the COPY and upserts its flows instead.
   */
  #conflict: CopyInError | null = null;
  /** Upserts sent and not awaited yet (the first failure is reported). */
  #upserts: Promise<number>[] = [];
  #written = 0;

  readonly #enricher: FlowEnricher;
  /** Explanations the pass may still compute; null for no limit. */
  #explainLeft: number | null;
  /**
   * The last score call. The next one waits for it when explanations are
   * limited: started at once, each of the batches in flight (up to three)
   * was told the whole budget, and a pass explained up to three times its
   * limit (3000 of 1000 in the bench's pass, each 0.8 to 2.5 ms of CPU).
   * The worker scores one request at a time anyway, so little is lost.
   */
  #lastScoring: Promise<unknown> = Promise.resolve();

  constructor(options: PassFlowWriterOptions) {
    this.#options = options;
    this.#explainLeft = options.maxExplainedFlows ?? null;
    this.#enricher = options.enricher ?? new FlowEnricher({ database: null });
  }

  /** Takes flows; scores and sends a batch whenever enough new ones are waiting. */
  async add(flows: readonly FlowRecord[]): Promise<void> {
    const maybeStored = this.#options.maybeStored;
    if (maybeStored === null) {
      for (const flow of flows) this.#maybeStored.push(flow);
    } else if (maybeStored.size === 0) {
      for (const flow of flows) this.#pendingNew.push(flow);
    } else {
      for (const flow of flows) {
        if (maybeStored.has(flow.flow_uid)) this.#maybeStored.push(flow);
        else this.#pendingNew.push(flow);
      }
    }
    while (this.#pendingNew.length >= this.#options.batchSize) {
      this.#sendNew(this.#pendingNew.splice(0, this.#options.batchSize));
      // Two batches in flight keep the scorer and the database busy; more
      // would only hold more flows in memory.
      while (this.#sending.length > 2) await this.#sending.shift();
    }
  }

  /** Writes everything still waiting; resolves once all is stored. Returns the flows written. */
  async finish(): Promise<number> {
    const { batchSize, tx } = this.#options;
    for (let i = 0; i < this.#pendingNew.length; i += batchSize) {
      this.#sendNew(this.#pendingNew.slice(i, i + batchSize));
    }
    this.#pendingNew = [];
    for (const sending of this.#sending.splice(0)) await sending;
    if (this.#copy !== null) {
      const copy = await this.#copy;
      if (this.#conflict === null) {
        try {
          this.#written += await copy.end();
        } catch (error) {
          if (!isConflict(error)) throw error;
          this.#conflict = error;
        }
      }
      if (this.#conflict === null) {
        await tx`release savepoint new_flows`;
      } else {
        log.warn(
          "A new flow was in traffic_data already; upserting this pass's new flows instead",
          { error: this.#conflict },
        );
        await tx`rollback to savepoint new_flows`;
        this.#options.onCopyUndone?.();
        // A loop: a pass can copy more flows than a spread may pass as arguments.
        for (const flow of this.#copied) this.#maybeStored.push(flow);
      }
      this.#copy = null;
      this.#copied = [];
    }
    if (this.#maybeStored.length > 0 && this.#options.beforeUpsert) {
      await this.#options.beforeUpsert(this.#maybeStored.map((flow) => flow.flow_uid));
    }
    for (let i = 0; i < this.#maybeStored.length; i += batchSize) {
      this.#upsert(await this.#score(this.#maybeStored.slice(i, i + batchSize), true));
    }
    this.#maybeStored = [];
    for (const upsert of this.#upserts) this.#written += await upsert;
    this.#upserts = [];
    return this.#written;
  }

  /**
   * Closes an open COPY without storing it, after a failure elsewhere: a
   * COPY left open blocks every later statement of the transaction,
   * including its rollback.
   */
  async abort(reason: Error): Promise<void> {
    const copy = this.#copy;
    this.#copy = null;
    if (copy !== null) await (await copy.catch(() => null))?.abort(reason);
  }

  async #score(flows: FlowRecord[], mayBeStored: boolean): Promise<FlowUpsert[]> {
    const { scorer } = this.#options;
    const vectors = flows.map((f) => flowFeatureVector(f));
    const explainMinScore = this.#options.explainMinScore ?? null;
    let scoring: Promise<FlowVerdict[]>;
    if (this.#explainLeft === null || explainMinScore === null) {
      scoring = scorer.score(vectors, { explainMinScore, explainMaxFlows: this.#explainLeft });
    } else {
      scoring = this.#lastScoring.then(async () => {
        const scores = await scorer.score(vectors, {
          explainMinScore,
          explainMaxFlows: this.#explainLeft,
        });
        const explained = scores.filter((s) => s.explanation != null).length;
        this.#explainLeft = Math.max(0, this.#explainLeft! - explained);
        return scores;
      });
      // A failed call fails its own batch; the next still takes its turn.
      this.#lastScoring = scoring.catch(() => {});
    }
    const scores = await scoring;
    const upserts = flows.map((flow, j) =>
      new ScoredFlowRow(flow, vectors[j], scores[j], scorer.modelVersion, this.#enricher)
    );
    this.#options.onScored?.(upserts, mayBeStored);
    return upserts;
  }

  #upsert(upserts: FlowUpsert[]): void {
    const writing = upsertFlows(this.#options.tx, upserts);
    writing.catch(() => {});
    this.#upserts.push(writing);
  }

  /** Scores a batch of new flows now and queues it for the COPY. */
  #sendNew(flows: FlowRecord[]): void {
    const scoring = this.#score(flows, false);
    scoring.catch(() => {});
    if (this.#copy === null) {
      const { tx } = this.#options;
      this.#copy = tx`savepoint new_flows`.execute().then(() =>
        openFlowCopy(tx, { pglite: this.#options.pglite })
      );
      this.#copy.catch(() => {});
    }
    const opening = this.#copy;
    for (const flow of flows) this.#copied.push(flow);
    const previous = this.#sending.at(-1) ?? opening;
    const sending = previous.then(async () => {
      const upserts = await scoring;
      if (this.#conflict !== null) return;
      try {
        await (await opening).write(upserts);
      } catch (error) {
        // The server may report a stored flow while later batches are sent.
        if (!isConflict(error)) throw error;
        this.#conflict = error;
      }
    });
    sending.catch(() => {});
    this.#sending.push(sending);
  }
}
