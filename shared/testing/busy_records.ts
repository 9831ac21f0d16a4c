/**
 * Sample records with every app-layer, boolean and binary cell set: a batch
 * of them written before a smaller one shows any cell a reused builder or
 * buffer leaves behind.
 *
 * @module
 */
import type { PacketRecord } from "../packet/packet_record.ts";
import { sampleRecords, type SampleRecordsOptions } from "./sample_records.ts";

/** `count` records from {@link sampleRecords} whose optional cells are all set. */
export function busyRecords(count: number, options: SampleRecordsOptions = {}): PacketRecord[] {
  return sampleRecords(count, { seed: 7, dataBytes: 300, ...options }).map((record, i) => ({
    ...record,
    malformed: true,
    malformed_reason: "truncated",
    more_fragments: true,
    app_protocol: "dns",
    dns_query: `host-${i}.example`,
    dns_qtype: 1,
    dns_ttl: 300 + i,
    tls_sni: `sni-${i}.example`,
    http_status: 200,
  }));
}
