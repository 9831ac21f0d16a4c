/**
 * DNS messages (RFC 1035) over UDP and TCP, and the DNS-shaped mDNS
 * (RFC 6762) and LLMNR (RFC 4795): the question asked and what the answer
 * section says about it.
 *
 * @module
 */

import { formatIpv6 } from "../packet/address_format.ts";
import { displayText, ipv4Text, latin1, u16, u32 } from "./_bytes.ts";

/**
 * What a DNS-shaped message tells about its flow. The field names are those
 * a packet record and a flow carry.
 */
export interface DnsMetadata {
  /** Name of the first question (`.` for the root), or null when the message has none. */
  dns_query: string | null;
  /** QTYPE of the first question (1 A, 28 AAAA, 5 CNAME, 255 ANY, …), or null. */
  dns_qtype: number | null;
  /** RCODE of a response (0 NOERROR, 3 NXDOMAIN, …); null for a query. */
  dns_rcode: number | null;
  /** A and AAAA addresses of the answer section, in order, at most {@linkcode DNS_MAX_ANSWERS}. */
  dns_answers: string[];
  /** CNAME targets of the answer section, in order, at most {@linkcode DNS_MAX_CNAMES}. */
  dns_cnames: string[];
  /** TTL in seconds of the first answer record, or null when the answer section is empty. */
  dns_ttl: number | null;
}

/**
 * mDNS and LLMNR carry names in answers as much as in questions (an mDNS
 * announcement has no question at all), so for them the message's names are
 * listed too.
 */
export interface LocalNameMetadata extends DnsMetadata {
  /**
   * Distinct names of the question and answer sections (owner names, and
   * the targets of PTR and SRV answers), in order of appearance, at most
   * {@linkcode DNS_MAX_NAMES}.
   */
  dns_names: string[];
}

/** Most addresses kept from one answer section. */
export const DNS_MAX_ANSWERS = 16;
/** Most CNAME targets kept from one answer section. */
export const DNS_MAX_CNAMES = 8;
/** Most names kept from one mDNS or LLMNR message. */
export const DNS_MAX_NAMES = 8;

const HEADER_BYTES = 12;
const QR_RESPONSE = 0x80;
const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_PTR = 12;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;
/** A name is at most 255 bytes on the wire (RFC 1035 §2.3.4), so at most 127 labels. */
const MAX_NAME_WIRE_BYTES = 255;
/**
 * Compression pointers followed per name: more than a name could need, few
 * enough that a pointer loop ends at once.
 */
const MAX_POINTER_JUMPS = 64;
/** Resource records walked per message: a message beyond this is not worth more time. */
const MAX_RECORDS_WALKED = 256;

/** One name read from a message: its text and the offset just past it in the record. */
interface NameRead {
  text: string;
  end: number;
}

/**
 * Reads a possibly compressed name at `at`. Returns null when the name runs
 * past the message, loops, is longer than a name may be, or uses a reserved
 * label type.
 */
function readName(message: Uint8Array, at: number): NameRead | null {
  // While every label is printable ASCII, the name's bytes are gathered
  // and made into one string at the end (the common case); from the first
  // label that is not, as text, each label as displayText shows it.
  const units = nameBytes;
  let n = 0;
  let text: string | null = null;
  let wireBytes = 0;
  let jumps = 0;
  let end = -1;
  let cursor = at;
  for (;;) {
    if (cursor >= message.length) return null;
    const length = message[cursor];
    if (length === 0) {
      if (end < 0) end = cursor + 1;
      break;
    }
    const kind = length & 0xc0;
    if (kind === 0xc0) {
      if (cursor + 1 >= message.length || ++jumps > MAX_POINTER_JUMPS) return null;
      if (end < 0) end = cursor + 2;
      cursor = ((length & 0x3f) << 8) | message[cursor + 1];
      continue;
    }
    if (kind !== 0) return null; // 0x40 extended and 0x80 reserved label types
    wireBytes += length + 1;
    const stop = cursor + 1 + length;
    if (wireBytes > MAX_NAME_WIRE_BYTES || stop > message.length) return null;
    if (text === null && !printable(message, cursor + 1, stop)) {
      text = latin1(units, 0, n);
    }
    if (text === null) {
      if (n > 0) units[n++] = 0x2e; // "."
      for (let i = cursor + 1; i < stop; i++) units[n++] = message[i];
    } else {
      if (text.length > 0) text += ".";
      text += displayText(message, cursor + 1, stop);
    }
    cursor = stop;
  }
  text ??= latin1(units, 0, n);
  return { text: text.length === 0 ? "." : text, end };
}

/**
 * The bytes of the name {@linkcode readName} is reading while it is
 * printable ASCII, reused name after name: at most 254, as a name is at
 * most 255 bytes on the wire. (A `number[]` emptied and refilled for each
 * name had V8 drop and regrow its backing store.)
 */
const nameBytes = new Uint8Array(MAX_NAME_WIRE_BYTES + 1);

/**
 * Where the name at `at` ends, or -1 where {@linkcode readName} gives null:
 * the same walk and the same checks, without the text (an answer's owner
 * name, when the names are not listed).
 */
function nameEnd(message: Uint8Array, at: number): number {
  let wireBytes = 0;
  let jumps = 0;
  let end = -1;
  let cursor = at;
  for (;;) {
    if (cursor >= message.length) return -1;
    const length = message[cursor];
    if (length === 0) return end < 0 ? cursor + 1 : end;
    const kind = length & 0xc0;
    if (kind === 0xc0) {
      if (cursor + 1 >= message.length || ++jumps > MAX_POINTER_JUMPS) return -1;
      if (end < 0) end = cursor + 2;
      cursor = ((length & 0x3f) << 8) | message[cursor + 1];
      continue;
    }
    if (kind !== 0) return -1;
    wireBytes += length + 1;
    const stop = cursor + 1 + length;
    if (wireBytes > MAX_NAME_WIRE_BYTES || stop > message.length) return -1;
    cursor = stop;
  }
}

/** Whether every byte of `start..end` is printable ASCII (shown as it is). */
function printable(message: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = message[i];
    if (byte < 0x20 || byte > 0x7e) return false;
  }
  return true;
}

/** Options for {@linkcode parseDnsMessage}. */
export interface ParseDnsOptions {
  /**
   * Also list the message's names (`dns_names`), as for mDNS and LLMNR.
   * @default {false}
   */
  listNames?: boolean;
}

/**
 * Parses one DNS message (as carried in a UDP datagram, or a TCP one after
 * its length prefix). Never throws: returns null when the bytes cannot be a
 * DNS message (shorter than the header, or an opcode DNS does not define),
 * and a partial result when the message is cut short (the question and the
 * answers that were complete).
 *
 * @example
 * ```ts
 * const dns = parseDnsMessage(udpPayload);
 * if (dns?.dns_rcode === 3) console.log(`NXDOMAIN for ${dns.dns_query}`);
 * ```
 */
export function parseDnsMessage(message: Uint8Array): DnsMetadata | null;
/** With `listNames`, the result also lists the message's names (mDNS, LLMNR). */
export function parseDnsMessage(
  message: Uint8Array,
  options: ParseDnsOptions & { listNames: true },
): LocalNameMetadata | null;
/** With options decided at run time, either shape. */
export function parseDnsMessage(
  message: Uint8Array,
  options?: ParseDnsOptions,
): DnsMetadata | LocalNameMetadata | null;
export function parseDnsMessage(
  message: Uint8Array,
  options: ParseDnsOptions = {},
): DnsMetadata | LocalNameMetadata | null {
  if (message.length < HEADER_BYTES) return null;
  const flags = message[2];
  const opcode = (flags >> 3) & 0x0f;
  // 0 QUERY, 1 IQUERY, 2 STATUS, 4 NOTIFY, 5 UPDATE, 6 DSO.
  if (opcode === 3 || opcode > 6) return null;
  const isResponse = (flags & QR_RESPONSE) !== 0;
  const questions = u16(message, 4);
  const answers = u16(message, 6);
  const names: string[] | null = options.listNames ? [] : null;
  const result: DnsMetadata = {
    dns_query: null,
    dns_qtype: null,
    dns_rcode: isResponse ? message[3] & 0x0f : null,
    dns_answers: [],
    dns_cnames: [],
    dns_ttl: null,
  };
  let at = HEADER_BYTES;
  let walked = 0;
  for (let q = 0; q < questions; q++) {
    if (++walked > MAX_RECORDS_WALKED) return finish(result, names);
    const name = readName(message, at);
    if (name === null || name.end + 4 > message.length) return finish(result, names);
    if (q === 0) {
      result.dns_query = name.text;
      result.dns_qtype = u16(message, name.end);
    }
    addName(names, name.text);
    at = name.end + 4;
  }
  for (let a = 0; a < answers; a++) {
    if (++walked > MAX_RECORDS_WALKED) break;
    // The owner's text only when names are listed: its end is all else needs.
    const owner = names === null ? null : readName(message, at);
    const ownerEnd = names === null ? nameEnd(message, at) : owner === null ? -1 : owner.end;
    if (ownerEnd < 0 || ownerEnd + 10 > message.length) break;
    const type = u16(message, ownerEnd);
    const ttl = u32(message, ownerEnd + 4);
    const dataLength = u16(message, ownerEnd + 8);
    const data = ownerEnd + 10;
    if (data + dataLength > message.length) break;
    if (a === 0) result.dns_ttl = ttl;
    if (owner !== null) addName(names, owner.text);
    if (type === TYPE_A && dataLength === 4) {
      if (result.dns_answers.length < DNS_MAX_ANSWERS) {
        result.dns_answers.push(ipv4Text(message, data));
      }
    } else if (type === TYPE_AAAA && dataLength === 16) {
      if (result.dns_answers.length < DNS_MAX_ANSWERS) {
        result.dns_answers.push(formatIpv6(message, data));
      }
    } else if (type === TYPE_CNAME) {
      const target = readName(message, data);
      if (target !== null && result.dns_cnames.length < DNS_MAX_CNAMES) {
        result.dns_cnames.push(target.text);
      }
    } else if (names !== null && (type === TYPE_PTR || type === TYPE_SRV)) {
      const target = readName(message, type === TYPE_SRV ? data + 6 : data);
      if (target !== null) addName(names, target.text);
    }
    at = data + dataLength;
  }
  return finish(result, names);
}

function addName(names: string[] | null, name: string): void {
  if (names !== null && names.length < DNS_MAX_NAMES && !names.includes(name)) names.push(name);
}

function finish(result: DnsMetadata, names: string[] | null): DnsMetadata | LocalNameMetadata {
  return names === null ? result : { ...result, dns_names: names };
}

/**
 * Parses the first DNS message of a TCP stream segment, which starts with
 * the message's two-byte length (RFC 1035 §4.2.2). A message longer than the
 * segment is parsed as far as it goes. Never throws; null when the bytes
 * cannot be a DNS message.
 */
export function parseDnsOverTcp(segment: Uint8Array): DnsMetadata | null {
  if (segment.length < 2 + HEADER_BYTES) return null;
  const length = u16(segment, 0);
  if (length < HEADER_BYTES) return null;
  return parseDnsMessage(segment.subarray(2, Math.min(segment.length, 2 + length)));
}
