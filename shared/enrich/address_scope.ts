/**
 * What kind of address an IP address is, by the IANA special-purpose
 * registries (RFC 6890 and its updates): only `public` addresses have a
 * place on the internet that a GeoIP or ASN database can know. The others
 * (RFC 1918 private, CGNAT, loopback, link-local, unique-local, multicast,
 * documentation, benchmarking, …) are labelled and never looked up.
 *
 * @module
 */

import { parseIp } from "../packet/address_parse.ts";

/** The scope of an address; every value but `public` is a special-purpose range. */
export type AddressScope =
  | "public"
  | "private"
  | "cgnat"
  | "loopback"
  | "link-local"
  | "unique-local"
  | "multicast"
  | "broadcast"
  | "documentation"
  | "benchmarking"
  | "unspecified"
  | "reserved";

/** Raised for text that is not an IPv4 or IPv6 address. */
export class AddressParseError extends RangeError {
  /**
   * Creates the error for the address that could not be parsed.
   *
   * @param address the text that failed to parse
   */
  constructor(address: string) {
    super(`Cannot classify '${address}': not an IPv4 or IPv6 address`);
    this.name = "AddressParseError";
  }
}

/** An IPv4 range as a base and a mask over the address as an unsigned 32-bit number. */
interface V4Range {
  base: number;
  mask: number;
  scope: AddressScope;
}

function v4(cidr: string, scope: AddressScope): V4Range {
  const [text, bits] = cidr.split("/");
  const bytes = parseIp(text)!;
  const length = Number(bits);
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  return { base: (u32(bytes, 0) & mask) >>> 0, mask, scope };
}

/** Most specific first, so a /32 inside a /4 is found before it. */
const V4_RANGES: readonly V4Range[] = [
  v4("255.255.255.255/32", "broadcast"),
  v4("0.0.0.0/8", "unspecified"),
  v4("10.0.0.0/8", "private"),
  v4("100.64.0.0/10", "cgnat"),
  v4("127.0.0.0/8", "loopback"),
  v4("169.254.0.0/16", "link-local"),
  v4("172.16.0.0/12", "private"),
  v4("192.0.0.0/24", "reserved"), // IETF protocol assignments
  v4("192.0.2.0/24", "documentation"),
  v4("192.88.99.0/24", "reserved"), // deprecated 6to4 relay anycast
  v4("192.168.0.0/16", "private"),
  v4("198.18.0.0/15", "benchmarking"),
  v4("198.51.100.0/24", "documentation"),
  v4("203.0.113.0/24", "documentation"),
  v4("224.0.0.0/4", "multicast"),
  v4("240.0.0.0/4", "reserved"),
];

/** An IPv6 prefix: its first bytes and length in bits. */
interface V6Range {
  prefix: Uint8Array;
  length: number;
  scope: AddressScope;
}

function v6(cidr: string, scope: AddressScope): V6Range {
  const [text, bits] = cidr.split("/");
  return { prefix: parseIp(text)!, length: Number(bits), scope };
}

const V6_RANGES: readonly V6Range[] = [
  v6("::/128", "unspecified"),
  v6("::1/128", "loopback"),
  v6("64:ff9b:1::/48", "private"), // local-use IPv4/IPv6 translation (RFC 8215)
  v6("100::/64", "reserved"), // discard-only (RFC 6666)
  v6("2001::/32", "reserved"), // Teredo
  v6("2001:2::/48", "benchmarking"),
  v6("2001:10::/28", "reserved"), // ORCHID (deprecated)
  v6("2001:db8::/32", "documentation"),
  v6("3fff::/20", "documentation"), // RFC 9637
  v6("5f00::/16", "reserved"), // SRv6 SIDs (RFC 9602)
  v6("fc00::/7", "unique-local"),
  v6("fe80::/10", "link-local"),
  v6("fec0::/10", "reserved"), // site-local (deprecated)
  v6("ff00::/8", "multicast"),
];

/** IPv4-mapped (::ffff:0:0/96) and the NAT64 well-known prefix (64:ff9b::/96). */
const MAPPED_PREFIX = parseIp("::ffff:0.0.0.0")!;
const NAT64_PREFIX = parseIp("64:ff9b::")!;

function u32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) |
    bytes[offset + 3]) >>> 0;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== prefix[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[whole] & mask) === (prefix[whole] & mask);
}

/**
 * The IPv4 address an IPv6 address stands for, when it is IPv4-mapped
 * (`::ffff:192.0.2.1`) or in the NAT64 well-known prefix
 * (`64:ff9b::192.0.2.1`): such an address is that IPv4 host, so it is
 * classified and looked up as one. Null for any other address.
 */
export function embeddedIpv4(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length !== 16) return null;
  if (startsWith(bytes, MAPPED_PREFIX, 96) || startsWith(bytes, NAT64_PREFIX, 96)) {
    return bytes.subarray(12, 16);
  }
  return null;
}

/** The scope of an address given as its 4 or 16 bytes. */
export function addressScopeOfBytes(bytes: Uint8Array): AddressScope {
  if (bytes.length === 4) {
    const value = u32(bytes, 0);
    for (const range of V4_RANGES) {
      if (((value & range.mask) >>> 0) === range.base) return range.scope;
    }
    return "public";
  }
  const mapped = embeddedIpv4(bytes);
  if (mapped !== null) return addressScopeOfBytes(mapped);
  for (const range of V6_RANGES) {
    if (startsWith(bytes, range.prefix, range.length)) return range.scope;
  }
  // Global unicast is 2000::/3; the rest of the space is unassigned.
  return (bytes[0] & 0xe0) === 0x20 ? "public" : "reserved";
}

/**
 * The scope of an address in text form (IPv4 dotted quad or any IPv6 form).
 *
 * @throws {AddressParseError} for text that is not an address
 *
 * @example
 * ```ts
 * addressScope("10.1.2.3"); // "private"
 * addressScope("100.64.0.1"); // "cgnat"
 * addressScope("2001:db8::1"); // "documentation"
 * addressScope("8.8.8.8"); // "public"
 * ```
 */
export function addressScope(address: string): AddressScope {
  const bytes = parseIp(address);
  if (bytes === null) throw new AddressParseError(address);
  return addressScopeOfBytes(bytes);
}
