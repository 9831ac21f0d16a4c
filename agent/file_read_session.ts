/**
 * Exactly-once reading of a capture file across crashes and reruns.
 *
 * - Batch keys come from the file's content hash and the batch's position:
 *   `<agentId>:<fileId>:<firstIndex>+<count>` (a 413 split adds `/0`, `/1`).
 *   Batches are cut by count only, so a rerun cuts the same batches under the
 *   same keys, and the server's idempotency answers 200 for what it holds.
 * - Each batch is filed (sent, stored, dropped or dead-lettered) together
 *   with a guard key in KV, in one atomic write with the counters. A batch
 *   read again after a crash finds its guard and is neither counted nor
 *   stored twice.
 * - Progress is the index below which every batch is filed. It is saved in
 *   KV (at most every `saveIntervalMs`, and at the end), guards below it are
 *   removed, and a rerun resumes there. It may lag the truth, never lead it:
 *   what lies between is found filed by its guards.
 *
 * - Records of frames without an interface name carry the file's name. It
 *   is the name of the file's first read, kept for good: a copy read under
 *   another name makes the same records, so the same bodies under the same
 *   keys (another body under a known key would be refused with 409).
 *
 * - Progress and guards are kept per server (the ingest URL, as the outbox
 *   keys its batches): a file read into one server is read again into
 *   another, and a `--restart` into one leaves the other's progress alone.
 *
 * KV layout (see `outbox_keys.ts`):
 * - `["progress", target, agentId, fileId]`: {@link ReadProgress}
 * - `["filed", target, agentId, fileId, firstIndex, key]`: a filed batch or part
 * - `["read", agentId, fileId, "name"]`: the file name records carry (one per
 *   agent and file, whatever the server)
 *
 * Agents older than per-server progress kept it at `["read", agentId,
 * fileId, "progress"]` (and guards at `[…, "filed", firstIndex, key]`),
 * recording no server: the first read of the file into any server after the
 * upgrade takes that progress over as its own (logged), unless it is a
 * `--restart`, which leaves it for the next.
 *
 * @module
 */
import { commitKv } from "./kv_commit.ts";
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import type { PayloadCapture } from "@traffic-analyzer/shared/packet";
import type { PacketBatch } from "./batcher.ts";
import type { BatchSink, FilingLedger } from "./delivery.ts";
import { type FileIdentity, identifyFile } from "./file_identity.ts";
import { FILED, PROGRESS, targetPart } from "./outbox_keys.ts";

/** What KV remembers of a file's read. */
export interface ReadProgress {
  /** Every batch before this packet index is filed. */
  nextIndex: number;
  /** True once the file was read to its end and every batch filed. */
  complete: boolean;
  /** Packets in the file, once read to the end; null before. */
  packets: number | null;
  /** BATCH_SIZE the batches were cut with (keys depend on it). */
  batchSize: number;
  /** PAYLOAD_CAPTURE the records were made with (bodies depend on it). */
  payloadCapture: PayloadCapture;
  /**
   * APP_METADATA the records were made with (bodies depend on it too);
   * absent in progress saved before the setting existed.
   */
  appMetadata?: boolean;
  /** The path it was last read from (for people; the identity is the content). */
  path: string;
  /** When this was saved, epoch ms. */
  updatedAtMs: number;
}

/** Options for {@link FileReadSession.open}. */
export interface FileReadSessionOptions {
  /** The agent's KV store. */
  kv: Deno.Kv;
  /** The capture file. */
  path: string;
  /** Agent id: the keys' prefix, and progress is kept per agent. */
  agentId: string;
  /**
   * The ingest URL the file is read into (as the outbox names it): progress
   * is kept per server. Null only in tests.
   */
  target: string | null;
  /** BATCH_SIZE. */
  batchSize: number;
  /**
   * `batchSize` is the default, not a setting: a partly read file then
   * resumes with the size it was cut with instead of being refused.
   * @default false
   */
  batchSizeIsDefault?: boolean;
  /** PAYLOAD_CAPTURE. */
  payloadCapture: PayloadCapture;
  /** APP_METADATA. @default true */
  appMetadata?: boolean;
  /** `--restart`: forget the progress and read from the first packet. @default false */
  restart?: boolean;
  /** Least time between two progress saves. @default 250 */
  saveIntervalMs?: number;
  /** Clock in epoch ms. @default Date.now */
  clock?: () => number;
}

/** Raised when a file cannot be resumed as asked; the message names the setting. */
export class FileReadError extends Error {
  /** Builds the error. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "FileReadError";
  }
}

interface OpenBatch {
  key: string;
  firstIndex: number;
  count: number;
  /** Records not filed yet. */
  unfiled: number;
}

/** Deletes per atomic write; KV allows 1,000 mutations in one. */
const DELETE_CHUNK = 500;
const log = getLogger([LOG_ROOT, "agent", "read"]);

/**
 * One `--read` of one file: its keys, the guards of its batches, and its
 * progress.
 *
 * @example
 * ```ts
 * const session = await FileReadSession.open({ kv, path, agentId, batchSize: 100, payloadCapture: "full" });
 * const services = await openAgentServices({ config, agentId, kv, mode: "file", ledger: session });
 * await runPipeline({
 *   frames: readCaptureBatches(path),
 *   sink: session.sink(services.delivery),
 *   batchTimeoutMs: Infinity,
 *   keyOf: (first, count) => session.keyOf(first, count),
 *   skipFrames: session.startIndex,
 *   // …
 * });
 * await services.delivery.drain();
 * await session.finish({ complete: true, packets });
 * ```
 */
export class FileReadSession implements FilingLedger {
  /** The file's identity. */
  readonly identity: FileIdentity;
  /** Where this run starts: packets before it were filed by an earlier run. */
  readonly startIndex: number;
  /** The progress found at the start (null for a first read or `--restart`). */
  readonly previous: ReadProgress | null;
  /** The interface name of frames without one: the file's name at its first read. */
  readonly sourceName: string;
  readonly #kv: Deno.Kv;
  readonly #path: string;
  readonly #agentId: string;
  readonly #batchSize: number;
  readonly #payloadCapture: PayloadCapture;
  readonly #appMetadata: boolean;
  readonly #saveIntervalMs: number;
  readonly #clock: () => number;
  readonly #target: string | null;
  readonly #progressKey: Deno.KvKey;
  readonly #guardPrefix: Deno.KvKey;
  /** Batches handed to the delivery and not all filed, in file order. */
  readonly #open: OpenBatch[] = [];
  readonly #byKey = new Map<string, OpenBatch>();
  #nextIndex: number;
  #savedIndex: number;
  #lastSaveMs = -Infinity;
  #saving: Promise<void> = Promise.resolve();
  #saveTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    options: FileReadSessionOptions,
    identity: FileIdentity,
    previous: ReadProgress | null,
    sourceName: string,
  ) {
    this.identity = identity;
    this.previous = previous;
    this.sourceName = sourceName;
    this.startIndex = previous?.nextIndex ?? 0;
    this.#kv = options.kv;
    this.#path = options.path;
    this.#agentId = options.agentId;
    this.#batchSize = options.batchSize;
    this.#payloadCapture = options.payloadCapture;
    this.#appMetadata = options.appMetadata ?? true;
    this.#saveIntervalMs = options.saveIntervalMs ?? 250;
    this.#clock = options.clock ?? Date.now;
    this.#target = options.target;
    const keys = FileReadSession.#keys(options, identity.id);
    this.#progressKey = keys.progress;
    this.#guardPrefix = keys.guards;
    this.#nextIndex = this.startIndex;
    this.#savedIndex = this.startIndex;
  }

  /**
   * Identifies the file and loads its progress. Throws {@link FileReadError}
   * when a partly read file would be resumed with another BATCH_SIZE or
   * PAYLOAD_CAPTURE (its keys or bodies would change).
   */
  static async open(options: FileReadSessionOptions): Promise<FileReadSession> {
    const identity = await identifyFile(options.path, { kv: options.kv });
    const keys = FileReadSession.#keys(options, identity.id);
    if (options.restart) await FileReadSession.#forget(options.kv, keys);
    else await FileReadSession.#takeOverLegacy(options, identity.id, keys);
    const previous = (await options.kv.get<ReadProgress>(keys.progress)).value;
    if (previous !== null && !previous.complete && options.batchSizeIsDefault) {
      options = { ...options, batchSize: previous.batchSize };
    }
    if (previous !== null && !previous.complete) {
      const mismatch = previous.batchSize !== options.batchSize
        ? `BATCH_SIZE=${previous.batchSize} (now ${options.batchSize})`
        : previous.payloadCapture !== options.payloadCapture
        ? `PAYLOAD_CAPTURE=${previous.payloadCapture} (now ${options.payloadCapture})`
        : previous.appMetadata !== undefined &&
            previous.appMetadata !== (options.appMetadata ?? true)
        ? `APP_METADATA=${previous.appMetadata ? "on" : "off"} (now ${
          options.appMetadata ?? true ? "on" : "off"
        })`
        : null;
      if (mismatch !== null) {
        throw new FileReadError(
          `${options.path} was partly read (to packet ${previous.nextIndex}) with ${mismatch}; ` +
            "resume with the same setting so its batches keep their keys, or start over with --restart",
        );
      }
    }
    const nameKey = ["read", options.agentId, identity.id, "name"];
    let sourceName = (await options.kv.get<string>(nameKey)).value;
    if (sourceName === null) {
      sourceName = options.path.split(/[\\/]/).pop() || options.path;
      // Kept for good, --restart included: the records of this file must not change.
      await commitKv(
        options.kv.atomic().check({ key: nameKey, versionstamp: null }).set(nameKey, sourceName),
      );
      sourceName = (await options.kv.get<string>(nameKey)).value ?? sourceName;
    }
    return new FileReadSession(options, identity, previous, sourceName);
  }

  /** The ingest URL this read's progress is kept for. */
  get target(): string | null {
    return this.#target;
  }

  /** BATCH_SIZE this read cuts its batches with (a resumed read keeps its first size). */
  get batchSize(): number {
    return this.#batchSize;
  }

  /** True when an earlier run read the whole file and filed every batch. */
  get alreadyComplete(): boolean {
    return this.previous?.complete === true;
  }

  /** Every batch before this index is filed (in this run or before). */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /** The idempotency key of the batch of `count` packets from `firstIndex`. */
  keyOf(firstIndex: number, count: number): string {
    return `${this.#agentId}:${this.identity.id}:${firstIndex}+${count}`;
  }

  /** Wraps the delivery: each batch is registered before it is submitted. */
  sink(delivery: BatchSink): BatchSink {
    return {
      submit: (batch: PacketBatch) => {
        const open: OpenBatch = {
          key: batch.key,
          firstIndex: batch.firstIndex,
          count: batch.count,
          unfiled: batch.count,
        };
        this.#open.push(open);
        this.#byKey.set(batch.key, open);
        return delivery.submit(batch);
      },
    };
  }

  /** The guard key of a batch of this read (or a part of one); null for anything else. */
  guardKey(key: string): Deno.KvKey | null {
    const open = this.#find(key);
    return open === null ? null : [...this.#guardPrefix, open.firstIndex, key];
  }

  /** A batch or part reached its place; advances the progress over what is all filed. */
  filed(key: string, records: number): void {
    const open = this.#find(key);
    if (open === null) return;
    open.unfiled -= records;
    let advanced = false;
    while (this.#open.length > 0 && this.#open[0].unfiled <= 0) {
      const done = this.#open.shift()!;
      this.#byKey.delete(done.key);
      this.#nextIndex = done.firstIndex + done.count;
      advanced = true;
    }
    if (advanced) this.#scheduleSave();
  }

  /**
   * Saves the final progress (after the delivery drained): `complete` when
   * the file was read to its end and every batch is filed. Waits for saves
   * in progress.
   */
  async finish(options: { complete: boolean; packets: number }): Promise<ReadProgress> {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    const complete = options.complete && this.#open.length === 0;
    const progress = this.#progress(complete, complete ? options.packets : null);
    await this.#queueSave(progress);
    return progress;
  }

  #find(key: string): OpenBatch | null {
    // A part's key is its batch's key with `/0` or `/1` appended, once per split.
    for (let candidate = key;;) {
      const open = this.#byKey.get(candidate);
      if (open !== undefined) return open;
      const match = /\/[01]$/.exec(candidate);
      if (match === null) return null;
      candidate = candidate.slice(0, match.index);
    }
  }

  #progress(complete: boolean, packets: number | null): ReadProgress {
    return {
      nextIndex: this.#nextIndex,
      complete,
      packets,
      batchSize: this.#batchSize,
      payloadCapture: this.#payloadCapture,
      appMetadata: this.#appMetadata,
      path: this.#path,
      updatedAtMs: this.#clock(),
    };
  }

  #scheduleSave(): void {
    if (this.#saveTimer !== undefined) return;
    const dueInMs = Math.max(0, this.#lastSaveMs + this.#saveIntervalMs - this.#clock());
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      this.#queueSave(this.#progress(false, null)).catch((error) =>
        log.error("Cannot save the read progress of {path}: {error}", { path: this.#path, error })
      );
    }, dueInMs);
  }

  /** Saves progress after the saves before it (one at a time, in order). */
  #queueSave(progress: ReadProgress): Promise<void> {
    const next = this.#saving.catch(() => {}).then(() => this.#save(progress));
    this.#saving = next;
    return next;
  }

  async #save(progress: ReadProgress): Promise<void> {
    this.#lastSaveMs = this.#clock();
    await commitKv(this.#kv.atomic().set(this.#progressKey, progress));
    if (progress.nextIndex <= this.#savedIndex) return;
    // Guards below the saved progress are never consulted again: no run reads there.
    await FileReadSession.#deleteRange(this.#kv, {
      start: this.#guardPrefix,
      end: [...this.#guardPrefix, progress.nextIndex],
    });
    this.#savedIndex = progress.nextIndex;
  }

  static #keys(
    options: Pick<FileReadSessionOptions, "agentId" | "target">,
    fileId: string,
  ): { progress: Deno.KvKey; guards: Deno.KvKey } {
    const part = targetPart(options.target);
    return {
      progress: [PROGRESS, part, options.agentId, fileId],
      guards: [FILED, part, options.agentId, fileId],
    };
  }

  static async #forget(
    kv: Deno.Kv,
    keys: { progress: Deno.KvKey; guards: Deno.KvKey },
  ): Promise<void> {
    await kv.delete(keys.progress);
    await FileReadSession.#deleteRange(kv, { prefix: keys.guards });
  }

  /**
   * Takes over the progress an agent older than per-server progress kept for
   * the file (it recorded no server), when this server has none of its own:
   * first the guards, then the progress in one write, so a crash between
   * leaves the progress where the next open finds it again.
   */
  static async #takeOverLegacy(
    options: FileReadSessionOptions,
    fileId: string,
    keys: { progress: Deno.KvKey; guards: Deno.KvKey },
  ): Promise<void> {
    const { kv } = options;
    const legacy = ["read", options.agentId, fileId];
    const [own, old] = await kv.getMany<[ReadProgress, ReadProgress]>([
      keys.progress,
      [...legacy, "progress"],
    ]);
    if (old.value === null || own.value !== null) return;
    for (;;) {
      const guards = await Array.fromAsync(
        kv.list<number>({ prefix: [...legacy, "filed"] }, { limit: DELETE_CHUNK / 2 }),
      );
      if (guards.length === 0) break;
      const op = kv.atomic();
      for (const guard of guards) {
        op.delete(guard.key).set(
          [...keys.guards, ...guard.key.slice(legacy.length + 1)],
          guard.value,
        );
      }
      await commitKv(op);
    }
    const moved = await commitKv(
      kv.atomic().check(old).check(own).delete(old.key).set(keys.progress, old.value),
    );
    if (moved.ok) {
      log.info(
        "{path}: the read progress an older agent kept without a server (to packet {index}) is " +
          "taken as {target}'s",
        {
          path: options.path,
          index: old.value.nextIndex,
          target: options.target ?? "no recorded server",
        },
      );
    }
  }

  static async #deleteRange(kv: Deno.Kv, selector: Deno.KvListSelector): Promise<void> {
    for (;;) {
      const keys: Deno.KvKey[] = [];
      for await (const entry of kv.list(selector, { limit: DELETE_CHUNK })) keys.push(entry.key);
      if (keys.length === 0) return;
      const op = kv.atomic();
      for (const key of keys) op.delete(key);
      await commitKv(op);
    }
  }
}
