import assert from "node:assert/strict";
import {
  AddressParseError,
  defaultEnrichmentData,
  enrichAddress,
  type EnrichmentDatabase,
  EnrichmentDataError,
  loadEnrichmentDatabase,
  parseAsnIpv4Table,
  parseAsnIpv6Table,
} from "./mod.ts";

// One load for the file: the shipped databases take a second or two to read.
const shipped = await loadEnrichmentDatabase(defaultEnrichmentData());

Deno.test("enrichAddress() finds the country and AS of well-known public addresses", async (t) => {
  // Documented addresses of large providers, looked up in the local files only.
  const cases: [string, string, number, RegExp][] = [
    ["8.8.8.8", "US", 15169, /Google/],
    ["2001:4860:4860::8888", "US", 15169, /Google/],
    ["2606:4700:4700::1111", "US", 13335, /Cloudflare/],
    ["193.0.6.139", "NL", 3333, /RIPE/],
  ];
  for (const [address, country, asn, organization] of cases) {
    await t.step(address, () => {
      const found = enrichAddress(shipped, address);
      assert.equal(found.scope, "public");
      assert.equal(found.country, country);
      assert.equal(found.asn, asn);
      assert.match(found.asOrganization ?? "", organization);
    });
  }
  await t.step("an IPv4-mapped or NAT64 address is its IPv4 host", () => {
    const v4 = enrichAddress(shipped, "8.8.8.8");
    assert.deepEqual(enrichAddress(shipped, "::ffff:8.8.8.8"), v4);
    assert.deepEqual(enrichAddress(shipped, "64:ff9b::808:808"), v4);
  });
});

Deno.test("enrichAddress() labels special-purpose addresses and never looks them up", () => {
  let lookups = 0;
  const counting: EnrichmentDatabase = {
    ...shipped,
    country: (address) => {
      lookups++;
      return shipped.country(address);
    },
    asnIpv4: {
      size: 0,
      find: () => {
        lookups++;
        return null;
      },
    },
    asnIpv6: {
      size: 0,
      find: () => {
        lookups++;
        return null;
      },
    },
  };
  const special = [
    ["10.1.2.3", "private"],
    ["172.20.0.1", "private"],
    ["192.168.0.1", "private"],
    ["100.100.100.100", "cgnat"],
    ["127.0.0.1", "loopback"],
    ["169.254.1.1", "link-local"],
    ["fe80::1", "link-local"],
    ["fd00::1", "unique-local"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["192.0.2.1", "documentation"],
    ["2001:db8::1", "documentation"],
    ["::ffff:192.168.0.1", "private"],
  ];
  for (const [address, scope] of special) {
    assert.deepEqual(enrichAddress(counting, address), {
      scope,
      country: null,
      asn: null,
      asOrganization: null,
    });
  }
  assert.equal(lookups, 0);
  enrichAddress(counting, "8.8.8.8");
  assert.equal(lookups, 2, "a public address is looked up once in each database");
  assert.throws(() => enrichAddress(counting, "not-an-address"), AddressParseError);
});

Deno.test("the shipped databases say what they are and when they were built", () => {
  const { country, asn } = shipped.info;
  assert.equal(country.name, "@ip-location-db/geo-whois-asn-country-mmdb");
  assert.equal(asn.name, "@ip-location-db/asn");
  for (const source of [country, asn]) {
    assert.match(source.version ?? "", /^\d+\.\d+\.\d{10}$/);
    assert.ok(source.builtAt !== null && !Number.isNaN(Date.parse(source.builtAt)));
    assert.ok(source.license);
    // The date in the version and the build time agree to the day.
    assert.equal(source.builtAt!.slice(0, 10).replaceAll("-", ""), source.version!.slice(-10, -2));
  }
  assert.ok(shipped.asnIpv4.size > 100_000 && shipped.asnIpv6.size > 10_000);
});

Deno.test("loadEnrichmentDatabase() names a missing or malformed file", async (t) => {
  const files = defaultEnrichmentData();
  const dir = await Deno.makeTempDir();
  try {
    await t.step("a missing file", async () => {
      await assert.rejects(
        loadEnrichmentDatabase({ ...files, asnIpv6CsvPath: `${dir}/missing.csv` }),
        (error: Error) =>
          error instanceof EnrichmentDataError && error.message.includes(`${dir}/missing.csv`),
      );
    });
    await t.step("a country file that is not a MaxMind DB", async () => {
      await Deno.writeTextFile(`${dir}/country.mmdb`, "not a database");
      await assert.rejects(
        loadEnrichmentDatabase({ ...files, countryMmdbPath: `${dir}/country.mmdb` }),
        /country\.mmdb is not a MaxMind DB file/,
      );
    });
    await t.step("an ASN table with a bad row", async () => {
      await Deno.writeTextFile(`${dir}/asn.csv`, "1,2,3,A\n4,5\n");
      await assert.rejects(
        loadEnrichmentDatabase({ ...files, asnIpv4CsvPath: `${dir}/asn.csv` }),
        /asn\.csv: line 2: expected 4 fields/,
      );
    });
    await t.step("files of your own, described by their names and metadata", async () => {
      await Deno.writeTextFile(`${dir}/v4.csv`, "134744064,134744319,64500,Example AS\n");
      await Deno.writeTextFile(`${dir}/v6.csv`, "");
      const own = await loadEnrichmentDatabase({
        countryMmdbPath: files.countryMmdbPath,
        asnIpv4CsvPath: `${dir}/v4.csv`,
        asnIpv6CsvPath: `${dir}/v6.csv`,
      });
      assert.equal(own.info.asn.name, "v4.csv");
      assert.equal(own.info.country.version, null);
      assert.ok(own.info.country.builtAt, "from the file's metadata");
      assert.equal(enrichAddress(own, "8.8.8.8").asOrganization, "Example AS");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the ASN tables of a database can be built from text in memory", () => {
  const db: EnrichmentDatabase = {
    ...shipped,
    asnIpv4: parseAsnIpv4Table("134744064,134744319,15169,Google LLC\n"),
    asnIpv6: parseAsnIpv6Table(""),
  };
  assert.equal(enrichAddress(db, "8.8.8.9").asn, 15169);
  assert.equal(enrichAddress(db, "2001:4860:4860::8888").asn, null);
});
