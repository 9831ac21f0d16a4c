import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { insertFlow, makeTestApp } from "../_test_app.ts";

/** The test's "now": a minute after the newest flow below. */
const NOW_SEC = 1_764_003_600;

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const sumSeries = (named: Record<string, number[]>) =>
  sum(Object.values(named).map((values) => sum(values)));

Deno.test({
  name: "dashboard API and page",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db, { clock: () => NOW_SEC * 1000 });
      const end = NOW_SEC;
      // A: TCP 10.0.0.1 -> 10.0.0.2:80, 20 packets / 2000 bytes, all in the last 60 s.
      await insertFlow(db, 1, {
        first_seen: end - 50,
        last_seen: end - 10,
        orig_packets: 12,
        resp_packets: 8,
        orig_bytes: 1200,
        resp_bytes: 800,
        state: "active",
      });
      // B: UDP 10.0.0.3 -> 10.0.0.2:53, one instant, a portscan.
      await insertFlow(db, 2, {
        orig_ip: "10.0.0.3",
        resp_port: 53,
        protocol: "UDP",
        ip_proto: 17,
        first_seen: end - 1800,
        last_seen: end - 1800,
        orig_packets: 1,
        resp_packets: 1,
        orig_bytes: 60,
        resp_bytes: 90,
        label: "portscan",
      });
      // C: half inside the hour: 1000 packets over 100 min, 500 of them in the period.
      await insertFlow(db, 3, {
        orig_ip: "10.0.0.4",
        resp_port: 443,
        first_seen: end - 6600,
        last_seen: end - 600,
        orig_packets: 600,
        resp_packets: 400,
        orig_bytes: 60_000,
        resp_bytes: 40_000,
        label: null,
        score: null,
      });
      // D: before the period entirely.
      await insertFlow(db, 4, { first_seen: end - 9000, last_seen: end - 8000 });

      await t.step("numbers over the last hour, flows spread over their span", async () => {
        const res = await app.request("/api/dashboard?period=1h");
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.period, "1h");
        assert.equal(body.anchor, "now");
        assert.equal(body.end_sec, end);
        assert.equal(body.start_sec, end - 3600);
        assert.equal(body.step_sec, 60);
        assert.equal(body.bucket_starts.length, 60);
        assert.equal(body.headline.flows_seen, 3);
        assert.equal(body.headline.active_flows, 1);
        // A whole (20), B whole (2), half of C (500).
        assert.equal(body.headline.packets, 20 + 2 + 500);
        assert.equal(body.headline.bytes, 2000 + 150 + 50_000);
        // Last 60 s: all of A.
        assert.equal(body.headline.packets_per_sec, 20 / 60);
        assert.equal(body.headline.bytes_per_sec, 2000 / 60);
        assert.equal(sumSeries(body.traffic.packets), 522);
        assert.equal(sumSeries(body.traffic.bytes), 52_150);
        assert.deepEqual(Object.keys(body.traffic.packets).sort(), ["TCP", "UDP"]);
        // B sits in bucket 30 (1800 s before the end).
        assert.equal(body.traffic.packets.UDP[30], 2);
        // Flows started in the period: A and B (C started before it).
        assert.equal(sumSeries(body.flows_by_class), 2);
        assert.equal(sum(body.flows_by_class.portscan), 1);
        assert.equal(sum(body.flows_by_class.benign), 1);
        assert.equal(body.top_talkers[0].ip, "10.0.0.2");
        assert.equal(body.top_talkers[0].bytes, 52_150);
        assert.equal(body.top_talkers[1].ip, "10.0.0.4");
        assert.deepEqual(
          body.top_services.map((s: { port: number; protocol: string }) =>
            `${s.port}/${s.protocol}`
          ),
          ["443/TCP", "80/TCP", "53/UDP"],
        );
        assert.equal(body.open_incidents, 0, "no incident stored: the default counter says 0");
        assert.equal(body.aggregator.status, "ok");
        assert.equal(typeof body.agents_reporting, "number");
      });

      await t.step("24 h and 7 d from the roll-ups, ending at the next whole minute", async () => {
        for (const period of ["24h", "7d"]) {
          const { app: later } = makeTestApp(db, { clock: () => (end - 30) * 1000 });
          const body = await (await later.request(`/api/dashboard?period=${period}`)).json();
          assert.equal(body.end_sec, end, "the minute now is in (end - 60, end] is the last");
          // Every flow lies before `end`, whole: A, B, C and D.
          assert.equal(body.headline.flows_seen, 4);
          assert.equal(body.headline.packets, 20 + 2 + 1000 + 5);
          assert.equal(sumSeries(body.traffic.packets), 1027);
          assert.equal(sumSeries(body.flows_by_class), 4);
          assert.equal(sum(body.flows_by_class.unscored), 1);
          assert.equal(body.top_talkers[0].ip, "10.0.0.2");
          assert.equal(body.top_talkers[0].bytes, 2000 + 150 + 100_000 + 500);
          assert.equal(body.top_talkers[0].flows, 4);
          assert.deepEqual(
            body.top_services.map((s: { port: number; protocol: string; responders: number }) =>
              `${s.port}/${s.protocol}/${s.responders}`
            ),
            ["443/TCP/1", "80/TCP/1", "53/UDP/1"],
          );
        }
      });

      await t.step("with no flow in the period, it shows the period up to the newest", async () => {
        const { app: later } = makeTestApp(db, { clock: () => (NOW_SEC + 86_400 * 3) * 1000 });
        const body = await (await later.request("/api/dashboard?period=15m")).json();
        assert.equal(body.anchor, "newest_flow");
        assert.equal(body.end_sec, end - 10);
        // A, and the 310 s of C inside (end - 910 to end - 600).
        assert.equal(body.headline.flows_seen, 2);
        assert.equal(body.headline.packets, 20 + Math.round((1000 * 310) / 6000));
        const page = await (await later.request("/?period=15m")).text();
        assert.match(page, /No traffic in the last 15 min: showing the 15 min up to the newest/);
      });

      await t.step("an end given is kept", async () => {
        const body = await (await app.request(`/api/dashboard?period=15m&end=${end - 1700}`))
          .json();
        assert.equal(body.anchor, "requested");
        // B, and 900 s of C.
        assert.equal(body.headline.flows_seen, 2);
        assert.equal(body.headline.packets, 2 + 150);
      });

      await t.step("bad parameters answer 400 naming them", async () => {
        for (
          const [query, field] of [
            ["period=2h", "period"],
            ["end=yesterday", "end"],
            ["perod=1h", "perod"],
          ]
        ) {
          const res = await app.request(`/api/dashboard?${query}`);
          assert.equal(res.status, 400, query);
          const body = await res.json();
          assert.equal(body.field, field, query);
        }
        const page = await app.request("/?period=2h");
        assert.equal(page.status, 400);
        assert.match(await page.text(), /invalid period/);
      });

      await t.step("open incidents come from the counter the app is given", async () => {
        const { app: withIncidents } = makeTestApp(db, {
          clock: () => NOW_SEC * 1000,
          openIncidents: async (sql) => {
            const [{ n }] = await sql<{ n: number }[]>`
              select count(*)::int8 as n from traffic_data where label = 'portscan'`;
            return Number(n);
          },
        });
        const body = await (await withIncidents.request("/api/dashboard")).json();
        assert.equal(body.open_incidents, 1);
        const page = await (await withIncidents.request("/")).text();
        assert.match(page, /Open incidents/);
        // The default counter reads the incidents table, empty here.
        assert.match(await (await app.request("/")).text(), /data-field="open_incidents">0</);
      });

      await t.step("the page renders the numbers, charts' places and hashed scripts", async () => {
        await insertFlow(db, 5, {
          label: "<img src=x onerror=alert(1)>",
          first_seen: end - 5,
          last_seen: end - 5,
          orig_ip: "10.0.0.9",
        });
        const res = await app.request("/?period=1h");
        assert.equal(res.status, 200);
        const page = await res.text();
        for (const id of ["chart-packets", "chart-bytes", "chart-classes", "top-talkers"]) {
          assert.match(page, new RegExp(`id="${id}"`));
        }
        assert.match(page, /data-field="flows_seen">4</);
        assert.match(page, /href="\/hosts\/10\.0\.0\.2"/);
        assert.match(page, /href="\/flows\/\d+"/);
        assert.ok(!page.includes("<img src=x"));
        const scripts = [...page.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
        assert.equal(scripts.length, 2);
        for (const src of scripts) {
          assert.match(src, /^\/assets\/[\w.]+\.[0-9a-f]{16}\.js$/);
          const asset = await app.request(src);
          assert.equal(asset.status, 200);
          assert.match(asset.headers.get("content-type")!, /javascript/);
          assert.ok((await asset.text()).length > 1000);
        }
        assert.doesNotMatch(page, /https?:\/\/(?!www\.w3\.org)/, "no absolute URL");
      });

      await t.step("the OpenAPI document lists the new routes", async () => {
        const doc = await (await app.request("/openapi.json")).json();
        for (
          const path of [
            "/api/dashboard",
            "/api/flows/{id}",
            "/api/flows/{id}/packets",
            "/api/hosts/{ip}",
          ]
        ) {
          assert.ok(doc.paths[path]?.get, path);
        }
        const params = doc.paths["/api/dashboard"].get.parameters.map((p: { name: string }) =>
          p.name
        );
        assert.deepEqual(params.sort(), ["end", "period"]);
      });
    } finally {
      await db.close();
    }
  },
});
