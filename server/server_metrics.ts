/**
 * The server's metric families, created per app instance.
 *
 * @module
 */
import { type Counter, type Histogram, MetricsRegistry } from "./metrics.ts";

/** Metrics the server updates. */
export interface ServerMetrics {
  /** Where the metrics are kept (rendered by `/metrics`). */
  registry: MetricsRegistry;
  /** Ingest batches by result: stored, duplicate, conflict, rejected, failed. */
  ingestBatches: Counter;
  /** Packet records stored. */
  ingestRecords: Counter;
  /** Rejected ingest requests by HTTP status. */
  ingestRejected: Counter;
  /** Records per accepted batch. */
  ingestBatchRecords: Histogram;
  /** Ingest request latency, seconds. */
  ingestSeconds: Histogram;
  /** HTTP requests by route and status. */
  httpRequests: Counter;
  /** HTTP request latency by route, seconds. */
  httpSeconds: Histogram;
  /** Answers with status >= 500, by status. */
  httpErrors: Counter;
}

/** Creates the server's metric families in a fresh registry. */
export function createServerMetrics(): ServerMetrics {
  const registry = new MetricsRegistry();
  const seconds = [
    0.001,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
  ];
  return {
    registry,
    ingestBatches: registry.counter(
      "ta_ingest_batches_total",
      "Ingest batches by result.",
    ),
    ingestRecords: registry.counter(
      "ta_ingest_records_total",
      "Packet records stored.",
    ),
    ingestRejected: registry.counter(
      "ta_ingest_rejected_total",
      "Ingest requests refused, by HTTP status.",
    ),
    ingestBatchRecords: registry.histogram(
      "ta_ingest_batch_records",
      "Records per stored batch.",
      [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000],
    ),
    ingestSeconds: registry.histogram(
      "ta_ingest_duration_seconds",
      "Time to validate and commit an ingest batch.",
      seconds,
    ),
    httpRequests: registry.counter(
      "ta_http_requests_total",
      "HTTP requests by route and status.",
    ),
    httpSeconds: registry.histogram(
      "ta_http_request_duration_seconds",
      "HTTP request latency by route.",
      seconds,
    ),
    httpErrors: registry.counter(
      "ta_http_errors_total",
      "HTTP answers with status >= 500.",
    ),
  };
}
