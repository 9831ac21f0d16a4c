import type { LabManifest } from "./manifest.ts";
import type { TrafficClass } from "./run_settings.ts";

/** What a flow is asked about. */
export interface LabelQuery {
  /** The flow's endpoint addresses (originator and responder, any order). */
  addresses: readonly string[];
  /** The flow's first packet time, epoch seconds. */
  timeSec: number;
}

/** The label found for a flow. */
export interface LabelMatch {
  /** Class of the flow. */
  label: TrafficClass;
  /** Id of the segment that generated it. */
  segmentId: number;
  /** Scenario of that segment. */
  scenario: string;
}

/** Options for {@link lookupLabel}. */
export interface LookupLabelOptions {
  /**
   * Seconds after a segment's end that still count for it.
   * @default {the manifest's graceSec}
   */
  graceSec?: number;
}

/** Raised when a flow matches segments of different classes. */
export class AmbiguousLabelError extends Error {
  /** Ids of the segments that matched. */
  segmentIds: number[];
  /** Creates the error with the ids of the matching segments. */
  constructor(message: string, options: { segmentIds: number[]; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "AmbiguousLabelError";
    this.segmentIds = options.segmentIds;
  }
}

/**
 * Finds the class of a flow from the host and time that generated it: the
 * segment that lists one of the flow's addresses as a source, or as one of
 * its `labelTargets` (attack-only victims of random-source floods), and whose
 * window `[start, end + graceSec]` holds the flow's first packet. Returns null for
 * flows no segment generated. IPv6 addresses are compared in RFC 5952 form,
 * so `fd77:0::21` finds `fd77::21`.
 *
 * @example
 * ```ts
 * lookupLabel(manifest, { addresses: ["10.77.0.66", "10.77.0.10"], timeSec: 1712000000.5 });
 * // { label: "portscan", segmentId: 5, scenario: "nmap_syn" }
 * ```
 */
export function lookupLabel(
  manifest: LabManifest,
  query: LabelQuery,
  options: LookupLabelOptions = {},
): LabelMatch | null {
  const graceSec = options.graceSec ?? manifest.graceSec;
  if (!Number.isFinite(graceSec) || graceSec < 0) {
    throw new RangeError(
      `Cannot look up a label as 'graceSec' must be a finite number >= 0: current value is ${graceSec}`,
    );
  }
  if (!Number.isFinite(query.timeSec)) {
    throw new RangeError(
      `Cannot look up a label as 'timeSec' must be a finite number: current value is ${query.timeSec}`,
    );
  }
  const wanted = new Set(query.addresses.map(canonicalAddress));
  const matches = manifest.segments.filter((s) =>
    query.timeSec >= s.start && query.timeSec <= s.end + graceSec &&
    [...s.sourceAddresses, ...(s.labelTargets ?? [])].some((a) => wanted.has(canonicalAddress(a)))
  );
  if (matches.length === 0) return null;
  const labels = new Set(matches.map((s) => s.label));
  if (labels.size > 1) {
    throw new AmbiguousLabelError(
      `Cannot label the flow of ${[...wanted].join(" <-> ")} at ${query.timeSec}: segments ${
        matches.map((s) => `${s.id} (${s.label})`).join(", ")
      } all match`,
      { segmentIds: matches.map((s) => s.id) },
    );
  }
  // Same class everywhere; the latest-starting segment is the most specific.
  const best = matches.reduce((a, b) => (b.start > a.start ? b : a));
  return { label: best.label, segmentId: best.id, scenario: best.scenario };
}

function canonicalAddress(address: string): string {
  if (!address.includes(":")) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}
