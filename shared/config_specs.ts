/**
 * The table of every setting: its environment name, flag, kind, default and
 * help text ({@link CONFIG_SPECS}), and the validated settings' type
 * ({@link Config}). Apart from config.ts, which reads and checks them: this
 * file is the data, that one the code.
 *
 * @module
 */
/** How a setting's raw text is parsed and checked. */
export type Kind =
  | { type: "string" }
  | { type: "url"; protocols: string[] }
  | { type: "int"; min: number; max: number }
  | { type: "fraction" }
  | { type: "durationMs"; minMs: number; maxMs: number }
  | { type: "bool" }
  | { type: "enum"; values: string[] }
  | { type: "list" };

/** One setting: its environment name, flag, kind, default and help text. */
export interface ConfigSpec {
  /** Key in {@link Config}. */
  key: keyof Config;
  /** Environment variable name. */
  env: string;
  /** Command-line flag, without the leading dashes. */
  flag: string;
  /** How the raw text is parsed and checked. */
  kind: Kind;
  /** The default, as it would be written in the environment; null for none. */
  default: string | null;
  /** Which components read it. */
  usedBy: string;
  /** One line for the README table. */
  help: string;
}

/** Every validated setting. Durations are in milliseconds, as the names say. */
export interface Config {
  /** Where the agent POSTs its batches (`SERVER_URL`). */
  serverUrl: string;
  /** Packets per batch; a batch is sent when full or after BATCH_TIMEOUT (`BATCH_SIZE`). */
  batchSize: number;
  /** Longest time a packet waits in an open batch (`BATCH_TIMEOUT`). */
  batchTimeoutMs: number;
  /** Quick retries (after 100 ms, doubling) of a failed upload before it goes to the KV outbox; they hold an upload slot, never the capture. Also retries per batch in `deno task replay` (`MAX_RETRIES`). */
  maxRetries: number;
  /** First replay of a batch from the outbox; it doubles per failed replay, up to 5 min (a server's Retry-After wins). After a failure, new batches go straight to the outbox for this long (`RETRY_DELAY`). */
  retryDelayMs: number;
  /** Uploads (and replays) in flight at once; batches are acknowledged in any order (`MAX_IN_FLIGHT`). */
  maxInFlight: number;
  /** PostgreSQL URL. Unset: embedded PGlite under DATA_DIR (`DATABASE_URL`). */
  databaseUrl: string | null;
  /** PostgreSQL connection pool size (PGlite always uses one connection) (`DB_POOL_SIZE`). */
  dbPoolSize: number;
  /** Time between aggregation passes (`AGGREGATE_INTERVAL`). */
  aggregateIntervalMs: number;
  /** Nice value of the standalone aggregator: its backlog waits in the database (`AGGREGATOR_NICE`). */
  aggregatorNice: number;
  /** Longest wait for a missing earlier batch of a stream before a pass goes on without it (`REORDER_WAIT`). */
  reorderWaitMs: number;
  /** Days raw packets are kept after ingestion (`RAW_RETENTION_DAYS`). */
  rawRetentionDays: number;
  /** A flow of a non-benign class scored at least this raises an incident (`ALERT_MIN_SCORE`). */
  alertMinScore: number;
  /** Address the server listens on (`HOST`). */
  host: string;
  /** Port the server listens on (0 picks a free one) (`PORT`). */
  port: number;
  /** PGlite database, generated ingest token, agent KV outbox (`DATA_DIR`). */
  dataDir: string;
  /** Where `<component>.log` files are written (`LOG_DIR`). */
  logDir: string;
  /** Lowest level logged (`LOG_LEVEL`). */
  logLevel: "debug" | "info" | "warning" | "error";
  /** Comma-separated bearer tokens accepted by POST /ingest_packets. Unset: one is generated in DATA_DIR/ingest_token (`INGEST_TOKENS`). */
  ingestTokens: string[];
  /** Bearer token the agent sends. Unset: read from DATA_DIR/ingest_token (`AGENT_TOKEN`). */
  agentToken: string | null;
  /** Name of this agent in stored packets. Unset: the host name (`AGENT_ID`). */
  agentId: string | null;
  /** PEM certificate file; with TLS_KEY the server speaks HTTPS (`TLS_CERT`). */
  tlsCert: string | null;
  /** PEM private key file for TLS_CERT (`TLS_KEY`). */
  tlsKey: string | null;
  /** Largest ingest request body as sent (413 above) (`MAX_BODY_BYTES`). */
  maxBodyBytes: number;
  /** Largest ingest body after gunzip (413 above) (`MAX_DECOMPRESSED_BYTES`). */
  maxDecompressedBytes: number;
  /** Most records in one ingest batch (413 above) (`MAX_BATCH_RECORDS`). */
  maxBatchRecords: number;
  /** Most heavy reads (raw packets, flow exports, pcap) served at once (429 above) (`MAX_HEAVY_READS`). */
  maxHeavyReads: number;
  /** Token every read needs (bearer on the API, a login form on the pages), 16+ characters. Unset: reads are open (`READ_TOKEN`). */
  readToken: string | null;
  /** Most packets one GET /api/pcap export streams; X-Pcap-Truncated says when it cut (`PCAP_EXPORT_MAX_PACKETS`). */
  pcapExportMaxPackets: number;
  /** Capture interfaces, comma-separated or the flag repeated; `any` for all (`INTERFACE`). */
  interfaces: string[];
  /** BPF filter for live capture (`CAPTURE_FILTER`). */
  captureFilter: string | null;
  /** Bytes captured per packet (`SNAPLEN`). */
  snaplenBytes: number;
  /** Promiscuous mode on the capture interfaces (`PROMISC`). */
  promiscuous: boolean;
  /** Kernel ring buffer per capture interface, in MiB: what absorbs a burst while the agent is busy (`CAPTURE_BUFFER_MB`). */
  captureBufferMb: number;
  /** Nice value of live capture (its reading thread and encoding worker): capture cannot wait, the rest can (`CAPTURE_NICE`). */
  captureNice: number;
  /** Captured bytes sent with each record: all, headers only (privacy), or none (`PAYLOAD_CAPTURE`). */
  payloadCapture: "full" | "headers" | "none";
  /** Extract application-layer metadata at the edge (`APP_METADATA`). */
  appMetadata: "on" | "off";
  /** Body of each batch: an Arrow IPC stream compressed with zstd, or gzip JSON (for a server older than Arrow ingest) (`WIRE_FORMAT`). */
  wireFormat: "arrow" | "json";
  /** Cap on batches stored in the KV outbox. Above it live capture drops the oldest (and counts them); `--read` pauses until replays make room (`OUTBOX_MAX_BYTES`). */
  outboxMaxBytes: number;
  /** ONNX flow classifier; its `.json` sidecar sits beside it (`MODEL_PATH`). */
  modelPath: string;
}

const MS = 1;
const DAY = 86_400_000;

/** The table of all settings. Order is the README's order. */
export const CONFIG_SPECS: readonly ConfigSpec[] = [
  {
    key: "serverUrl",
    env: "SERVER_URL",
    flag: "server-url",
    kind: { type: "url", protocols: ["http:", "https:"] },
    default: "http://127.0.0.1:8000/ingest_packets",
    usedBy: "agent",
    help: "Where the agent POSTs its batches.",
  },
  {
    key: "batchSize",
    env: "BATCH_SIZE",
    flag: "batch-size",
    kind: { type: "int", min: 1, max: 100_000 },
    default: "100",
    usedBy: "agent",
    help:
      "Packets per batch; a batch is sent when full or after BATCH_TIMEOUT. Unset, --read uses 5000.",
  },
  {
    key: "batchTimeoutMs",
    env: "BATCH_TIMEOUT",
    flag: "batch-timeout",
    kind: { type: "durationMs", minMs: 10 * MS, maxMs: DAY },
    default: "30s",
    usedBy: "agent",
    help: "Longest time a packet waits in an open batch.",
  },
  {
    key: "maxRetries",
    env: "MAX_RETRIES",
    flag: "max-retries",
    kind: { type: "int", min: 0, max: 100 },
    default: "3",
    usedBy: "agent",
    help: "Quick retries (after 100 ms, doubling) of a failed upload before it goes to the KV " +
      "outbox; they hold an upload slot, never the capture. Also retries per batch in " +
      "`deno task replay`.",
  },
  {
    key: "retryDelayMs",
    env: "RETRY_DELAY",
    flag: "retry-delay",
    kind: { type: "durationMs", minMs: 0, maxMs: DAY },
    default: "5s",
    usedBy: "agent",
    help: "First replay of a batch from the outbox; it doubles per failed replay, up to 5 min " +
      "(a server's Retry-After wins). After a failure, new batches go straight to the outbox " +
      "for this long.",
  },
  {
    key: "maxInFlight",
    env: "MAX_IN_FLIGHT",
    flag: "max-in-flight",
    kind: { type: "int", min: 1, max: 64 },
    default: "4",
    usedBy: "agent",
    help: "Uploads (and replays) in flight at once; batches are acknowledged in any order.",
  },
  {
    key: "databaseUrl",
    env: "DATABASE_URL",
    flag: "database-url",
    kind: { type: "url", protocols: ["postgres:", "postgresql:"] },
    default: null,
    usedBy: "server, aggregator",
    help: "PostgreSQL URL. Unset: embedded PGlite under DATA_DIR.",
  },
  {
    key: "dbPoolSize",
    env: "DB_POOL_SIZE",
    flag: "db-pool-size",
    kind: { type: "int", min: 1, max: 200 },
    default: "10",
    usedBy: "server, aggregator",
    help: "PostgreSQL connection pool size (PGlite always uses one connection).",
  },
  {
    key: "aggregateIntervalMs",
    env: "AGGREGATE_INTERVAL",
    flag: "aggregate-interval",
    kind: { type: "durationMs", minMs: 100 * MS, maxMs: DAY },
    default: "30s",
    usedBy: "aggregator",
    help: "Time between aggregation passes.",
  },
  {
    key: "aggregatorNice",
    env: "AGGREGATOR_NICE",
    flag: "aggregator-nice",
    kind: { type: "int", min: -20, max: 19 },
    default: "10",
    usedBy: "aggregator",
    help: "Nice value of the standalone aggregator (`deno task aggregate`): on a busy machine " +
      "capture and ingest go first, and the aggregator works off the backlog in the database " +
      "later. The aggregator inside the server (`deno task start`) keeps the server's.",
  },
  {
    key: "reorderWaitMs",
    env: "REORDER_WAIT",
    flag: "reorder-wait",
    kind: { type: "durationMs", minMs: 0, maxMs: DAY },
    default: "2m",
    usedBy: "aggregator",
    help: "Longest a missing batch of an agent's capture holds its later batches back, and the " +
      "quiet after which packet time follows the wall clock (README, Guarantees).",
  },
  {
    key: "rawRetentionDays",
    env: "RAW_RETENTION_DAYS",
    flag: "raw-retention-days",
    kind: { type: "int", min: 1, max: 3650 },
    default: "7",
    usedBy: "aggregator",
    help: "Days raw packets are kept after ingestion.",
  },
  {
    key: "alertMinScore",
    env: "ALERT_MIN_SCORE",
    flag: "alert-min-score",
    kind: { type: "fraction" },
    default: "0.92",
    usedBy: "aggregator",
    help: "A flow of a non-benign class scored at least this (the model's calibrated " +
      "P(attack)) joins an incident at /alerts. The default is the model's decision threshold, " +
      "chosen for at most 1 % false alarms on held-out benign traffic (models/MODEL_CARD.md).",
  },
  {
    key: "host",
    env: "HOST",
    flag: "host",
    kind: { type: "string" },
    default: "127.0.0.1",
    usedBy: "server",
    help: "Address the server listens on.",
  },
  {
    key: "port",
    env: "PORT",
    flag: "port",
    kind: { type: "int", min: 0, max: 65_535 },
    default: "8000",
    usedBy: "server",
    help: "Port the server listens on (0 picks a free one).",
  },
  {
    key: "dataDir",
    env: "DATA_DIR",
    flag: "data-dir",
    kind: { type: "string" },
    default: "./data",
    usedBy: "all",
    help: "PGlite database, generated ingest token, agent KV outbox.",
  },
  {
    key: "logDir",
    env: "LOG_DIR",
    flag: "log-dir",
    kind: { type: "string" },
    default: "./logs",
    usedBy: "all",
    help: "Where `<component>.log` files are written.",
  },
  {
    key: "logLevel",
    env: "LOG_LEVEL",
    flag: "log-level",
    kind: { type: "enum", values: ["debug", "info", "warning", "error"] },
    default: "info",
    usedBy: "all",
    help: "Lowest level logged.",
  },
  {
    key: "ingestTokens",
    env: "INGEST_TOKENS",
    flag: "ingest-tokens",
    kind: { type: "list" },
    default: null,
    usedBy: "server",
    help: "Comma-separated bearer tokens accepted by POST /ingest_packets. " +
      "Unset: one is generated in DATA_DIR/ingest_token.",
  },
  {
    key: "agentToken",
    env: "AGENT_TOKEN",
    flag: "agent-token",
    kind: { type: "string" },
    default: null,
    usedBy: "agent",
    help: "Bearer token the agent sends. Unset: read from DATA_DIR/ingest_token.",
  },
  {
    key: "agentId",
    env: "AGENT_ID",
    flag: "agent-id",
    kind: { type: "string" },
    default: null,
    usedBy: "agent",
    help: "Name of this agent in stored packets. Unset: the host name.",
  },
  {
    key: "tlsCert",
    env: "TLS_CERT",
    flag: "tls-cert",
    kind: { type: "string" },
    default: null,
    usedBy: "server",
    help: "PEM certificate file; with TLS_KEY the server speaks HTTPS.",
  },
  {
    key: "tlsKey",
    env: "TLS_KEY",
    flag: "tls-key",
    kind: { type: "string" },
    default: null,
    usedBy: "server",
    help: "PEM private key file for TLS_CERT.",
  },
  {
    key: "maxBodyBytes",
    env: "MAX_BODY_BYTES",
    flag: "max-body-bytes",
    kind: { type: "int", min: 1024, max: 1 << 30 },
    default: String(16 << 20),
    usedBy: "server",
    help: "Largest ingest request body as sent (413 above).",
  },
  {
    key: "maxDecompressedBytes",
    env: "MAX_DECOMPRESSED_BYTES",
    flag: "max-decompressed-bytes",
    kind: { type: "int", min: 1024, max: 1 << 30 },
    default: String(64 << 20),
    usedBy: "server",
    help: "Largest ingest body after gunzip (413 above).",
  },
  {
    key: "maxBatchRecords",
    env: "MAX_BATCH_RECORDS",
    flag: "max-batch-records",
    kind: { type: "int", min: 1, max: 1_000_000 },
    default: "20000",
    usedBy: "server",
    help: "Most records in one ingest batch (413 above).",
  },
  {
    key: "maxHeavyReads",
    env: "MAX_HEAVY_READS",
    flag: "max-heavy-reads",
    kind: { type: "int", min: 1, max: 1000 },
    default: "4",
    usedBy: "server",
    help: "Most heavy reads (raw packets, flow exports, pcap) served at once (429 above).",
  },
  {
    key: "readToken",
    env: "READ_TOKEN",
    flag: "read-token",
    kind: { type: "string" },
    default: null,
    usedBy: "server",
    help:
      "Token every read needs (bearer on the API, a login form on the pages), 16+ characters. " +
      "Unset: reads are open.",
  },
  {
    key: "pcapExportMaxPackets",
    env: "PCAP_EXPORT_MAX_PACKETS",
    flag: "pcap-export-max-packets",
    kind: { type: "int", min: 1, max: 100_000_000 },
    default: "1000000",
    usedBy: "server",
    help: "Most packets one GET /api/pcap export streams; X-Pcap-Truncated says when it cut.",
  },
  {
    key: "interfaces",
    env: "INTERFACE",
    flag: "interface",
    kind: { type: "list" },
    default: null,
    usedBy: "agent",
    help: "Capture interfaces, comma-separated or the flag repeated; `any` for all.",
  },
  {
    key: "captureFilter",
    env: "CAPTURE_FILTER",
    flag: "filter",
    kind: { type: "string" },
    default: null,
    usedBy: "agent",
    help: "BPF filter for live capture.",
  },
  {
    key: "snaplenBytes",
    env: "SNAPLEN",
    flag: "snaplen",
    kind: { type: "int", min: 64, max: 262_144 },
    default: "262144",
    usedBy: "agent",
    help: "Bytes captured per packet.",
  },
  {
    key: "promiscuous",
    env: "PROMISC",
    flag: "promisc",
    kind: { type: "bool" },
    default: "true",
    usedBy: "agent",
    help: "Promiscuous mode on the capture interfaces.",
  },
  {
    key: "captureBufferMb",
    env: "CAPTURE_BUFFER_MB",
    flag: "capture-buffer-mb",
    kind: { type: "int", min: 1, max: 2047 },
    default: "64",
    usedBy: "agent",
    help:
      "Kernel ring buffer per capture interface, in MiB: what absorbs a burst while the agent is busy.",
  },
  {
    key: "captureNice",
    env: "CAPTURE_NICE",
    flag: "capture-nice",
    kind: { type: "int", min: -20, max: 19 },
    default: "-5",
    usedBy: "agent",
    help:
      "Nice value of live capture: a packet the agent is too busy to read overflows the kernel " +
      "ring and is lost, while the server and aggregator can catch up. Below 0 needs root or " +
      "CAP_SYS_NICE; without, the agent keeps its priority and logs why.",
  },
  {
    key: "payloadCapture",
    env: "PAYLOAD_CAPTURE",
    flag: "payload-capture",
    kind: { type: "enum", values: ["full", "headers", "none"] },
    default: "full",
    usedBy: "agent",
    help: "Captured bytes sent with each record: all, headers only (privacy), or none.",
  },
  {
    key: "appMetadata",
    env: "APP_METADATA",
    flag: "app-metadata",
    kind: { type: "enum", values: ["on", "off"] },
    default: "on",
    usedBy: "agent",
    help:
      "Extract application-layer metadata (DNS names, TLS SNI/JA3/JA4, HTTP host, SSH banner, " +
      "DHCP host name) before PAYLOAD_CAPTURE cuts the payload, and send it in each record.",
  },
  {
    key: "wireFormat",
    env: "WIRE_FORMAT",
    flag: "wire-format",
    kind: { type: "enum", values: ["arrow", "json"] },
    default: "arrow",
    usedBy: "agent",
    help:
      "Body of each batch: an Arrow IPC stream compressed with zstd, or gzip JSON (for a server older than Arrow ingest).",
  },
  {
    key: "outboxMaxBytes",
    env: "OUTBOX_MAX_BYTES",
    flag: "outbox-max-bytes",
    kind: { type: "int", min: 65_536, max: 2 ** 40 },
    default: String(1 << 30),
    usedBy: "agent",
    help: "Cap on batches stored in the KV outbox. Above it live capture drops the oldest (and " +
      "counts them); `--read` pauses until replays make room.",
  },
  {
    key: "modelPath",
    env: "MODEL_PATH",
    flag: "model",
    kind: { type: "string" },
    default: "./models/flow_classifier.onnx",
    usedBy: "aggregator",
    help: "ONNX flow classifier; its `.json` sidecar sits beside it.",
  },
];
