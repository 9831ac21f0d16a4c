/**
 * How a bench script hands its numbers to the harness: one stdout line
 * `BENCH_METRICS {...}` holding a flat JSON object of named values. The
 * scripts live in the wings (agent/bench, aggregator/bench), which the
 * harness runs as subprocesses and never imports, so this line is the whole
 * contract between them.
 *
 * @module
 */

/** The prefix of the metrics line. */
export const BENCH_METRICS_PREFIX = "BENCH_METRICS ";

/** Named values a bench script reports; a string value named `skipped` skips the case. */
export type BenchMetrics = Record<string, number | string | boolean | null>;

/** Raised when a bench script's output lacks its metrics or they are not as expected. */
export class BenchOutputError extends Error {
  /** @param message what is missing or wrong */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "BenchOutputError";
  }
}

/**
 * Reads the last metrics line of a bench script's stdout.
 *
 * @throws {BenchOutputError} when there is none, or it is not a flat JSON object.
 *
 * @example
 * ```ts
 * parseBenchMetrics('hello\nBENCH_METRICS {"decode_pps": 1500000}\n'); // { decode_pps: 1500000 }
 * ```
 */
export function parseBenchMetrics(stdout: string): BenchMetrics {
  const line = stdout.split("\n").findLast((l) => l.startsWith(BENCH_METRICS_PREFIX));
  if (line === undefined) {
    throw new BenchOutputError("The bench script printed no BENCH_METRICS line");
  }
  let value: unknown;
  try {
    value = JSON.parse(line.slice(BENCH_METRICS_PREFIX.length));
  } catch (cause) {
    throw new BenchOutputError(`The BENCH_METRICS line is not JSON: ${line}`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BenchOutputError(`The BENCH_METRICS line is not a JSON object: ${line}`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (v !== null && !["number", "string", "boolean"].includes(typeof v)) {
      throw new BenchOutputError(`BENCH_METRICS value ${key} is not a number, string or boolean`);
    }
  }
  return value as BenchMetrics;
}

/**
 * A metric that must be a finite number.
 *
 * @throws {BenchOutputError} when it is missing or not a finite number.
 */
export function metricNumber(metrics: BenchMetrics, key: string): number {
  const value = metrics[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new BenchOutputError(
      `BENCH_METRICS ${key} must be a finite number: current value is ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** A metric that may be absent or null; else it must be a finite number. */
export function optionalMetricNumber(metrics: BenchMetrics, key: string): number | null {
  return metrics[key] === undefined || metrics[key] === null ? null : metricNumber(metrics, key);
}

/** A metric that may be absent or null; else it must be a string. */
export function optionalMetricString(metrics: BenchMetrics, key: string): string | null {
  const value = metrics[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") {
    throw new BenchOutputError(
      `BENCH_METRICS ${key} must be a string: current value is ${JSON.stringify(value)}`,
    );
  }
  return value;
}
