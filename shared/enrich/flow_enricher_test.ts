import assert from "node:assert/strict";
import { FlowEnricher } from "./flow_enricher.ts";
import { defaultEnrichmentData } from "./enrichment_data.ts";
import { loadEnrichmentDatabase } from "./load_enrichment_database.ts";
import { enrichAddress } from "./enrichment_database.ts";

Deno.test("FlowEnricher labels special ranges without a database and never looks them up", () => {
  const enricher = new FlowEnricher({ database: null });
  const fields = enricher.flowFields("192.168.1.10", "100.64.0.1");
  assert.equal(fields.orig_scope, "private");
  assert.equal(fields.resp_scope, "cgnat");
  assert.equal(fields.orig_country, null);
  assert.equal(enricher.flowFields("fe80::1", null).orig_scope, "link-local");
  assert.equal(enricher.flowFields(null, "8.8.8.8").resp_scope, "public");
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
      const fields = enricher.flowFields("10.0.0.1", address);
      assert.deepEqual(
        [fields.resp_scope, fields.resp_country, fields.resp_asn, fields.resp_as_org],
        [want.scope, want.country, want.asn, want.asOrganization],
      );
    }
    assert.equal(enricher.flowFields("10.0.0.1", "8.8.8.8").resp_asn, 15169);
    enricher.flowFields("10.0.0.1", "8.8.8.8");
    assert.equal(
      enricher.lookups,
      5,
      "four public addresses, one looked up again after the cache emptied",
    );
  },
});
