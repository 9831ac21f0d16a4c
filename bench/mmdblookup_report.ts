/**
 * The report of libmaxminddb's `mmdblookup --ip-file`: the line that says
 * how many addresses it looked up and at what rate by its CPU clock. Apart
 * from the runner (mmdblookup_rate.ts) so that it is tested without a
 * process.
 *
 * @module
 */

/** What `mmdblookup --ip-file` reported. */
export interface MmdblookupRate {
  /** Addresses looked up. */
  lookups: number;
  /** Lookups per CPU second, as mmdblookup printed it. */
  lookupsPerSec: number;
}

const REPORT = /Looked up (\d+) addresses in [\d.]+ seconds\. ([\d.]+) lookups per second/;

/**
 * Reads the rate out of `mmdblookup --ip-file`'s report; null when the text
 * holds none.
 */
export function parseMmdblookupRate(text: string): MmdblookupRate | null {
  const match = REPORT.exec(text);
  if (match === null) return null;
  return { lookups: Number(match[1]), lookupsPerSec: Number(match[2]) };
}
