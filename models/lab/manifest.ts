import type { LabHostName, LabHostRole } from "./lab_network.ts";
import { type RunSettings, TRAFFIC_CLASSES, type TrafficClass } from "./run_settings.ts";
import type { SegmentTarget } from "./scenario_plan.ts";

/** Format tag written into every manifest, so readers can reject other JSON. */
export const MANIFEST_FORMAT = "traffic-analyzer-lab-manifest";
/** Manifest layout version; bump it when a field changes meaning. */
export const MANIFEST_VERSION = 1;

/** One labelled segment of a run as recorded after it ran. */
export interface ManifestSegment {
  /** 1-based, in order of start time. */
  id: number;
  /** Class of every flow the segment generated. */
  label: TrafficClass;
  /** Scenario name (`nmap_syn`, `http`, …). */
  scenario: string;
  /** Lab host the tools ran on. */
  host: LabHostName;
  /** Addresses the segment's traffic came from (the host's, plus forged ones). */
  sourceAddresses: string[];
  /**
   * Attack-only target addresses: inside the window, a flow with one of these
   * as an endpoint is this segment's, whatever its other address. Used by
   * floods with random source addresses; absent on segments labelled by
   * source alone (and in manifests written before the field existed).
   */
  labelTargets?: string[];
  /** What the segment aimed at. */
  target: SegmentTarget;
  /** Epoch seconds just before the first command started. */
  start: number;
  /** Epoch seconds just after the last command ended. */
  end: number;
  /** The exact command lines, in order. */
  commands: string[][];
  /** Exit code of each command; null when it was killed. */
  exitCodes: (number | null)[];
  /** True when a command hit its hard time limit and was killed. */
  timedOut: boolean;
  /** Scenario settings. */
  params: Record<string, unknown>;
}

/** A host of the run's network, as recorded. */
export interface ManifestHost {
  /** Host name. */
  name: LabHostName;
  /** Role of the host. */
  role: LabHostRole;
  /** IPv4 address. */
  ipv4: string;
  /** IPv6 address. */
  ipv6: string;
  /** MAC address. */
  mac: string;
}

/** How the capture was taken and what tcpdump reported at the end. */
export interface ManifestCapture {
  /** Namespace tcpdump ran in. */
  namespace: string;
  /** Interface tcpdump listened on. */
  interface: string;
  /** Snap length in bytes (`tcpdump -s`). */
  snaplen: number;
  /** Link type of the file (always Ethernet here). */
  linkType: "EN10MB";
  /** tcpdump's "packets captured", or null when it did not say. */
  packetsCaptured: number | null;
  /** tcpdump's "packets dropped by kernel", or null when it did not say. */
  packetsDropped: number | null;
}

/** The label manifest written beside each run's pcap. */
export interface LabManifest {
  /** Always {@link MANIFEST_FORMAT}. */
  format: typeof MANIFEST_FORMAT;
  /** Always {@link MANIFEST_VERSION}. */
  version: typeof MANIFEST_VERSION;
  /** Run name, also the stem of the pcap and manifest file names. */
  runId: string;
  /** Seed the settings came from. */
  seed: number;
  /** File name of the pcap, relative to the manifest. */
  pcap: string;
  /** How a flow gets its label; repeated in every manifest so it travels with the data. */
  labelRule: string;
  /** Seconds after a segment's end during which a flow start still counts for it. */
  graceSec: number;
  /** Every class name the lab uses. */
  classes: TrafficClass[];
  /** Epoch seconds when the capture started. */
  startedAt: number;
  /** Epoch seconds when the capture stopped. */
  endedAt: number;
  /** Capture details. */
  capture: ManifestCapture;
  /** Lab address plan. */
  network: {
    ipv4Cidr: string;
    ipv6Cidr: string;
    hosts: ManifestHost[];
  };
  /** Tool versions as the tools reported them. */
  toolVersions: Record<string, string>;
  /** All settings of the run. */
  settings: RunSettings;
  /** Labelled segments, in order of start time. */
  segments: ManifestSegment[];
}

/** A segment as the runner hands it over, before ids are assigned. */
export type SegmentRecord = Omit<ManifestSegment, "id">;

/** Everything {@link buildManifest} needs. */
export interface ManifestInput {
  /** Run name. */
  runId: string;
  /** Settings of the run (the seed is taken from here). */
  settings: RunSettings;
  /** Pcap file name. */
  pcap: string;
  /** Capture start, epoch seconds. */
  startedAt: number;
  /** Capture end, epoch seconds. */
  endedAt: number;
  /** Capture details. */
  capture: ManifestCapture;
  /** Network description. */
  network: LabManifest["network"];
  /** Tool versions. */
  toolVersions: Record<string, string>;
  /** Segments in any order. */
  segments: SegmentRecord[];
}

/** Options for {@link buildManifest}. */
export interface BuildManifestOptions {
  /**
   * Seconds after a segment's end during which a flow that starts is still
   * that segment's (late replies, retransmitted SYN-ACKs).
   * @default {2}
   */
  graceSec?: number;
}

/** Raised when the segments of a run cannot be labelled without ambiguity. */
export class ManifestError extends Error {
  /** Creates the error; `cause` carries the underlying error, if any. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "ManifestError";
  }
}

/**
 * Builds a run's label manifest and checks that it labels without ambiguity:
 * two segments of different classes must never share a source address while
 * their windows `[start, end + graceSec]` overlap, or a flow from that address
 * in that time could belong to either.
 *
 * @example
 * ```ts
 * const manifest = buildManifest({ runId: "run_s1", settings, pcap: "run_s1.pcap", … });
 * await Deno.writeTextFile("run_s1.json", JSON.stringify(manifest, null, 2));
 * ```
 */
export function buildManifest(
  input: ManifestInput,
  options: BuildManifestOptions = {},
): LabManifest {
  const graceSec = options.graceSec ?? 2;
  if (!Number.isFinite(graceSec) || graceSec < 0) {
    throw new RangeError(
      `Cannot build a manifest as 'graceSec' must be a finite number >= 0: current value is ${graceSec}`,
    );
  }
  if (!(input.startedAt <= input.endedAt)) {
    throw new ManifestError(
      `Cannot build a manifest as the run starts at ${input.startedAt} after it ends at ${input.endedAt}`,
    );
  }
  for (const s of input.segments) {
    if (!TRAFFIC_CLASSES.includes(s.label)) {
      throw new ManifestError(
        `Cannot build a manifest as segment '${s.scenario}' has unknown label '${s.label}'`,
      );
    }
    if (!Number.isFinite(s.start) || !Number.isFinite(s.end) || s.start > s.end) {
      throw new ManifestError(
        `Cannot build a manifest as segment '${s.scenario}' has window [${s.start}, ${s.end}]`,
      );
    }
    if (s.sourceAddresses.length === 0) {
      throw new ManifestError(
        `Cannot build a manifest as segment '${s.scenario}' has no source address`,
      );
    }
  }
  const segments: ManifestSegment[] = [...input.segments]
    .sort((a, b) => a.start - b.start || a.end - b.end)
    .map((s, i) => ({ id: i + 1, ...s }));

  for (let i = 0; i < segments.length; i++) {
    for (let j = i + 1; j < segments.length; j++) {
      const a = segments[i];
      const b = segments[j];
      if (a.label === b.label) continue;
      const shared = [
        ...a.sourceAddresses.filter((x) => b.sourceAddresses.includes(x)),
        ...claimedBy(a).filter((x) => touchedBy(b).includes(x)),
        ...claimedBy(b).filter((x) => touchedBy(a).includes(x)),
      ];
      if (shared.length === 0) continue;
      if (a.start <= b.end + graceSec && b.start <= a.end + graceSec) {
        throw new ManifestError(
          `Cannot build a manifest as segments ${a.id} (${a.label}) and ${b.id} (${b.label}) share ${
            shared[0]
          } and overlap in time`,
        );
      }
    }
  }

  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    runId: input.runId,
    seed: input.settings.seed,
    pcap: input.pcap,
    labelRule:
      "A flow takes the label of the segment that lists one of its two endpoint addresses in " +
      "sourceAddresses (or, for segments that have labelTargets, in labelTargets) and whose window " +
      "[start, end + graceSec] contains the flow's first packet time. " +
      "Flows that match no segment (e.g. multicast reports) are unlabelled.",
    graceSec,
    classes: [...TRAFFIC_CLASSES],
    startedAt: input.startedAt,
    endedAt: input.endedAt,
    capture: input.capture,
    network: input.network,
    toolVersions: input.toolVersions,
    settings: input.settings,
    segments,
  };
}

function claimedBy(s: ManifestSegment): string[] {
  return s.labelTargets ?? [];
}

/** Every address a segment's flows can have as an endpoint. */
function touchedBy(s: ManifestSegment): string[] {
  return [...s.sourceAddresses, ...s.target.addresses, ...claimedBy(s)];
}
