/**
 * Loads the GeoIP country and ASN databases from files whose paths are
 * given: a MaxMind DB (`.mmdb`) of countries, read with `mmdb-lib`, and the
 * ip-location-db ASN tables (CSV). `defaultEnrichmentData()` names the
 * files the project ships through npm; any newer or other files of the same
 * formats can be passed instead.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Reader, type Response } from "mmdb-lib";
import { parseIp } from "../packet/address_parse.ts";
import { parseAsnIpv4Table, parseAsnIpv6Table } from "./asn_ranges.ts";
import { MmdbSearchTree } from "./mmdb_search_tree.ts";
import type { EnrichmentDatabase, EnrichmentDataSource } from "./enrichment_database.ts";

/** Raised when a database file cannot be read or is not of its format; names the file. */
export class EnrichmentDataError extends Error {
  /**
   * Creates the error; `cause` is the error underneath, when there is one.
   *
   * @param message what failed, naming the file
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "EnrichmentDataError";
  }
}

/** The database files, and what they are. */
export interface EnrichmentDataFiles {
  /** A MaxMind DB of countries (ip-location-db's `country_code`, or GeoIP2's `country.iso_code`). */
  countryMmdbPath: string;
  /** The IPv4 ASN table with numeric addresses (`asn-ipv4-num.csv`). */
  asnIpv4CsvPath: string;
  /** The IPv6 ASN table with text addresses (`asn-ipv6.csv`). */
  asnIpv6CsvPath: string;
  /**
   * What the country database is; its build time comes from the file when unset.
   *
   * @default {the file name, with the build time of its metadata}
   */
  countrySource?: EnrichmentDataSource;
  /** What the ASN tables are. @default {the IPv4 table's file name} */
  asnSource?: EnrichmentDataSource;
}

/** A country record of either common layout (ip-location-db's, or GeoIP2's). */
type CountryRecord = {
  country_code?: string;
  country?: { iso_code?: string };
};

/** Data records whose country is kept (a city database can have many). */
const MAX_CACHED_COUNTRY_RECORDS = 65536;

function countryOf(record: Response | null): string | null {
  const country = record as CountryRecord | null;
  return country?.country_code ?? country?.country?.iso_code ?? null;
}

async function readFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    throw new EnrichmentDataError(`Cannot read enrichment database ${path}: ${error}`, {
      cause: error,
    });
  }
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Reads the database files into memory (about 40 MB, a second or two) and
 * returns the database {@linkcode enrichAddress} looks up.
 *
 * @throws {EnrichmentDataError} naming the file that is missing or malformed
 */
export async function loadEnrichmentDatabase(
  files: EnrichmentDataFiles,
): Promise<EnrichmentDatabase> {
  // mmdb-lib types records as GeoIP2's; ip-location-db's have one field.
  let reader: Reader<Response>;
  let tree: MmdbSearchTree;
  try {
    const countryBytes = Buffer.from(await readFile(files.countryMmdbPath));
    reader = new Reader<Response>(countryBytes);
    tree = new MmdbSearchTree(countryBytes, reader.metadata);
  } catch (error) {
    if (error instanceof EnrichmentDataError) throw error;
    throw new EnrichmentDataError(
      `${files.countryMmdbPath} is not a MaxMind DB file: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const table = async (path: string, parse: typeof parseAsnIpv4Table) => {
    const bytes = await readFile(path);
    try {
      // The parser reads the bytes: decoding 21 MB to a string first cost more than the parse.
      return parse(bytes);
    } catch (error) {
      throw new EnrichmentDataError(`${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  const asnIpv4 = await table(files.asnIpv4CsvPath, parseAsnIpv4Table);
  const asnIpv6 = await table(files.asnIpv6CsvPath, parseAsnIpv6Table);
  const countrySource = files.countrySource ?? {
    name: baseName(files.countryMmdbPath),
    version: null,
    builtAt: null,
    license: null,
  };
  // The country of each data record the tree pointed to: a country database
  // has a few hundred records, so each is decoded (by mmdb-lib) once.
  const countries = new Map<number, string | null>();
  return {
    country(address: string, bytes?: Uint8Array): string | null {
      const parsed = bytes ?? parseIp(address);
      // mmdb-lib says what is wrong with text that is not an address.
      if (parsed === null) return countryOf(reader.get(address));
      const pointer = tree.find(parsed);
      if (pointer === 0) return null;
      let country = countries.get(pointer);
      if (country === undefined) {
        if (countries.size >= MAX_CACHED_COUNTRY_RECORDS) countries.clear();
        country = countryOf(reader.get(address));
        countries.set(pointer, country);
      }
      return country;
    },
    asnIpv4,
    asnIpv6,
    info: {
      country: {
        ...countrySource,
        builtAt: countrySource.builtAt ?? reader.metadata.buildEpoch.toISOString(),
      },
      asn: files.asnSource ?? {
        name: baseName(files.asnIpv4CsvPath),
        version: null,
        builtAt: null,
        license: null,
      },
    },
  };
}
