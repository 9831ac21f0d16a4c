/**
 * The enrichment databases the project ships, through npm: ip-location-db's
 * `geo-whois-asn-country` country MaxMind DB (geofeeds, then registry
 * whois, then the ASN's country; CC0 / CC BY 4.0 NRO) and its `asn` tables
 * (RouteViews, the five RIRs and DB-IP's ASN lite; CC BY 4.0). They are
 * pinned in deno.json; updating them is a version bump there.
 *
 * Deno keeps npm packages in its own cache, so the files are found the way
 * Node would find them (`require.resolve`), which Deno answers from that
 * cache; the package manifests are imported so that Deno fetches the
 * packages with the rest of the program.
 *
 * @module
 */

import { createRequire } from "node:module";
import countryPackage from "@ip-location-db/geo-whois-asn-country-mmdb/package.json" with {
  type: "json",
};
import asnPackage from "@ip-location-db/asn/package.json" with { type: "json" };
import type { EnrichmentDataFiles } from "./load_enrichment_database.ts";
import type { EnrichmentDataSource } from "./enrichment_database.ts";

/**
 * ip-location-db versions end in the build's date and hour, `YYYYMMDDHH`
 * (2.3.2026061719 was built on 2026-06-17 at 19:00 UTC).
 */
function builtAtOf(version: string): string | null {
  const match = /(\d{4})(\d{2})(\d{2})(\d{2})$/.exec(version);
  return match ? `${match[1]}-${match[2]}-${match[3]}T${match[4]}:00:00.000Z` : null;
}

/**
 * The paths and descriptions of the shipped databases, for
 * `loadEnrichmentDatabase()`.
 *
 * @example
 * ```ts
 * const db = await loadEnrichmentDatabase(defaultEnrichmentData());
 * enrichAddress(db, "8.8.8.8").asn; // 15169
 * ```
 */
export function defaultEnrichmentData(): EnrichmentDataFiles {
  const require = createRequire(import.meta.url);
  const resolve = (file: string) => require.resolve(file);
  return {
    countryMmdbPath: resolve(`${countryPackage.name}/geo-whois-asn-country.mmdb`),
    asnIpv4CsvPath: resolve(`${asnPackage.name}/asn-ipv4-num.csv`),
    asnIpv6CsvPath: resolve(`${asnPackage.name}/asn-ipv6.csv`),
    // The country file's build time comes from the file's own metadata.
    countrySource: sourceOf(countryPackage, null),
    asnSource: sourceOf(asnPackage, builtAtOf(asnPackage.version)),
  };
}

/**
 * What the shipped databases are (package, version, build date, licence),
 * without reading them: for `/health` and the README. The build date comes
 * from the ip-location-db version, which ends in it.
 *
 * @example
 * ```ts
 * shippedEnrichmentSources().country.version; // "2.3.2026061719"
 * ```
 */
export function shippedEnrichmentSources(): {
  country: EnrichmentDataSource;
  asn: EnrichmentDataSource;
} {
  return {
    country: sourceOf(countryPackage, builtAtOf(countryPackage.version)),
    asn: sourceOf(asnPackage, builtAtOf(asnPackage.version)),
  };
}

/** The description of a shipped package, built at `builtAt` (null: unknown here). */
function sourceOf(
  pkg: { name: string; version: string; license: string },
  builtAt: string | null,
): EnrichmentDataSource {
  return { name: pkg.name, version: pkg.version, builtAt, license: pkg.license };
}
