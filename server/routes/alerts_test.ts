import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import {
  type IncidentFlowInput,
  newestIncidents,
  recordIncidents,
  type Sql,
} from "@traffic-analyzer/shared/db";
import { insertFlow, makeTestApp } from "../_test_app.ts";

const HOSTILE = "<script>alert(1)</script>";

Deno.test({
  name: "incidents API and page",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db);
      // Flows as the aggregator stores them, then incidents built from them
      // by the aggregator's own code: a scan from 10.0.0.66 (40 ports), a
      // flood to 10.0.0.80 from 30 sources, and a class with a hostile name.
      const flagged: IncidentFlowInput[] = [];
      const flow = async (i: number, fields: {
        orig_ip: string;
        resp_ip: string;
        resp_port: number;
        label: string;
        score: number;
        first_seen: number;
      }) => {
        const last_seen = fields.first_seen + 0.5;
        await insertFlow(db, i, { ...fields, last_seen });
        flagged.push({
          flowUid: `uid-${i}`,
          label: fields.label,
          score: fields.score,
          origIp: fields.orig_ip,
          respIp: fields.resp_ip,
          respPort: fields.resp_port,
          firstSeen: fields.first_seen,
          lastSeen: last_seen,
        });
      };
      for (let i = 0; i < 40; i++) {
        await flow(i, {
          orig_ip: "10.0.0.66",
          resp_ip: "10.0.0.5",
          resp_port: i + 1,
          label: "portscan",
          score: i === 7 ? 0.96875 : 0.75,
          first_seen: 1_764_000_000 + i,
        });
      }
      for (let i = 0; i < 30; i++) {
        await flow(100 + i, {
          orig_ip: `172.16.0.${i + 1}`,
          resp_ip: "10.0.0.80",
          resp_port: 80,
          label: "syn_flood",
          score: 0.875,
          first_seen: 1_764_000_100 + i,
        });
      }
      await flow(200, {
        orig_ip: "10.0.0.99",
        resp_ip: "10.0.0.5",
        resp_port: 22,
        label: HOSTILE,
        score: 0.625,
        first_seen: 1_764_000_200,
      });
      await db.sql.begin((tx) =>
        recordIncidents(tx as unknown as Sql, {
          flagged,
          clearedUids: [],
          minScore: 0.5,
          windowSec: 900,
        })
      );

      await t.step("GET /api/alerts lists incidents, newest activity first", async () => {
        const res = await app.request("/api/alerts");
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.next_cursor, null);
        assert.deepEqual(
          body.incidents.map((i: Record<string, unknown>) => [
            i.label,
            i.key_kind,
            i.key_ip,
            i.flow_count,
            i.port_count,
            i.target_count,
            i.source_count,
          ]),
          [
            [HOSTILE, "source", "10.0.0.99", 1, 1, 1, 1],
            ["syn_flood", "target", "10.0.0.80", 30, 1, 1, 30],
            ["portscan", "source", "10.0.0.66", 40, 40, 1, 1],
          ],
        );
        const scan = body.incidents[2];
        assert.equal(scan.first_seen, 1_764_000_000);
        assert.equal(scan.last_seen, 1_764_000_039.5);
        assert.equal(scan.max_score, 0.96875);
        assert.equal(scan.min_score, 0.5);
        assert.equal(scan.state, "open");
        assert.equal(scan.acknowledged_at, null);
        assert.equal(
          scan.flows_url,
          "/alltraffic_page?label=portscan&orig_ip=10.0.0.66&from=1764000000&to=1764000039.5" +
            "&min_score=0.5",
        );
      });

      await t.step("an incident's flow link finds exactly its flows", async () => {
        const body = await (await app.request("/api/alerts?label=portscan,syn_flood")).json();
        for (const incident of body.incidents) {
          const flows = await (await app.request(`${incident.flows_api_url}&limit=1000`)).json();
          assert.equal(flows.flows.length, incident.flow_count, incident.label);
          const page = await app.request(incident.flows_url);
          assert.equal(page.status, 200);
        }
      });

      await t.step("filters: state, label, from/to, limit and cursor", async () => {
        const labels = async (query: string) =>
          (await (await app.request(`/api/alerts?${query}`)).json()).incidents
            .map((i: { label: string }) => i.label);
        assert.deepEqual(await labels("label=portscan"), ["portscan"]);
        // By address: the key, or either end of a member flow; a CIDR takes all.
        assert.deepEqual(await labels("ip=10.0.0.66"), ["portscan"]);
        assert.ok((await labels("ip=10.0.0.80")).includes("syn_flood"));
        assert.equal((await labels("ip=10.0.0.0/8")).length, (await labels("")).length);
        assert.equal((await app.request("/api/alerts?ip=10.0.0.0/33")).status, 400);
        assert.deepEqual(await labels("to=1764000050"), ["portscan"]);
        assert.deepEqual(await labels("from=2025-11-24T16:01:50Z&to=1764000150"), ["syn_flood"]);
        assert.deepEqual(await labels("state=acknowledged"), []);
        const first = await (await app.request("/api/alerts?limit=2")).json();
        assert.equal(first.incidents.length, 2);
        assert.ok(first.next_cursor);
        const second = await (await app.request(`/api/alerts?limit=2&cursor=${first.next_cursor}`))
          .json();
        assert.deepEqual(second.incidents.map((i: { label: string }) => i.label), ["portscan"]);
        assert.equal(second.next_cursor, null);
      });

      await t.step("bad input answers 400 naming the parameter", async () => {
        for (
          const [query, field] of [
            ["state=closed", "state"],
            ["label=Port%20Scan", "label"],
            ["from=yesterday", "from"],
            ["to=1e9", "to"],
            ["limit=0", "limit"],
            ["limit=5000", "limit"],
            ["cursor=bm90IG91cnM", "cursor"],
            ["labels=portscan", "labels"],
          ]
        ) {
          const res = await app.request(`/api/alerts?${query}`);
          assert.equal(res.status, 400, query);
          const body = await res.json();
          assert.equal(body.field, field, query);
          assert.match(body.error, new RegExp(field), query);
        }
        const page = await app.request(`/alerts?state=${encodeURIComponent(HOSTILE)}`);
        assert.equal(page.status, 400);
        const text = await page.text();
        assert.match(text, /invalid state/);
        assert.ok(!text.includes(HOSTILE), "the hostile value comes back escaped");
        for (const id of ["0", "abc", "1e3", "99999999999999999"]) {
          const res = await app.request(`/api/alerts/${id}/acknowledge`, { method: "POST" });
          assert.equal(res.status, 400, id);
          assert.equal((await res.json()).field, "id");
        }
        const missing = await app.request("/api/alerts/999999/acknowledge", { method: "POST" });
        assert.equal(missing.status, 404);
      });

      await t.step("GET /alerts shows incidents escaped, with flow links and buttons", async () => {
        const res = await app.request("/alerts");
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type") ?? "", /text\/html/);
        const page = await res.text();
        assert.ok(!page.includes(HOSTILE));
        assert.ok(page.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert.ok(
          page.includes(
            'href="/alltraffic_page?label=portscan&amp;orig_ip=10.0.0.66&amp;from=1764000000',
          ),
        );
        assert.ok(page.includes("label=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"));
        assert.equal((page.match(/>Acknowledge</g) ?? []).length, 3);
        assert.match(
          page,
          /<form class="inline" method="post" action="\/alerts\/\d+\/acknowledge"/,
        );
        assert.ok(!/<script/i.test(page), "no script on the page");
        const blank = await app.request("/alerts?state=&label=&from=&to=");
        assert.equal(blank.status, 200, "a form sent with blank fields lists everything");
        assert.equal(((await blank.text()).match(/>Acknowledge</g) ?? []).length, 3);
      });

      await t.step("acknowledging by the API and by the page's form", async () => {
        const body = await (await app.request("/api/alerts?label=syn_flood")).json();
        const flood = body.incidents[0];
        const res = await app.request(`/api/alerts/${flood.id}/acknowledge`, { method: "POST" });
        assert.equal(res.status, 200);
        const acked = await res.json();
        assert.equal(acked.state, "acknowledged");
        assert.match(acked.acknowledged_at, /^\d{4}-\d{2}-\d{2}T/);
        const again = await (await app.request(`/api/alerts/${flood.id}/acknowledge`, {
          method: "POST",
        })).json();
        assert.equal(again.acknowledged_at, acked.acknowledged_at, "the first time is kept");

        const scan = (await (await app.request("/api/alerts?label=portscan")).json()).incidents[0];
        const form = await app.request(`/alerts/${scan.id}/acknowledge`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            origin: "http://localhost",
            host: "localhost",
            "sec-fetch-site": "same-origin",
          },
          body: new URLSearchParams({ next: "/alerts?state=open" }).toString(),
        });
        assert.equal(form.status, 303);
        assert.equal(form.headers.get("location"), "/alerts?state=open");
        const open = await (await app.request("/api/alerts?state=open")).json();
        assert.deepEqual(open.incidents.map((i: { label: string }) => i.label), [HOSTILE]);
        assert.deepEqual(
          (await newestIncidents(db.sql, { limit: 5, openOnly: true })).map((i) => i.label),
          [HOSTILE],
        );
        const page = await (await app.request("/alerts?state=acknowledged")).text();
        assert.equal((page.match(/>Acknowledge</g) ?? []).length, 0);
      });

      await t.step("an acknowledgement from another site is refused", async () => {
        const [incident] = await newestIncidents(db.sql, { limit: 1, openOnly: true });
        for (
          const headers of [
            { "sec-fetch-site": "cross-site" } as Record<string, string>,
            { "sec-fetch-site": "same-site", origin: "http://localhost", host: "localhost" },
            { origin: "https://evil.example", host: "localhost" },
            { origin: "null", host: "localhost" },
          ]
        ) {
          for (
            const path of [
              `/api/alerts/${incident.id}/acknowledge`,
              `/alerts/${incident.id}/acknowledge`,
            ]
          ) {
            const res = await app.request(path, {
              method: "POST",
              headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
              body: "next=/alerts",
            });
            assert.equal(res.status, 403, `${path} ${JSON.stringify(headers)}`);
            await res.body?.cancel();
          }
        }
        const [still] = await newestIncidents(db.sql, { limit: 1, openOnly: true });
        assert.equal(still.id, incident.id, "still open");
        const offsite = await app.request(`/alerts/${incident.id}/acknowledge`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "next=https://evil.example/",
        });
        assert.equal(offsite.headers.get("location"), "/alerts", "no open redirect");
      });

      await t.step("with READ_TOKEN, reading and acknowledging need it", async () => {
        const token = "read-token-0123456789";
        const { app: closed } = makeTestApp(db, { readToken: token });
        assert.equal((await closed.request("/api/alerts")).status, 401);
        assert.equal(
          (await closed.request("/api/alerts/1/acknowledge", { method: "POST" })).status,
          401,
        );
        const page = await closed.request("/alerts");
        assert.equal(page.status, 303);
        assert.match(page.headers.get("location") ?? "", /^\/login\?next=%2Falerts/);
        const ok = await closed.request("/api/alerts", {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(ok.status, 200);
        await ok.body?.cancel();
      });

      await t.step("the OpenAPI document lists the routes and their parameters", async () => {
        const doc = await (await app.request("/openapi.json")).json();
        const list = doc.paths["/api/alerts"].get;
        assert.deepEqual(
          list.parameters.map((p: { name: string }) => p.name).sort(),
          ["cursor", "from", "ip", "label", "limit", "state", "to"],
        );
        const ack = doc.paths["/api/alerts/{id}/acknowledge"].post;
        assert.deepEqual(ack.parameters.map((p: { name: string }) => p.name), ["id"]);
        assert.ok(doc.components.schemas.Incident);
      });
    } finally {
      await db.close();
    }
  },
});
