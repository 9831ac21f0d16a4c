/**
 * Builds the labelled training set from the lab's captures: every final flow
 * of every run (built as the aggregator builds flows, see
 * {@linkcode flowsFromCapture}), its feature vector from `flowFeatureVector`,
 * its label from the run's manifest (`lookupLabel` on the flow's originator
 * and responder addresses at its first packet) and its run id as the group,
 * so that evaluation can hold out whole runs.
 *
 * @module
 */

import { join } from "node:path";
import { flowFeatureVector, type FlowRecord } from "@traffic-analyzer/shared/flow";
import { AmbiguousLabelError, lookupLabel } from "../lab/label_lookup.ts";
import { TRAFFIC_CLASSES, type TrafficClass } from "../lab/run_settings.ts";
import { flowsFromCapture } from "./flows_from_capture.ts";
import { readLabManifest } from "./read_lab_manifest.ts";

/** Options for {@linkcode buildLabelledDataset}. */
export interface BuildLabelledDatasetOptions {
  /**
   * Runs to read, by run id (`<id>.json` + the pcap it names, in the
   * captures folder). Read in sorted order whatever order they are given in.
   * @default {every `run_*.json` in the folder}
   */
  runIds?: readonly string[];
  /** Extract application-layer metadata from the packets (see `CaptureRecordsOptions.appMetadata`). @default {false} */
  appMetadata?: boolean;
  /**
   * Turns a final flow into its row. A feature study appends candidate
   * features after the model's own.
   * @default {`flowFeatureVector(flow, flow.context)`}
   */
  featureVector?: (flow: FlowRecord) => Float32Array;
}

/** What identifies one row of the dataset, for reports and hand checks. */
export interface LabelledFlow {
  /** Run the flow came from (the row's group). */
  runId: string;
  /** Flow uid from the flow table. */
  uid: string;
  /** Class from the manifest. */
  label: TrafficClass;
  /** Manifest segment that generated the flow. */
  segmentId: number;
  /** Scenario of that segment (`nmap_syn`, `http`, ...). */
  scenario: string;
  /** Protocol name (`TCP`, `UDP`, `ICMP`, ...). */
  protocol: string;
  /** Originator address. */
  origIp: string | null;
  /** Originator port (ICMP: type). */
  origPort: number | null;
  /** Responder address. */
  respIp: string | null;
  /** Responder port (ICMP: counterpart type or code). */
  respPort: number | null;
  /** First packet time, epoch seconds. */
  firstSeen: number;
  /** Zeek-style connection state. */
  connState: string;
}

/** Per-run counts. */
export interface RunSummary {
  /** Run id (manifest `runId`). */
  runId: string;
  /** Lab seed of the run. */
  seed: number;
  /** Pcap file name. */
  pcap: string;
  /** Frames in the capture. */
  packets: number;
  /** Final flows built from the capture. */
  flows: number;
  /** Flows that got a label (rows of the dataset). */
  labelled: number;
  /** Flows no segment generated, left out of the dataset. */
  unlabelled: number;
  /** Left-out flows by protocol, e.g. `{ ARP: 3 }`. */
  unlabelledByProtocol: Record<string, number>;
  /** Rows per class, every class listed (0 when absent). */
  perClass: Record<TrafficClass, number>;
  /** The run's manifest segments: scenario, class and settings, in start order. */
  segments: { scenario: string; label: TrafficClass; params: Record<string, unknown> }[];
}

/** The labelled dataset: row i is `X[i]`, `y[i]`, `groups[i]`, `flows[i]`. */
export interface LabelledDataset {
  /** Feature vectors (`flowFeatureVector(flow, flow.context)`), in `FEATURE_NAMES` order. */
  X: Float32Array[];
  /** Class of each row. */
  y: TrafficClass[];
  /** Run id of each row. */
  groups: string[];
  /** Identity of each row. */
  flows: LabelledFlow[];
  /** Counts per run, in run order. */
  runs: RunSummary[];
}

/** Raised when the captures cannot be turned into a labelled dataset. */
export class DatasetError extends Error {
  /** Run being read when it failed, if any. */
  runId: string | null;
  /** Creates the error; `cause` carries the underlying error, if any. */
  constructor(message: string, options: { runId?: string | null; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "DatasetError";
    this.runId = options.runId ?? null;
  }
}

async function listRunIds(capturesDir: string): Promise<string[]> {
  const ids: string[] = [];
  try {
    for await (const entry of Deno.readDir(capturesDir)) {
      const m = /^(run_.+)\.json$/.exec(entry.name);
      if (entry.isFile && m) ids.push(m[1]);
    }
  } catch (e) {
    throw new DatasetError(
      `Cannot list the captures folder ${capturesDir}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  return ids;
}

function emptyClassCounts(): Record<TrafficClass, number> {
  return Object.fromEntries(TRAFFIC_CLASSES.map((c) => [c, 0])) as Record<TrafficClass, number>;
}

/**
 * Reads the runs' captures and manifests and returns one row per labelled
 * final flow. Runs come in sorted run-id order, and flows within a run in
 * (first packet time, uid) order, so the same files always give the same
 * rows in the same order (and the same training-data hash).
 *
 * Flows that match no segment (nmap's ARP probes, a stray multicast report)
 * are left out and counted per run. A flow that matches segments of two
 * classes is an error: the manifest cannot tell what it is.
 *
 * @throws {DatasetError} when a run is missing or unreadable, when a flow's
 * label is ambiguous, or when no run is found.
 *
 * @example
 * ```ts
 * const data = await buildLabelledDataset("models/captures");
 * data.X.length === data.y.length; // true
 * ```
 */
export async function buildLabelledDataset(
  capturesDir: string,
  options: BuildLabelledDatasetOptions = {},
): Promise<LabelledDataset> {
  const runIds = [...(options.runIds ?? await listRunIds(capturesDir))].sort();
  if (runIds.length === 0) {
    throw new DatasetError(
      `Cannot build a dataset as ${capturesDir} holds no run manifest (run_*.json); make some with \`deno task lab\``,
    );
  }
  if (new Set(runIds).size !== runIds.length) {
    throw new DatasetError(
      `Cannot build a dataset as 'runIds' must not repeat a run: current value is ${
        JSON.stringify(runIds)
      }`,
    );
  }
  const featureVector = options.featureVector ??
    ((flow: FlowRecord) => flowFeatureVector(flow, flow.context));
  const data: LabelledDataset = { X: [], y: [], groups: [], flows: [], runs: [] };
  for (const runId of runIds) {
    let manifest, capture;
    try {
      manifest = await readLabManifest(join(capturesDir, `${runId}.json`));
      capture = await flowsFromCapture(join(capturesDir, manifest.pcap), {
        appMetadata: options.appMetadata,
      });
    } catch (e) {
      throw new DatasetError(`Cannot read run ${runId}: ${(e as Error).message}`, {
        runId,
        cause: e,
      });
    }
    const summary: RunSummary = {
      runId,
      seed: manifest.seed,
      pcap: manifest.pcap,
      packets: capture.packets,
      flows: capture.flows.length,
      labelled: 0,
      unlabelled: 0,
      unlabelledByProtocol: {},
      perClass: emptyClassCounts(),
      segments: manifest.segments.map((s) => ({
        scenario: s.scenario,
        label: s.label,
        params: s.params,
      })),
    };
    const flows = [...capture.flows].sort((a, b) =>
      a.first_seen - b.first_seen ||
      (a.flow_uid < b.flow_uid ? -1 : a.flow_uid > b.flow_uid ? 1 : 0)
    );
    for (const flow of flows) {
      const addresses = [flow.orig_ip, flow.resp_ip].filter((a): a is string => a !== null);
      let match;
      try {
        match = lookupLabel(manifest, { addresses, timeSec: flow.first_seen });
      } catch (e) {
        if (e instanceof AmbiguousLabelError) {
          throw new DatasetError(
            `Cannot label flow ${flow.flow_uid} of run ${runId} (${flow.protocol} ${flow.orig_ip}:${flow.orig_port} -> ${flow.resp_ip}:${flow.resp_port}): ${e.message}`,
            { runId, cause: e },
          );
        }
        throw e;
      }
      if (match === null) {
        summary.unlabelled++;
        summary.unlabelledByProtocol[flow.protocol] =
          (summary.unlabelledByProtocol[flow.protocol] ?? 0) + 1;
        continue;
      }
      summary.labelled++;
      summary.perClass[match.label]++;
      data.X.push(featureVector(flow));
      data.y.push(match.label);
      data.groups.push(runId);
      data.flows.push({
        runId,
        uid: flow.flow_uid,
        label: match.label,
        segmentId: match.segmentId,
        scenario: match.scenario,
        protocol: flow.protocol,
        origIp: flow.orig_ip,
        origPort: flow.orig_port,
        respIp: flow.resp_ip,
        respPort: flow.resp_port,
        firstSeen: flow.first_seen,
        connState: flow.conn_state,
      });
    }
    data.runs.push(summary);
  }
  return data;
}
