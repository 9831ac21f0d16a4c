/**
 * GeoIP country and ASN of a flow's two endpoints, as `traffic_data` stores
 * them: looked up once per flow in the aggregator (not per packet), with a
 * bounded cache by address, since a pass writes many flows of the same few
 * hosts. Special-purpose addresses (private, CGNAT, link-local, ULA,
 * documentation, …) are labelled by their scope and never looked up; without
 * a database only the scope is filled.
 *
 * @module
 */

import { parseIp } from "../packet/address_parse.ts";
import { AddressParseError, addressScopeOfBytes } from "./address_scope.ts";
import {
  type AddressEnrichment,
  enrichAddress,
  type EnrichmentDatabase,
} from "./enrichment_database.ts";

/** The enrichment columns of a flow. */
export interface FlowEnrichmentFields {
  /** Scope of the originator's address (`public`, `private`, `cgnat`, …); null without an address. */
  orig_scope: string | null;
  /** ISO country of a public originator. */
  orig_country: string | null;
  /** AS number of a public originator. */
  orig_asn: number | null;
  /** Its AS organisation. */
  orig_as_org: string | null;
  /** Scope of the responder's address. */
  resp_scope: string | null;
  /** ISO country of a public responder. */
  resp_country: string | null;
  /** AS number of a public responder. */
  resp_asn: number | null;
  /** Its AS organisation. */
  resp_as_org: string | null;
}

/** A flow without enrichment (no addresses). */
export const NO_FLOW_ENRICHMENT: Readonly<FlowEnrichmentFields> = Object.freeze({
  orig_scope: null,
  orig_country: null,
  orig_asn: null,
  orig_as_org: null,
  resp_scope: null,
  resp_country: null,
  resp_asn: null,
  resp_as_org: null,
});

/** Options for {@linkcode FlowEnricher}. */
export interface FlowEnricherOptions {
  /** The loaded databases; null labels scopes only. */
  database: EnrichmentDatabase | null;
  /** Addresses whose answer is cached; the cache is emptied when full. @default {65536} */
  cacheSize?: number;
}

const NONE: AddressEnrichment = {
  scope: "unspecified",
  country: null,
  asn: null,
  asOrganization: null,
};

/**
 * Looks up flow endpoints, caching answers by address. The aggregator's
 * scored flow rows (`aggregator/pass_flow_writer.ts`) read their
 * {@linkcode FlowEnrichmentFields} from `address()` of each endpoint.
 *
 * @example
 * ```ts
 * const enricher = new FlowEnricher({ database: await loadEnrichmentDatabase(defaultEnrichmentData()) });
 * enricher.address("8.8.8.8")?.asn; // 15169
 * ```
 */
export class FlowEnricher {
  #database: EnrichmentDatabase | null;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, AddressEnrichment | null>();
  #lookups = 0;

  /** Checks the options; throws `RangeError` naming a bad one. */
  constructor(options: FlowEnricherOptions) {
    const cacheSize = options.cacheSize ?? 65536;
    if (!Number.isInteger(cacheSize) || cacheSize < 1) {
      throw new RangeError(
        `Cannot create a flow enricher as 'cacheSize' must be an integer >= 1: current value is ${cacheSize}`,
      );
    }
    this.#database = options.database;
    this.#cacheSize = cacheSize;
  }

  /**
   * Switches to another database (one loaded after start-up, or a newer
   * one), forgetting what was cached.
   */
  useDatabase(database: EnrichmentDatabase | null): void {
    this.#database = database;
    this.#cache.clear();
  }

  /** Database lookups made (cache misses of public addresses). */
  get lookups(): number {
    return this.#lookups;
  }

  /** What is known of one address, or null for text that is not one. */
  address(address: string): AddressEnrichment | null {
    const cached = this.#cache.get(address);
    if (cached !== undefined) return cached;
    let found: AddressEnrichment | null;
    const database = this.#database;
    if (database === null) {
      const parsed = parseIp(address);
      found = parsed === null ? null : { ...NONE, scope: addressScopeOfBytes(parsed) };
    } else {
      // enrichAddress parses the text and labels the scope itself, so the
      // address is parsed once a miss.
      try {
        found = enrichAddress(database, address);
      } catch (error) {
        if (!(error instanceof AddressParseError)) throw error;
        found = null;
      }
      if (found !== null && found.scope === "public") this.#lookups++;
    }
    if (this.#cache.size >= this.#cacheSize) this.#cache.clear();
    this.#cache.set(address, found);
    return found;
  }
}
