import assert from "node:assert/strict";
import { FlowEnricher } from "./flow_enricher.ts";
import { defaultEnrichmentData } from "./enrichment_data.ts";
import { loadEnrichmentDatabase } from "./load_enrichment_database.ts";
import { enrichAddress } from "./enrichment_database.ts";

Deno.test("FlowEnricher labels special ranges without a database and never looks them up", () => {
  const enricher = new FlowEnricher({ database: null });
  assert.equal(enricher.address("192.168.1.10")?.scope, "private");
  assert.equal(enricher.address("100.64.0.1")?.scope, "cgnat");
  assert.equal(enricher.address("192.168.1.10")?.country, null);
  assert.equal(enricher.address("fe80::1")?.scope, "link-local");
  assert.equal(enricher.address("8.8.8.8")?.scope, "public");
  assert.equal(enricher.address("not an address"), null);
  assert.equal(enricher.lookups, 0);
  assert.throws(() => new FlowEnricher({ database: null, cacheSize: 0 }), /cacheSize/);
});

Deno.test({
  name: "FlowEnricher answers as enrichAddress() does, once per address",
  sanitizeResources: false,
  async fn() {
    const database = await loadEnrichmentDatabase(defaultEnrichmentData());
    const enricher = new FlowEnricher({ database, cacheSize: 4 });
    const addresses = ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "9.9.9.9", "10.1.2.3"];
    for (const address of addresses) {
      const want = enrichAddress(database, address);
      assert.deepEqual(enricher.address(address), want);
    }
    assert.equal(enricher.address("8.8.8.8")?.asn, 15169);
    enricher.address("8.8.8.8");
    assert.equal(
      enricher.lookups,
      5,
      "four public addresses, one looked up again after the cache emptied",
    );
    assert.equal(enricher.address("not an address"), null, "text that is not an address");
    assert.equal(enricher.address("192.168.1.10")?.scope, "private");
    assert.equal(enricher.lookups, 5, "neither is looked up");
  },
});
