/**
 * GeoIP country and ASN enrichment of one address: the pure lookup over a
 * loaded {@linkcode EnrichmentDatabase}. Special-purpose addresses (private,
 * CGNAT, loopback, documentation, …) are labelled by their scope and never
 * looked up; an IPv4-mapped or NAT64 IPv6 address is looked up as the IPv4
 * host it stands for.
 *
 * @module
 */

import { parseIpInto } from "../packet/address_parse.ts";
import {
  AddressParseError,
  type AddressScope,
  addressScopeOfBytes,
  embeddedIpv4,
} from "./address_scope.ts";
import type { AsnRanges } from "./asn_ranges.ts";

/** Where one of the databases comes from, for `/health` and the README. */
export interface EnrichmentDataSource {
  /** What it is: an npm package name, or a file name. */
  name: string;
  /** Its version (the npm package's), or null when unknown. */
  version: string | null;
  /** When the data was built, ISO 8601, or null when unknown. */
  builtAt: string | null;
  /** Its licence, as its publisher states it, or null when unknown. */
  license: string | null;
}

/** The databases behind a lookup, and what they are. */
export interface EnrichmentDatabase {
  /**
   * ISO 3166-1 alpha-2 country of a public address (text form), or null when
   * unlisted. `bytes`, when given, are the address parsed (4 or 16 bytes),
   * so that it is not parsed again.
   */
  country(address: string, bytes?: Uint8Array): string | null;
  /** AS ranges of IPv4 addresses. */
  asnIpv4: AsnRanges;
  /** AS ranges of IPv6 addresses. */
  asnIpv6: AsnRanges;
  /** The sources, with their versions and dates. */
  info: { country: EnrichmentDataSource; asn: EnrichmentDataSource };
}

/** What is known about an address. */
export interface AddressEnrichment {
  /** The address's scope; only `public` addresses are looked up. */
  scope: AddressScope;
  /** ISO 3166-1 alpha-2 country code, or null (not public, or not listed). */
  country: string | null;
  /** AS number, or null. */
  asn: number | null;
  /** The AS's organisation, or null. */
  asOrganization: string | null;
}

/** The bytes of the address being enriched: 16, or the first 4 for IPv4. */
const scratch = new Uint8Array(16);
const scratchIpv4 = scratch.subarray(0, 4);

function formatIpv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * Country, AS number and organisation of `address` (IPv4 or IPv6 text), or
 * its special-purpose scope with nulls. Pure: the same database and
 * address give the same answer, and nothing is read or sent.
 *
 * @throws {AddressParseError} for text that is not an address
 *
 * @example
 * ```ts
 * enrichAddress(db, "8.8.8.8"); // { scope: "public", country: "US", asn: 15169, asOrganization: "Google LLC" }
 * enrichAddress(db, "192.168.1.10"); // { scope: "private", country: null, asn: null, asOrganization: null }
 * ```
 */
export function enrichAddress(db: EnrichmentDatabase, address: string): AddressEnrichment {
  // Parsed into scratch bytes rather than a new array an address: nothing
  // below keeps them past this call.
  const length = parseIpInto(address, scratch, 0);
  if (length === 0) throw new AddressParseError(address);
  const parsed = length === 4 ? scratchIpv4 : scratch;
  const scope = addressScopeOfBytes(parsed);
  if (scope !== "public") return { scope, country: null, asn: null, asOrganization: null };
  const v4 = parsed.length === 4 ? parsed : embeddedIpv4(parsed);
  const entry = v4 !== null ? db.asnIpv4.find(v4) : db.asnIpv6.find(parsed);
  return {
    scope,
    country: v4 !== null && v4 !== parsed
      ? db.country(formatIpv4(v4), v4)
      : db.country(address, parsed),
    asn: entry?.asn ?? null,
    asOrganization: entry?.organization ?? null,
  };
}
