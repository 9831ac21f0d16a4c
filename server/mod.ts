/**
 * The ingest and API server: the Hono app factory and its parts.
 *
 * @module
 */
export * from "./app.ts";
export type { OpenIncidentCounter } from "./routes/dashboard.ts";
export * from "./http_errors.ts";
export * from "./metrics.ts";
export * from "./server_metrics.ts";
export * from "./ingest_tokens.ts";
