import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { insertFlow, makeTestApp } from "../_test_app.ts";

/** Flows with names, fingerprints and places, as the aggregator writes them. */
const FLOWS: Record<string, unknown>[] = [
  {
    app_protocol: "tls",
    tls_sni: "www.example.com",
    tls_ja4: "t13d1516h2_8daaf6152771_e5627efa2ab1",
    resp_scope: "public",
    resp_country: "US",
    resp_asn: 15169,
    resp_as_org: "Google LLC",
  },
  { app_protocol: "http", http_host: "API.Example.com:8080", http_method: "GET", http_path: "/" },
  { app_protocol: "dns", dns_query: "mail.example.org", dns_query_count: 2 },
  {
    app_protocol: "quic",
    tls_sni: "example.com",
    tls_ja4: "q13d0311h3_55b375c5d22e_cd85d2d88918",
    orig_scope: "public",
    orig_country: "DE",
    orig_asn: 3320,
  },
  { app_protocol: "ssh", ssh_client: "SSH-2.0-OpenSSH_9.2p1", resp_scope: "private" },
  { app_protocol: "tls", tls_sni: "a_b.example.net" },
  { app_protocol: "tls", tls_sni: "axb.example.net" },
  {},
];

Deno.test({
  name: "flow API: host, ja4, app, country and asn filters",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db);
      for (const [i, fields] of FLOWS.entries()) await insertFlow(db, i, fields);
      const uids = async (query: string): Promise<string[]> => {
        const res = await app.request(`/api/alltraffic?${query}&sort=last_seen&order=asc`);
        assert.equal(res.status, 200, query);
        const body = await res.json();
        return body.flows.map((f: { flow_uid: string }) => f.flow_uid);
      };

      await t.step("each filter returns exactly the matching flows", async () => {
        const cases: [string, number[]][] = [
          ["host=www.example.com", [0]],
          ["host=WWW.EXAMPLE.COM", [0]],
          ["host=api.example.com", [1]],
          ["host=mail.example.org", [2]],
          ["host=*.example.com", [0, 1]],
          ["host=example.com", [3]],
          ["host=*.example.net", [5, 6]],
          ["host=a_b.example.net", [5]],
          ["host=nothing.example", []],
          ["ja4=t13d1516h2_8daaf6152771_e5627efa2ab1", [0]],
          ["app=tls", [0, 5, 6]],
          ["app=ssh", [4]],
          ["country=us", [0]],
          ["country=DE", [3]],
          ["asn=15169", [0]],
          ["asn=AS3320", [3]],
          ["app=tls&country=US", [0]],
        ];
        for (const [query, want] of cases) {
          assert.deepEqual(await uids(query), want.map((i) => `uid-${i}`), query);
        }
      });

      await t.step("a flow carries its names, fingerprint and places", async () => {
        const res = await app.request("/api/alltraffic?ja4=t13d1516h2_8daaf6152771_e5627efa2ab1");
        const [flow] = (await res.json()).flows;
        assert.equal(flow.tls_sni, "www.example.com");
        assert.equal(flow.app_protocol, "tls");
        assert.equal(flow.resp_country, "US");
        assert.equal(flow.resp_asn, 15169);
        assert.equal(flow.resp_as_org, "Google LLC");
      });

      await t.step("bad input answers 400 naming the parameter", async () => {
        const cases: [string, string][] = [
          ["host=exa%20mple.com", "host"],
          ["host=*", "host"],
          ["host=a.*.com", "host"],
          ["host=%25.example.com", "host"],
          ["ja4=t13d", "ja4"],
          ["ja4=T13D1516H2_8DAAF6152771_E5627EFA2AB1", "ja4"],
          ["app=ftp", "app"],
          ["country=USA", "country"],
          ["country=1a", "country"],
          ["asn=AS", "asn"],
          ["asn=99999999999", "asn"],
          ["asn=-1", "asn"],
        ];
        for (const [query, field] of cases) {
          const res = await app.request(`/api/alltraffic?${query}`);
          assert.equal(res.status, 400, query);
          const body = await res.json();
          assert.equal(body.field, field, query);
          assert.match(body.error, new RegExp(field), query);
        }
      });

      await t.step("/alltraffic_page shows the names and takes the same filters", async () => {
        const res = await app.request("/alltraffic_page?host=*.example.com");
        assert.equal(res.status, 200);
        const html = await res.text();
        assert.match(html, /www\.example\.com/);
        assert.match(html, /API\.Example\.com:8080/);
        assert.doesNotMatch(html, /mail\.example\.org/);
        assert.match(html, /US AS15169/);
        const bad = await app.request("/alltraffic_page?country=USA");
        assert.equal(bad.status, 400);
        assert.match(await bad.text(), /country/);
      });
    } finally {
      await db.close();
    }
  },
});
