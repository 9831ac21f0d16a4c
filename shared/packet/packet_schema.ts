/**
 * The wire schema of a packet record, enforced by the server at the edge.
 *
 * The seed's eight fields (`timestamp`, `interface`, `src_ip`, `dst_ip`,
 * `protocol`, `src_port`, `dst_port`, `length`) are required; every other
 * decoded field is optional and defaults to null (false for flags, `length`
 * for `caplen`, 0 for `payload_length`), so a seed-style sender still works.
 * Unknown fields are rejected: a misspelt field is a bug, not data.
 *
 * @module
 */
import { z } from "zod";
import type { PacketRecord } from "./packet_record.ts";

const u8 = z.number().int().min(0).max(255);
const u16 = z.number().int().min(0).max(65_535);
const u32 = z.number().int().min(0).max(4_294_967_295);
const ip = z.union([z.ipv4(), z.ipv6()]);
const mac = z.string().regex(
  /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i,
  "expected a MAC address",
);
const shortText = (max: number) => z.string().min(1).max(max);
/** Largest wire length accepted: a 64 KiB IP datagram plus link headers, with room for GSO. */
const MAX_WIRE_LENGTH = 1 << 20;

/** zod schema of one record on the wire; parses to a {@link PacketRecord}. */
export const PacketRecordSchema = z.strictObject({
  timestamp: z.number().min(0).max(32_503_680_000), // up to year 3000
  interface: shortText(128),
  src_ip: ip.nullable(),
  dst_ip: ip.nullable(),
  protocol: shortText(32),
  src_port: u16.nullable(),
  dst_port: u16.nullable(),
  length: z.number().int().min(0).max(MAX_WIRE_LENGTH),

  caplen: z.number().int().min(0).max(262_144).optional(),
  link_type: z.number().int().min(0).max(65_535).nullable().default(null),
  eth_src: mac.nullable().default(null),
  eth_dst: mac.nullable().default(null),
  ether_type: u16.nullable().default(null),
  vlan_id: z.number().int().min(0).max(4095).nullable().default(null),
  vlan_inner_id: z.number().int().min(0).max(4095).nullable().default(null),
  ip_version: z.union([z.literal(4), z.literal(6)]).nullable().default(null),
  ip_proto: u8.nullable().default(null),
  ttl: u8.nullable().default(null),
  ip_id: u32.nullable().default(null),
  ip_tos: u8.nullable().default(null),
  ip_header_length: z.number().int().min(0).max(65_535).nullable().default(
    null,
  ),
  ip_flow_label: z.number().int().min(0).max(0xfffff).nullable().default(null),
  frag_offset: z.number().int().min(0).max(65_535).nullable().default(null),
  more_fragments: z.boolean().default(false),
  dont_fragment: z.boolean().default(false),
  is_fragment: z.boolean().default(false),
  tcp_seq: u32.nullable().default(null),
  tcp_ack: u32.nullable().default(null),
  tcp_flags: z.number().int().min(0).max(511).nullable().default(null),
  tcp_window: u16.nullable().default(null),
  tcp_header_length: z.number().int().min(0).max(60).nullable().default(null),
  icmp_type: u8.nullable().default(null),
  icmp_code: u8.nullable().default(null),
  icmp_id: u16.nullable().default(null),
  icmp_seq: u16.nullable().default(null),
  arp_opcode: u16.nullable().default(null),
  payload_length: z.number().int().min(0).max(MAX_WIRE_LENGTH).default(0),
  malformed: z.boolean().default(false),
  malformed_reason: z.string().max(256).nullable().default(null),
  data: z.base64().max(350_000).nullable().default(null),
}).transform((r): PacketRecord => ({ ...r, caplen: r.caplen ?? r.length }));

/** zod schema of an ingest batch: a non-empty JSON array of records. */
export const PacketBatchSchema = z.array(PacketRecordSchema).min(1);

/** Where a record failed validation, for the 400 answer. */
export interface RecordIssue {
  /** Index of the record in the batch, or null when the batch itself is wrong. */
  record: number | null;
  /** Field name, or null when the record itself is wrong (not an object). */
  field: string | null;
  /** What is wrong. */
  message: string;
}

/** Turns the first zod issue of a failed batch parse into a {@link RecordIssue}. */
export function describeBatchIssue(error: z.ZodError): RecordIssue {
  const issue = error.issues[0];
  const [index, field] = issue.path;
  if (issue.code === "unrecognized_keys") {
    return {
      record: typeof index === "number" ? index : null,
      field: issue.keys[0] ?? null,
      message: `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`,
    };
  }
  return {
    record: typeof index === "number" ? index : null,
    field: typeof field === "string" ? field : null,
    message: issue.message,
  };
}
