/**
 * Measures what the live system does, rather than what the final flows say:
 * the aggregator scores a flow on every pass that changes it, so a flow is
 * first scored on its first packets (often before its context exists, when
 * the context features are 0) and rescored as it grows. This replays a
 * capture in passes of packet time, scores every flow a pass touches, as
 * `aggregator/aggregation_pass.ts` does, and compares each score with the
 * flow's label.
 *
 * @module
 */

import { CONFIG_SPECS, parseDurationMs } from "@traffic-analyzer/shared/config";
import { flowFeatureVector, type FlowRecord, FlowTable } from "@traffic-analyzer/shared/flow";
import type { PacketRecord } from "@traffic-analyzer/shared/packet";
import type { CaptureSource } from "@traffic-analyzer/shared/pcap";
import { lookupLabel } from "../lab/label_lookup.ts";
import type { LabManifest } from "../lab/manifest.ts";
import { type Forest, predictBatch } from "../ml/mod.ts";
import { captureRecords } from "./_capture_records.ts";

/** A capture and the manifest that labels it. */
export interface LabelledCapture {
  /** The capture (path, URL, bytes or reader). */
  pcap: CaptureSource;
  /** Its label manifest. */
  manifest: LabManifest;
}

/** Options for {@linkcode evaluateWhileActive}. */
export interface EvaluateWhileActiveOptions {
  /**
   * Packet time between passes, seconds.
   * @default {the aggregator's AGGREGATE_INTERVAL default in shared/config.ts}
   */
  passIntervalSec?: number;
}

/** True and predicted classes, row by row. */
export interface LabelPairs {
  /** Class from the manifest. */
  truth: string[];
  /** Class the forest predicted. */
  predicted: string[];
}

/** What {@linkcode evaluateWhileActive} saw. */
export interface WhileActiveResult {
  /** Pass length used, seconds. */
  passIntervalSec: number;
  /** Passes replayed. */
  passes: number;
  /** The first score of every labelled flow. */
  firstScores: LabelPairs;
  /** Every score written for a labelled flow (one per pass that touched it). */
  allScores: LabelPairs;
  /** The last score of every labelled flow: the one it keeps once it has ended. */
  lastScores: LabelPairs;
  /** Labelled flows whose first score came before their context existed. */
  firstScoredWithoutContext: number;
}

/** The aggregator's default pass interval, read from the one place it is defined. */
function defaultPassIntervalSec(): number {
  const text = CONFIG_SPECS.find((s) => s.key === "aggregateIntervalMs")?.default;
  const ms = typeof text === "string" ? parseDurationMs(text) : null;
  if (ms === null) {
    throw new Error(
      `Cannot find the aggregator's AGGREGATE_INTERVAL default in shared/config.ts: found ${
        JSON.stringify(text)
      }`,
    );
  }
  return ms / 1000;
}

/**
 * Replays a labelled capture through a default `FlowTable` in passes of
 * `passIntervalSec` packet time, scores each pass's new, changed and ended
 * flows with `forest` (in-process, the same results as the ONNX export) and
 * returns the scores beside the labels. Flows without a label are skipped.
 *
 * @example
 * ```ts
 * const result = await evaluateWhileActive(forest, { pcap: "run_s003.pcap", manifest });
 * classificationReport(result.firstScores.truth, result.firstScores.predicted);
 * ```
 */
export async function evaluateWhileActive(
  forest: Forest,
  capture: LabelledCapture,
  options: EvaluateWhileActiveOptions = {},
): Promise<WhileActiveResult> {
  const passIntervalSec = options.passIntervalSec ?? defaultPassIntervalSec();
  if (!(passIntervalSec > 0 && Number.isFinite(passIntervalSec))) {
    throw new RangeError(
      `Cannot replay the capture as 'passIntervalSec' must be a finite number > 0: current value is ${passIntervalSec}`,
    );
  }
  const { manifest } = capture;
  const table = new FlowTable();
  const result: WhileActiveResult = {
    passIntervalSec,
    passes: 0,
    firstScores: { truth: [], predicted: [] },
    allScores: { truth: [], predicted: [] },
    lastScores: { truth: [], predicted: [] },
    firstScoredWithoutContext: 0,
  };
  const scored = new Set<string>();
  const last = new Map<string, { truth: string; predicted: string }>();
  const score = (flows: FlowRecord[]) => {
    result.passes++;
    const touched = new Map<string, FlowRecord>();
    for (const f of flows) touched.set(f.uid, f);
    const labelled: { flow: FlowRecord; label: string }[] = [];
    for (const flow of touched.values()) {
      const addresses = [flow.orig_ip, flow.resp_ip].filter((a): a is string => a !== null);
      const match = lookupLabel(manifest, { addresses, timeSec: flow.first_seen });
      if (match !== null) labelled.push({ flow, label: match.label });
    }
    const predicted =
      predictBatch(forest, labelled.map(({ flow }) => flowFeatureVector(flow, flow.context)))
        .labels;
    labelled.forEach(({ flow, label }, i) => {
      result.allScores.truth.push(label);
      result.allScores.predicted.push(predicted[i]);
      last.set(flow.uid, { truth: label, predicted: predicted[i] });
      if (!scored.has(flow.uid)) {
        scored.add(flow.uid);
        result.firstScores.truth.push(label);
        result.firstScores.predicted.push(predicted[i]);
        if (flow.context === null) result.firstScoredWithoutContext++;
      }
    });
  };

  let pending: PacketRecord[] = [];
  let passEnd = -Infinity;
  const flush = () => {
    const merged = table.merge(pending);
    score([...merged.changed, ...merged.ended]);
    pending = [];
  };
  for await (const records of captureRecords(capture.pcap)) {
    for (const record of records) {
      if (passEnd === -Infinity) passEnd = record.timestamp + passIntervalSec;
      while (record.timestamp >= passEnd) {
        // A pass with no new packets only moves the clock, as the aggregator's does.
        if (pending.length > 0) flush();
        else score(table.expire(passEnd));
        passEnd += passIntervalSec;
      }
      pending.push(record);
    }
  }
  if (pending.length > 0) flush();
  score(table.drain());
  for (const { truth, predicted } of last.values()) {
    result.lastScores.truth.push(truth);
    result.lastScores.predicted.push(predicted);
  }
  return result;
}
