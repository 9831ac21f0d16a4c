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
    } finally {
      await db.close();
    }
  },
});
