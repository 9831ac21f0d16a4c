/**
 * Test support: builds DNS messages from fields, so tests state what a
 * message says rather than its bytes.
 *
 * @module
 */

/** One resource record for {@linkcode buildDnsMessage}; `data` is the RDATA as given. */
export interface DnsRecordSpec {
  /** Owner name in wire form (see {@linkcode dnsName}), or a 2-byte pointer. */
  owner: number[];
  type: number;
  /** @default {1} */
  class?: number;
  /** @default {60} */
  ttl?: number;
  data: number[];
}

/** Fields of a DNS message for {@linkcode buildDnsMessage}. */
export interface DnsMessageSpec {
  /** @default {0} */
  id?: number;
  /** The 16-bit flags word (0x0100 a query with RD, 0x8180 a NOERROR response). */
  flags: number;
  questions?: { name: number[]; type: number; class?: number }[];
  answers?: DnsRecordSpec[];
}

/** A name in wire form, uncompressed (`.` is the root). */
export function dnsName(text: string): number[] {
  if (text === ".") return [0];
  const encoder = new TextEncoder();
  return [...text.split(".").flatMap((label) => [label.length, ...encoder.encode(label)]), 0];
}

/** A compression pointer to `offset`. */
export function dnsPointer(offset: number): number[] {
  return [0xc0 | (offset >> 8), offset & 0xff];
}

/** Big-endian 16-bit value as two bytes. */
export function be16(value: number): number[] {
  return [(value >> 8) & 0xff, value & 0xff];
}

/** Big-endian 32-bit value as four bytes. */
export function be32(value: number): number[] {
  return [value >>> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

/** Encodes a DNS message. */
export function buildDnsMessage(spec: DnsMessageSpec): Uint8Array {
  const questions = spec.questions ?? [];
  const answers = spec.answers ?? [];
  const bytes = [
    ...be16(spec.id ?? 0),
    ...be16(spec.flags),
    ...be16(questions.length),
    ...be16(answers.length),
    ...be16(0),
    ...be16(0),
  ];
  for (const question of questions) {
    bytes.push(...question.name, ...be16(question.type), ...be16(question.class ?? 1));
  }
  for (const record of answers) {
    bytes.push(
      ...record.owner,
      ...be16(record.type),
      ...be16(record.class ?? 1),
      ...be32(record.ttl ?? 60),
      ...be16(record.data.length),
      ...record.data,
    );
  }
  return new Uint8Array(bytes);
}
