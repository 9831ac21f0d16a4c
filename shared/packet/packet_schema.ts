/**
 * The wire schema of a packet record, enforced by the server at the edge.
 *
 * One table, {@link PACKET_FIELDS}, defines every field. Two things are built
 * from it: a zod schema ({@link PacketRecordSchema}) for the OpenAPI document
 * and for anyone who wants zod, and a plain-loop validator
 * ({@link validatePacketBatch}) because it is about ten times faster than zod
 * on 40-field records. A property test keeps the two in agreement. Ingest
 * runs `readJsonBatch`, which checks a record with every field in order in
 * one pass by position and any other by {@link validatePacketRecord}; its
 * own property test holds it to {@link validatePacketBatch}.
 *
 * The seed's eight fields (`timestamp`, `interface`, `src_ip`, `dst_ip`,
 * `protocol`, `src_port`, `dst_port`, `length`) are required; every other
 * decoded field is optional and defaults to null (false for flags, `length`
 * for `caplen`, 0 for `payload_length`), so a seed-style sender still works.
 * Unknown fields are rejected: a misspelt field is a bug, not data.
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";
import { z, type ZodType } from "zod";
import { APP_PROTOCOLS } from "../app_layer/app_metadata.ts";
import { APP_TEXT_LIMITS } from "../app_layer/app_record_fields.ts";
import { MAX_TUNNEL_DEPTH, type PacketRecord, TUNNEL_TYPES } from "./packet_record.ts";

/** How one field is checked. */
export type FieldKind =
  | { type: "int"; min: number; max: number }
  | { type: "number"; min: number; max: number }
  | { type: "bool" }
  | { type: "text"; minLength: number; maxLength: number }
  | { type: "enum"; values: readonly string[] }
  | { type: "ip" }
  | { type: "mac" }
  | { type: "base64"; maxLength: number }
  | { type: "ipVersion" };

/** One field of the record. */
export interface FieldSpec {
  /** The record's property. */
  name: keyof PacketRecord;
  /** How its value is checked. */
  kind: FieldKind;
  /** Must be present (it may still be null when `nullable`). */
  required: boolean;
  /** May be null. */
  nullable: boolean;
  /** Value when absent; `"length"` copies the record's length. */
  default?: null | boolean | number | "length";
}

/** Largest wire length accepted: a 64 KiB IP datagram plus link headers, with room for GSO. */
const MAX_WIRE_LENGTH = 1 << 20;
const int = (min: number, max: number): FieldKind => ({ type: "int", min, max });
const U8 = int(0, 255);
const U16 = int(0, 65_535);
const U32 = int(0, 4_294_967_295);
const seed = (name: keyof PacketRecord, kind: FieldKind, nullable = false): FieldSpec => ({
  name,
  kind,
  required: true,
  nullable,
});
const opt = (
  name: keyof PacketRecord,
  kind: FieldKind,
  fallback: FieldSpec["default"] = null,
): FieldSpec => ({ name, kind, required: false, nullable: fallback === null, default: fallback });

const appText = (name: keyof typeof APP_TEXT_LIMITS): FieldSpec =>
  opt(name, { type: "text", minLength: 0, maxLength: APP_TEXT_LIMITS[name] });

/** Every field of the wire record, in the order of {@link PacketRecord}. */
export const PACKET_FIELDS: readonly FieldSpec[] = [
  seed("timestamp", { type: "number", min: 0, max: 32_503_680_000 }), // up to year 3000
  seed("interface", { type: "text", minLength: 1, maxLength: 128 }),
  seed("src_ip", { type: "ip" }, true),
  seed("dst_ip", { type: "ip" }, true),
  seed("protocol", { type: "text", minLength: 1, maxLength: 32 }),
  seed("src_port", U16, true),
  seed("dst_port", U16, true),
  seed("length", int(0, MAX_WIRE_LENGTH)),
  opt("caplen", int(0, 262_144), "length"),
  opt("link_type", U16),
  opt("eth_src", { type: "mac" }),
  opt("eth_dst", { type: "mac" }),
  opt("ether_type", U16),
  opt("vlan_id", int(0, 4095)),
  opt("vlan_inner_id", int(0, 4095)),
  opt("ip_version", { type: "ipVersion" }),
  opt("ip_proto", U8),
  opt("ttl", U8),
  opt("ip_id", U32),
  opt("ip_tos", U8),
  opt("ip_header_length", U16),
  opt("ip_flow_label", int(0, 0xfffff)),
  opt("frag_offset", U16),
  opt("more_fragments", { type: "bool" }, false),
  opt("dont_fragment", { type: "bool" }, false),
  opt("is_fragment", { type: "bool" }, false),
  opt("tcp_seq", U32),
  opt("tcp_ack", U32),
  opt("tcp_flags", int(0, 511)),
  opt("tcp_window", U16),
  opt("tcp_header_length", int(0, 60)),
  opt("icmp_type", U8),
  opt("icmp_code", U8),
  opt("icmp_id", U16),
  opt("icmp_seq", U16),
  opt("arp_opcode", U16),
  opt("tunnel_type", { type: "enum", values: TUNNEL_TYPES }),
  opt("tunnel_src_ip", { type: "ip" }),
  opt("tunnel_dst_ip", { type: "ip" }),
  opt("tunnel_id", U32),
  opt("tunnel_depth", int(0, MAX_TUNNEL_DEPTH), 0),
  opt("payload_length", int(0, MAX_WIRE_LENGTH), 0),
  opt("malformed", { type: "bool" }, false),
  opt("malformed_reason", { type: "text", minLength: 0, maxLength: 256 }),
  opt("data", { type: "base64", maxLength: 350_000 }),
  // Application-layer metadata, extracted by the agent before the payload is cut.
  opt("app_protocol", { type: "enum", values: APP_PROTOCOLS }),
  appText("dns_query"),
  opt("dns_qtype", U16),
  opt("dns_rcode", int(0, 4095)),
  appText("dns_answers"),
  appText("dns_cnames"),
  opt("dns_ttl", U32),
  appText("dns_names"),
  appText("tls_sni"),
  appText("tls_alpn"),
  appText("tls_versions"),
  appText("tls_ja3"),
  appText("tls_ja4"),
  opt("tls_version", U16),
  opt("tls_cipher", U16),
  appText("http_method"),
  appText("http_host"),
  appText("http_path"),
  appText("http_user_agent"),
  opt("http_status", int(0, 999)),
  appText("ssh_banner"),
  appText("dhcp_hostname"),
  opt("dhcp_requested_ip", { type: "ip" }),
];

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

/**
 * Why a text value cannot be stored as it is, or null when it can. PostgreSQL
 * text cannot hold U+0000 (it refuses the whole batch with error 22021), and
 * a lone UTF-16 surrogate, which JSON's `\ud800` escape can carry, would be
 * stored as U+FFFD: the record would change silently. Both are input errors.
 */
export function textProblem(text: string): string | null {
  if (text.includes("\u0000")) return "must not contain a NUL character (U+0000)";
  if (!text.isWellFormed()) return "must not contain a lone UTF-16 surrogate";
  return null;
}
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function zodKind(kind: FieldKind): z.ZodType {
  switch (kind.type) {
    case "int":
      return z.number().int().min(kind.min).max(kind.max);
    case "number":
      return z.number().min(kind.min).max(kind.max);
    case "bool":
      return z.boolean();
    case "text":
      return z.string().min(kind.minLength).max(kind.maxLength).superRefine((text, ctx) => {
        const problem = textProblem(text);
        if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
      });
    case "enum":
      return z.enum(kind.values as [string, ...string[]]);
    case "ip":
      return z.union([z.ipv4(), z.ipv6()]);
    case "mac":
      return z.string().regex(MAC, "expected a MAC address");
    case "base64":
      return z.string().max(kind.maxLength).regex(BASE64, "expected base64");
    case "ipVersion":
      return z.union([z.literal(4), z.literal(6)]);
  }
}

/** zod schema of one record on the wire; parses to a {@link PacketRecord}. */
export const PacketRecordSchema: ZodType<PacketRecord> = z.strictObject(
  Object.fromEntries(PACKET_FIELDS.map((f) => {
    let schema = zodKind(f.kind);
    if (f.nullable) schema = schema.nullable();
    if (!f.required) {
      schema = f.default === "length" ? schema.optional() : schema.default(f.default as never);
    }
    return [f.name, schema];
  })),
).transform((r) => ({ ...r, caplen: r.caplen ?? r.length }) as PacketRecord);

/** Where a record failed validation, for the 400 answer. */
export interface RecordIssue {
  /** Index of the record in the batch, or null when the batch itself is wrong. */
  record: number | null;
  /** Field name, or null when the record itself is wrong (not an object). */
  field: string | null;
  /** What is wrong. */
  message: string;
}

/** Result of {@link validatePacketBatch}. */
export type BatchValidation =
  | { ok: true; records: PacketRecord[] }
  | { ok: false; issue: RecordIssue };

/**
 * Checks one non-null value against a field kind; returns what is wrong, or
 * null. The one rule for every wire format: JSON records and Arrow columns
 * (per dictionary entry) go through it.
 */
export function checkValue(kind: FieldKind, v: unknown): string | null {
  switch (kind.type) {
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v)) return "expected an integer";
      if (v < kind.min || v > kind.max) {
        return `expected an integer from ${kind.min} to ${kind.max}`;
      }
      return null;
    case "number":
      if (typeof v !== "number" || !Number.isFinite(v)) return "expected a number";
      if (v < kind.min || v > kind.max) return `expected a number from ${kind.min} to ${kind.max}`;
      return null;
    case "bool":
      return typeof v === "boolean" ? null : "expected true or false";
    case "text":
      if (typeof v !== "string") return "expected a string";
      if (v.length < kind.minLength || v.length > kind.maxLength) {
        return `expected ${kind.minLength} to ${kind.maxLength} characters`;
      }
      return textProblem(v);
    case "enum":
      return typeof v === "string" && kind.values.includes(v)
        ? null
        : `expected one of ${kind.values.join(", ")}`;
    case "ip":
      return typeof v === "string" && (isIPv4(v) || (isIPv6(v) && !v.includes("%")))
        ? null
        : "expected an IPv4 or IPv6 address";
    case "mac":
      return typeof v === "string" && MAC.test(v) ? null : "expected a MAC address";
    case "base64":
      if (typeof v !== "string") return "expected base64";
      if (v.length > kind.maxLength) return `expected at most ${kind.maxLength} characters`;
      return BASE64.test(v) ? null : "expected base64";
    case "ipVersion":
      return v === 4 || v === 6 ? null : "expected 4 or 6";
  }
}

const FIELD_BY_NAME = new Map(PACKET_FIELDS.map((f) => [f.name as string, f]));

/** The first wrong value of a record that has every field, or null. */
function recordIssue(raw: Record<string, unknown>, record: number): RecordIssue | null {
  for (const f of PACKET_FIELDS) {
    const v = raw[f.name];
    if (v === null) {
      if (!f.nullable) return { record, field: f.name, message: "must not be null" };
      continue;
    }
    const problem = checkValue(f.kind, v);
    if (problem) return { record, field: f.name, message: problem };
  }
  return null;
}

/** Each field's name, in {@link PACKET_FIELDS} order. */
const FIELD_NAMES: readonly string[] = PACKET_FIELDS.map((f) => f.name);

/**
 * Whether an object's enumerable keys are exactly the fields of
 * {@link PACKET_FIELDS}, in that order: what `JSON.stringify` of a
 * {@link PacketRecord} makes, so what agents send. Such a record has nothing
 * to fill in and no unknown field, and its values can be checked in one pass
 * by position (`ColumnarBatchBuilder.appendJsonRecord`).
 */
export function hasEveryFieldInOrder(raw: object): boolean {
  let i = 0;
  for (const key in raw) {
    if (i === FIELD_NAMES.length || key !== FIELD_NAMES[i]) return false;
    i++;
  }
  return i === FIELD_NAMES.length;
}

/** Result of {@link validatePacketRecord}. */
export type RecordValidation =
  | { ok: true; record: PacketRecord }
  | { ok: false; issue: RecordIssue };

/**
 * Validates one record of a parsed JSON batch (`record`: its index there)
 * against {@link PACKET_FIELDS} and fills in defaults: the record, or the
 * first problem found, naming the record and field.
 */
export function validatePacketRecord(input: unknown, record: number): RecordValidation {
  const i = record;
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, issue: { record: i, field: null, message: "expected an object" } };
  }
  const raw = input as Record<string, unknown>;
  let fieldCount = 0;
  for (const key in raw) {
    if (!FIELD_BY_NAME.has(key)) {
      return { ok: false, issue: { record: i, field: key, message: `unknown field ${key}` } };
    }
    fieldCount++;
  }
  if (fieldCount === PACKET_FIELDS.length) {
    // Every field present, as the agent sends them: nothing to fill in, so the
    // parsed object is the record once its values pass (building a copy of
    // 60-odd fields was a third of the validation's time).
    const issue = recordIssue(raw, i);
    if (issue !== null) return { ok: false, issue };
    return { ok: true, record: raw as unknown as PacketRecord };
  }
  const out: Record<string, unknown> = {};
  for (const f of PACKET_FIELDS) {
    const v = raw[f.name];
    if (v === undefined) {
      if (f.required) {
        return { ok: false, issue: { record: i, field: f.name, message: "missing field" } };
      }
      out[f.name] = f.default === "length" ? raw.length : f.default;
      continue;
    }
    if (v === null) {
      if (!f.nullable) {
        return { ok: false, issue: { record: i, field: f.name, message: "must not be null" } };
      }
      out[f.name] = null;
      continue;
    }
    const problem = checkValue(f.kind, v);
    if (problem) return { ok: false, issue: { record: i, field: f.name, message: problem } };
    out[f.name] = v;
  }
  return { ok: true, record: out as unknown as PacketRecord };
}

/** The problem of a batch that is not a non-empty array, or null. */
export function batchShapeIssue(batch: unknown): RecordIssue | null {
  if (!Array.isArray(batch)) {
    return { record: null, field: null, message: "expected a JSON array of records" };
  }
  if (batch.length === 0) {
    return { record: null, field: null, message: "expected at least one record" };
  }
  return null;
}

/**
 * Validates a parsed JSON batch against {@link PACKET_FIELDS} and fills in
 * defaults. Returns the first problem found, naming the record and field.
 */
export function validatePacketBatch(batch: unknown): BatchValidation {
  const shape = batchShapeIssue(batch);
  if (shape !== null) return { ok: false, issue: shape };
  const inputs = batch as unknown[];
  const records = new Array<PacketRecord>(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const result = validatePacketRecord(inputs[i], i);
    if (!result.ok) return result;
    records[i] = result.record;
  }
  return { ok: true, records };
}
