/**
 * GeoIP country and ASN enrichment: which country and autonomous system a
 * public address belongs to, and which special-purpose range any other
 * address is in. Load the databases once ({@linkcode loadEnrichmentDatabase}
 * with {@linkcode defaultEnrichmentData}, or files of your own), then look
 * addresses up with the pure {@linkcode enrichAddress}.
 *
 * @module
 */

export {
  AddressParseError,
  type AddressScope,
  addressScope,
  addressScopeOfBytes,
  embeddedIpv4,
} from "./address_scope.ts";
export {
  type AsnEntry,
  type AsnRanges,
  AsnTableError,
  parseAsnIpv4Table,
  parseAsnIpv6Table,
} from "./asn_ranges.ts";
export {
  type AddressEnrichment,
  enrichAddress,
  type EnrichmentDatabase,
  type EnrichmentDataSource,
} from "./enrichment_database.ts";
export {
  EnrichmentDataError,
  type EnrichmentDataFiles,
  loadEnrichmentDatabase,
} from "./load_enrichment_database.ts";
export { defaultEnrichmentData, shippedEnrichmentSources } from "./enrichment_data.ts";
export {
  FlowEnricher,
  type FlowEnricherOptions,
  type FlowEnrichmentFields,
  NO_FLOW_ENRICHMENT,
} from "./flow_enricher.ts";
