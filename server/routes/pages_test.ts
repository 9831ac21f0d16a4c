import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { insertFlow, makeTestApp } from "../_test_app.ts";

Deno.test({
  name: "web pages",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db);
      for (let i = 1; i <= 25; i++) await insertFlow(db, i);

      await t.step(
        "GET / and /alltraffic_page render HTML with escaped fields",
        async () => {
          await insertFlow(db, 200, {
            label: "<script>alert(1)</script>",
            last_seen: 1_800_000_000,
          });
          const res = await app.request("/");
          assert.equal(res.status, 200);
          assert.match(res.headers.get("content-type") ?? "", /text\/html/);
          const page = await res.text();
          assert.ok(!page.includes("<script>alert(1)</script>"));
          assert.ok(page.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
          const all = await app.request("/alltraffic_page?limit=5");
          assert.equal(all.status, 200);
          const text = await all.text();
          assert.match(text, /Next page/);
          assert.ok(!text.includes("<script>alert"));
          assert.equal(
            (await app.request("/alltraffic_page?limit=0")).status,
            400,
          );
        },
      );

      await t.step("the flow page has a filter form that writes the URL's parameters", async () => {
        await insertFlow(db, 300, { orig_ip: "192.0.2.50", protocol: "UDP", resp_port: 53 });
        const page = await (await app.request("/alltraffic_page?ip=192.0.2.0/24&sort=bytes"))
          .text();
        assert.match(page, /<form class="filters" method="get" action="\/alltraffic_page">/);
        assert.match(page, /<input name="ip" value="192.0.2.0\/24"/);
        assert.match(page, /<option value="bytes" selected="">bytes<\/option>/);
        // The filter narrows the table to the one flow.
        assert.equal(page.match(/<tr class=/g)?.length, 1);
        assert.match(page, /192\.0\.2\.50/);
        assert.match(page, /href="\/api\/alltraffic.csv\?ip=192\.0\.2\.0%2F24&amp;sort=bytes"/);
      });

      await t.step("the next-page link keeps the filter and carries the cursor", async () => {
        const page = await (await app.request("/alltraffic_page?protocol=TCP&limit=5")).text();
        const next = /href="(\/alltraffic_page\?[^"]*cursor=[^"]+)"/.exec(page)![1].replaceAll(
          "&amp;",
          "&",
        );
        const params = new URL(next, "http://x").searchParams;
        assert.equal(params.get("protocol"), "TCP");
        assert.equal(params.get("limit"), "5");
        assert.equal((await app.request(next)).status, 200);
      });

      await t.step(
        "bad filter input shows the reason on the page, with the form, as 400",
        async () => {
          for (
            const [query, field] of [["min_score=2", "min_score"], ["ip=10.0.0.0/33", "ip"], [
              "sort=size",
              "sort",
            ]]
          ) {
            const res = await app.request(`/alltraffic_page?${query}`);
            assert.equal(res.status, 400, query);
            assert.match(res.headers.get("content-type")!, /text\/html/);
            const page = await res.text();
            assert.match(
              page,
              new RegExp(`<p class="banner error" role="alert">invalid ${field}`),
              query,
            );
            assert.match(page, /<form class="filters"/);
          }
        },
      );

      await t.step("the filter form submitted with blank fields means any value", async () => {
        const all = await app.request("/alltraffic_page");
        const blank = await app.request(
          "/alltraffic_page?ip=&port=&protocol=&label=&min_score=&state=&agent=&sort=last_seen",
        );
        assert.equal(blank.status, 200);
        const rows = (page: string) => page.match(/<tr/g)?.length ?? 0;
        assert.equal(rows(await blank.text()), rows(await all.text()));
      });

      await t.step("the pages show each flow's agent, escaped, and filter by it", async () => {
        // Ingest takes any printable ASCII as X-Agent-Id: markup among it.
        const hostile = `<img/src=x/onerror=alert(1)>"'&`;
        await insertFlow(db, 400, {
          agent: hostile,
          last_seen: 1_900_000_000,
          tunnel_type: "vxlan",
          tunnel_id: 5001,
        });
        await insertFlow(db, 401, { agent: "sensor-9", last_seen: 1_900_000_001 });
        for (const url of ["/", "/alltraffic_page", "/alltraffic_page?agent=sensor-9"]) {
          const page = await (await app.request(url)).text();
          assert.ok(!page.includes("<img/src=x"), `${url}: no live markup`);
          assert.match(page, /<th>Agent<\/th>/, url);
          assert.match(page, /<td>sensor-9<\/td>/, url);
        }
        const latest = await (await app.request("/")).text();
        assert.ok(latest.includes("&lt;img/src=x/onerror=alert(1)&gt;&quot;&#39;&amp;"), latest);
        assert.match(latest, /<td>vxlan 5001<\/td>/);
        // The filter narrows the table to that agent's flow, and the form shows it back.
        const filtered = await (
          await app.request(`/alltraffic_page?agent=${encodeURIComponent(hostile)}`)
        ).text();
        assert.equal(filtered.match(/<tr class=/g)?.length, 1);
        assert.ok(!filtered.includes("<img/src=x"));
        assert.match(filtered, /<input name="agent" value="&lt;img\/src=x/);
        const bad = await app.request("/alltraffic_page?agent=two%20words");
        assert.equal(bad.status, 400);
        assert.match(await bad.text(), /invalid agent/);
      });

      await t.step("hostile filter values come back as text", async () => {
        const hostile = '"><script>alert(1)</script>';
        const res = await app.request(
          `/alltraffic_page?ip=${encodeURIComponent(hostile)}&protocol=${
            encodeURIComponent("<img src=x onerror=alert(1)>")
          }`,
        );
        assert.equal(res.status, 400);
        const page = await res.text();
        assert.ok(!page.includes("<script>alert(1)"), "no live script");
        assert.ok(!page.includes("<img src=x"), "no live img");
        assert.ok(page.includes("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
      });

      await t.step("names the flows carry show beside addresses and ports, escaped", async () => {
        const sni = `<img/src=x/onerror=alert(2)>.example"'&`;
        const query = `<script>alert(3)</script>.example`;
        const at = 2_000_000_000;
        await insertFlow(db, 500, {
          orig_ip: "10.9.9.8",
          resp_ip: "10.9.9.9",
          resp_port: 443,
          first_seen: at,
          last_seen: at + 5,
          orig_bytes: 900_000,
          tls_sni: sni,
          app_protocol: "tls",
        });
        await insertFlow(db, 501, {
          orig_ip: "10.9.9.8",
          resp_ip: "10.9.9.53",
          resp_port: 53,
          protocol: "UDP",
          ip_proto: 17,
          first_seen: at + 1,
          last_seen: at + 1.5,
          app_protocol: "dns",
          dns_query: query,
          dns_qtype: 1,
          dns_rcode: 0,
          dns_answers: "192.0.2.7,192.0.2.8",
          dns_query_count: 1,
        });
        // A clock just after these flows, so the last 15 min hold them.
        const { app: then } = makeTestApp(db, { clock: () => (at + 60) * 1000 });
        const api = await (await then.request("/api/dashboard?period=15m")).json();
        const talker = api.top_talkers.find((t: { ip: string }) => t.ip === "10.9.9.9");
        assert.deepEqual(talker.names, [sni], "the host's name, as data");
        const dnsService = api.top_services.find((s: { port: number }) => s.port === 53);
        assert.deepEqual(dnsService.names, [query]);
        const escapedSni = "&lt;img/src=x/onerror=alert(2)&gt;.example&quot;&#39;&amp;";
        const escapedQuery = "&lt;script&gt;alert(3)&lt;/script&gt;.example";
        const pages = {
          dashboard: await (await then.request("/?period=15m")).text(),
          flows: await (await then.request("/alltraffic_page?ip=10.9.9.8")).text(),
          host: await (await then.request("/hosts/10.9.9.8?period=15m")).text(),
        };
        for (const [name, page] of Object.entries(pages)) {
          assert.ok(!page.includes("<img/src=x") && !page.includes("<script>alert(3)"), name);
          assert.ok(page.includes(escapedSni), `${name} shows the server name`);
          assert.ok(page.includes(escapedQuery), `${name} shows the DNS query`);
        }
        const [{ id }] = await db.sql<{ id: number }[]>`
          select id from traffic_data where flow_uid = 'uid-501'`;
        const flowPage = await (await app.request(`/flows/${id}`)).text();
        assert.ok(!flowPage.includes("<script>alert(3)"));
        assert.match(flowPage, /<dd id="dns-query">&lt;script&gt;alert\(3\)/);
        assert.match(flowPage, /<dd id="dns-answers">2: 192\.0\.2\.7, 192\.0\.2\.8<\/dd>/);
        assert.match(flowPage, /A \(1\)/);
        const flowApi = await (await app.request(`/api/flows/${id}`)).json();
        assert.deepEqual(flowApi.app.dns.answers, ["192.0.2.7", "192.0.2.8"]);
        assert.equal(flowApi.app.tls, null);
      });

      await t.step("the host page lists the incidents involving the host, with links", async () => {
        const [incident] = await db.sql<{ id: number }[]>`
          insert into incidents (label, key_kind, key_ip, flow_count, first_seen, last_seen,
            max_score, min_score)
          values ('portscan', 'source', '10.9.9.70', 1, 2000000000, 2000000001, 0.9, 0.5)
          returning id`;
        await insertFlow(db, 502, {
          orig_ip: "10.9.9.70",
          resp_ip: "10.9.9.71",
          first_seen: 2_000_000_000,
          last_seen: 2_000_000_001,
          label: "portscan",
        });
        await db.sql`insert into incident_flows (flow_uid, incident_id)
          values ('uid-502', ${incident.id})`;
        // The scanned host finds the scan keyed by its scanner, through the member flow.
        for (const ip of ["10.9.9.70", "10.9.9.71"]) {
          const page = await (await app.request(`/hosts/${ip}`)).text();
          assert.match(page, /<h2>Incidents involving /, ip);
          assert.match(page, /<td>portscan<\/td>/, ip);
          assert.match(
            page,
            /href="\/alltraffic_page\?label=portscan&amp;orig_ip=10\.9\.9\.70/,
            ip,
          );
          const api = await (await app.request(`/api/hosts/${ip}`)).json();
          assert.equal(api.incidents.length, 1);
          assert.match(api.incidents[0].flows_url, /^\/alltraffic_page\?label=portscan/);
        }
        const other = await (await app.request("/hosts/10.9.9.8")).text();
        assert.match(other, /None: no incident has 10\.9\.9\.8/);
      });
    } finally {
      await db.close();
    }
  },
});
