/**
 * Turns a capture file into the final flows the aggregator would build from
 * it: the agent's decoder settings, the same flow table with its default
 * options, the packets merged in capture-time order, and every flow drained
 * at the end. Training computes its features from these flows with
 * `flowFeatureVector`, so a feature has one definition, the one the live
 * system scores.
 *
 * @module
 */

import { type FlowRecord, FlowTable } from "@traffic-analyzer/shared/flow";
import {
  captureRecords,
  type CaptureRecordsOptions,
  type CaptureSource,
} from "@traffic-analyzer/shared/pcap";

/** Options for {@linkcode flowsFromCapture}. */
export type FlowsFromCaptureOptions = CaptureRecordsOptions;

/** The flows of one capture. */
export interface CaptureFlows {
  /** Every final flow, with its context, in the order the table ended them. */
  flows: FlowRecord[];
  /** Frames read. */
  packets: number;
  /** Frames the decoder marked malformed (they still go to the flow table, as live). */
  malformedPackets: number;
}

/**
 * Reads a pcap or pcapng capture and returns its final flows, built exactly
 * as the aggregator builds them (one `FlowTable` with default options, all
 * packets merged in capture-time order, then `drain()`).
 *
 * @example
 * ```ts
 * const { flows } = await flowsFromCapture("models/captures/run_s001.pcap");
 * const X = flows.map((f) => flowFeatureVector(f, f.context));
 * ```
 */
export async function flowsFromCapture(
  source: CaptureSource,
  options: FlowsFromCaptureOptions = {},
): Promise<CaptureFlows> {
  const table = new FlowTable();
  const flows: FlowRecord[] = [];
  let packets = 0;
  let malformedPackets = 0;
  for await (const records of captureRecords(source, options)) {
    packets += records.length;
    for (const r of records) if (r.malformed) malformedPackets++;
    flows.push(...table.merge(records).ended);
  }
  flows.push(...table.drain());
  return { flows, packets, malformedPackets };
}
