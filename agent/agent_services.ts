/**
 * Builds the agent's delivery side from configuration: the KV store at
 * `DATA_DIR/agent.kv`, the outbox, the token, the uploader and the delivery.
 * Shared by `main.ts` and `replay_main.ts`; nothing opens until it is called.
 *
 * @module
 */
import type { Config } from "@traffic-analyzer/shared";
import { AgentToken } from "./agent_token.ts";
import type { BatchEncoder } from "./batch_encoder.ts";
import { Delivery, type FilingLedger } from "./delivery.ts";
import { Outbox } from "./outbox.ts";
import { migrateAgentStore } from "./outbox_migration.ts";
import { Uploader } from "./uploader.ts";

/** First delay of a direct upload's quick retries (MAX_RETRIES of them, doubling). */
const QUICK_RETRY_DELAY_MS = 100;
/** Longest quick retry delay: capture must not wait for the network. */
const QUICK_RETRY_MAX_DELAY_MS = 1_000;
/**
 * Reading a file, an upload may go this long without any upload answered
 * before the server counts as failing (live capture: 5 s, so capture never
 * waits). A file has no capture to protect, and large batches queued
 * MAX_IN_FLIGHT deep on a busy server took over 5 s each in the bench; a hung
 * server is still found by the uploader's 30 s request timeout.
 */
const FILE_STALL_MS = 30_000;

/** File name of the agent's KV store inside DATA_DIR. */
export const AGENT_KV_FILE_NAME = "agent.kv";

/** The open delivery side of an agent. */
export interface AgentServices {
  /** The KV store (outbox, dead letters, counters). */
  kv: Deno.Kv;
  /** The outbox over `kv`. */
  outbox: Outbox;
  /** The uploader. */
  uploader: Uploader;
  /** The delivery, ready to take batches and replays. */
  delivery: Delivery;
  /** Path of the KV file. */
  kvPath: string;
  /**
   * Finishes deliveries (waiting up to `graceMs`, then storing the rest),
   * stops the outbox and closes the KV store.
   */
  close(graceMs: number): Promise<void>;
}

/** Options for {@link openAgentServices}. */
export interface OpenAgentServicesOptions {
  /** Validated configuration. */
  config: Config;
  /** Agent id (AGENT_ID or the host name). */
  agentId: string;
  /**
   * `file` (reading a capture file: wait for upload slots while the server
   * keeps up, pause when the outbox is full) or `live` (never wait: spill to
   * the outbox, drop the oldest when it is full).
   * @default "live"
   */
  mode?: "file" | "live";
  /** A file read's progress; see {@link DeliveryOptions.ledger}. @default null */
  ledger?: FilingLedger | null;
  /** Ends waits for room in the outbox (a stop). */
  signal?: AbortSignal;
  /**
   * First delay of the uploader's quick retries (it doubles). `deno task
   * replay`, which has no outbox queue behind it, passes RETRY_DELAY.
   * @default 100
   */
  uploadRetryDelayMs?: number;
  /** HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Encodes batches off the capture thread; see {@link DeliveryOptions.encoder}. @default null */
  encoder?: BatchEncoder | null;
  /** Capture first; see {@link DeliveryOptions.holdUploads}. @default null */
  holdUploads?: (() => boolean) | null;
  /** The KV store, when the caller opened it already (see {@link openAgentKv}); it is closed on close. */
  kv?: Deno.Kv;
}

/**
 * Opens `DATA_DIR/agent.kv`, creating DATA_DIR, and moves what an older
 * agent stored there under per-server keys (`outbox_migration.ts`); returns
 * the store and its path.
 */
export async function openAgentKv(config: Config): Promise<{ kv: Deno.Kv; kvPath: string }> {
  await Deno.mkdir(config.dataDir, { recursive: true });
  const kvPath = `${config.dataDir}/${AGENT_KV_FILE_NAME}`;
  const kv = await Deno.openKv(kvPath);
  try {
    await migrateAgentStore(kv);
  } catch (error) {
    kv.close();
    throw error;
  }
  return { kv, kvPath };
}

/** Opens `DATA_DIR/agent.kv` and wires outbox, uploader and delivery to it. */
export async function openAgentServices(
  options: OpenAgentServicesOptions,
): Promise<AgentServices> {
  const { config, agentId } = options;
  const kvPath = `${config.dataDir}/${AGENT_KV_FILE_NAME}`;
  const kv = options.kv ?? (await openAgentKv(config)).kv;
  const uploader = new Uploader({
    serverUrl: config.serverUrl,
    agentId,
    token: new AgentToken({ configured: config.agentToken, dataDir: config.dataDir }),
    maxRetries: config.maxRetries,
    retryDelayMs: options.uploadRetryDelayMs ?? QUICK_RETRY_DELAY_MS,
    // A longer Retry-After is left to the outbox, which honours it.
    maxRetryDelayMs: Math.max(options.uploadRetryDelayMs ?? 0, QUICK_RETRY_MAX_DELAY_MS),
    fetch: options.fetch,
  });
  const outbox = new Outbox({
    kv,
    maxBytes: config.outboxMaxBytes,
    replayDelayMs: Math.max(config.retryDelayMs, 100),
    // The URL as the uploader sends to it, so that spellings of one URL agree.
    target: uploader.url,
  });
  const file = options.mode === "file";
  const delivery = new Delivery({
    uploader,
    outbox,
    maxInFlight: config.maxInFlight,
    replayConcurrency: config.maxInFlight,
    overflow: file ? "wait" : "store",
    whenOutboxFull: file ? "wait" : "drop-oldest",
    outageProbeMs: Math.max(config.retryDelayMs, 100),
    ...(file ? { stallMs: FILE_STALL_MS } : {}),
    ledger: options.ledger,
    signal: options.signal,
    wireFormat: config.wireFormat,
    encoder: options.encoder ?? null,
    holdUploads: options.holdUploads ?? null,
  });
  let closed = false;
  return {
    kv,
    outbox,
    uploader,
    delivery,
    kvPath,
    async close(graceMs: number) {
      if (closed) return;
      closed = true;
      try {
        await delivery.close({ graceMs });
        await outbox.stop();
      } finally {
        kv.close();
        await outbox.listening.catch(() => {});
      }
    },
  };
}
