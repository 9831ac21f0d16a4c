import assert from "node:assert/strict";
import { openDatabase } from "@traffic-analyzer/shared/db";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { freePort, sampleRecords } from "@traffic-analyzer/shared/testing";
import { TUNNEL_TYPES } from "@traffic-analyzer/shared/packet/record";
import { ingest, makeTestApp } from "./_test_app.ts";

Deno.test({
  name: "the app",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db);

      await t.step("GET /openapi.json documents every route", async () => {
        const res = await app.request("/openapi.json");
        assert.equal(res.status, 200);
        const doc = await res.json();
        for (
          const path of [
            "/ingest_packets",
            "/api/last10",
            "/api/alltraffic",
            "/api/raw_packets/last/{count}",
            "/api/alltraffic.csv",
            "/api/flows/{id}/pcap",
            "/api/pcap",
            "/health",
            "/metrics",
          ]
        ) assert.ok(doc.paths[path], path);
        // Every flow filter is documented on the search and on both exports.
        for (const path of ["/api/alltraffic", "/api/alltraffic.csv", "/api/pcap"]) {
          const names = doc.paths[path].get.parameters.map((p: { name: string }) => p.name);
          for (
            const name of [
              "ip",
              "orig_ip",
              "resp_ip",
              "port",
              "resp_port",
              "protocol",
              "label",
              "min_score",
              "state",
              "community_id",
              "agent",
              "from",
              "to",
            ]
          ) assert.ok(names.includes(name), `${path} documents ${name}`);
        }
        const body = doc.paths["/ingest_packets"].post.requestBody.content["application/json"];
        const fields = Object.keys(body.schema.items.properties);
        for (const field of ["tunnel_type", "tunnel_src_ip", "tunnel_dst_ip", "tunnel_id"]) {
          assert.ok(fields.includes(field), `the record schema documents ${field}`);
        }
        const tunnelType = JSON.stringify(body.schema.items.properties.tunnel_type);
        for (const type of TUNNEL_TYPES) assert.ok(tunnelType.includes(`"${type}"`), tunnelType);
        const rawParams = doc.paths["/api/raw_packets/last/{count}"].get.parameters;
        assert.ok(rawParams.some((p: { name: string }) => p.name === "include"));
      });

      await t.step("an unknown route answers 404 in JSON, or as a page to a browser", async () => {
        const res = await app.request("/nope");
        assert.equal(res.status, 404);
        assert.ok((await res.json()).error);
        const page = await app.request("/nope<b>", { headers: { accept: "text/html" } });
        assert.equal(page.status, 404);
        assert.match(page.headers.get("content-type")!, /text\/html/);
        const text = await page.text();
        assert.match(text, /no route for GET \/nope&lt;b&gt;/);
      });

      await t.step("a known path with the wrong method answers 405 with Allow", async () => {
        const cases: [string, string, string][] = [
          ["GET", "/ingest_packets", "POST"],
          ["PUT", "/ingest_packets", "POST"],
          ["POST", "/api/last10", "GET, HEAD"],
          ["DELETE", "/api/raw_packets/last/5", "GET, HEAD"],
          ["POST", "/health", "GET, HEAD"],
        ];
        for (const [method, path, allow] of cases) {
          const res = await app.request(path, { method });
          assert.equal(res.status, 405, `${method} ${path}`);
          assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
          assert.match((await res.json()).error, new RegExp(`${method} is not allowed`));
        }
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "a database that refuses connections answers 503 with Retry-After",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    // Nothing listens on this port: every query fails with ECONNREFUSED, on either backend.
    const refused = await openDatabase({
      databaseUrl: `postgres://postgres@127.0.0.1:${freePort()}/test`,
      poolSize: 1,
    });
    try {
      const { app } = makeTestApp(refused);
      await t.step("ingest answers 503 with Retry-After", async () => {
        const res = await ingest(app, JSON.stringify(sampleRecords(3)));
        assert.equal(res.status, 503);
        assert.match((await res.json()).error, /database unavailable/);
        assert.ok(res.headers.get("retry-after"));
      });
      await t.step("health answers 503", async () => {
        const res = await app.request("/health");
        assert.equal(res.status, 503);
        const body = await res.json();
        assert.equal(body.database.ok, false);
      });
      await t.step("API reads answer 503 with Retry-After in JSON", async () => {
        for (const path of ["/api/last10", "/api/alltraffic", "/api/raw_packets/last/3"]) {
          const res = await app.request(path);
          assert.equal(res.status, 503, path);
          assert.equal(res.headers.get("retry-after"), "5", path);
          assert.match((await res.json()).error, /database unavailable/, path);
        }
      });
      await t.step("pages answer 503 with an HTML page that retries, not JSON", async () => {
        for (const path of ["/", "/alltraffic_page"]) {
          const res = await app.request(path);
          assert.equal(res.status, 503, path);
          assert.equal(res.headers.get("retry-after"), "5", path);
          assert.match(res.headers.get("content-type")!, /text\/html/, path);
          const page = await res.text();
          assert.match(page, /^<!doctype html>/);
          assert.match(page, /The database is unavailable/);
          assert.match(page, /<meta http-equiv="refresh" content="5"/);
        }
      });
      await t.step("health says why", async () => {
        const body = await (await app.request("/health")).json();
        assert.equal(body.status, "unavailable");
        assert.match(body.reason, /the database cannot be reached/);
      });
    } finally {
      await refused.close();
    }
  },
});

Deno.test({
  name: "every answer carries the security headers; oversized headers answer 431",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db);
      await t.step(
        "pages, JSON, errors and assets carry CSP, nosniff, Referrer-Policy, XFO",
        async () => {
          const page = await (await app.request("/")).text();
          const stylesheet = /<link rel="stylesheet" href="([^"]+)"/.exec(page)![1];
          assert.match(stylesheet, /^\/assets\/style\.[0-9a-f]{16}\.css$/);
          for (const path of ["/", "/alltraffic_page", "/api/last10", "/nope", stylesheet]) {
            const res = await app.request(path);
            await res.body?.cancel();
            const csp = res.headers.get("content-security-policy") ?? "";
            assert.match(csp, /default-src 'none'/, path);
            assert.match(csp, /frame-ancestors 'none'/, path);
            assert.doesNotMatch(csp, /unsafe-inline/, path);
            assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
            assert.equal(res.headers.get("referrer-policy"), "no-referrer", path);
            assert.equal(res.headers.get("x-frame-options"), "DENY", path);
          }
        },
      );
      await t.step("pages hold no inline script or style", async () => {
        for (const path of ["/", "/alltraffic_page"]) {
          const page = await (await app.request(path)).text();
          assert.doesNotMatch(page, /<script(?![^>]*\bsrc=)/, path);
          assert.doesNotMatch(page, /<style|\sstyle=/, path);
        }
      });
      await t.step("a hashed asset is served with a long cache life", async () => {
        const page = await (await app.request("/")).text();
        const stylesheet = /<link rel="stylesheet" href="([^"]+)"/.exec(page)![1];
        const res = await app.request(stylesheet);
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type")!, /text\/css/);
        assert.match(res.headers.get("cache-control")!, /immutable/);
        assert.match(await res.text(), /font:/);
      });
      await t.step("headers over 16 KiB answer 431 with a JSON reason", async () => {
        const res = await app.request("/api/last10", { headers: { "x-big": "a".repeat(20_000) } });
        assert.equal(res.status, 431);
        const body = await res.json();
        assert.match(body.error, /request headers are too large/);
        assert.equal(body.limit_bytes, 16_384);
      });
      await t.step("more than 64 header fields answer 431", async () => {
        const headers = Object.fromEntries(
          Array.from({ length: 70 }, (_, i) => [`x-h${i}`, "v"]),
        );
        const res = await app.request("/ingest_packets", { method: "POST", headers });
        assert.equal(res.status, 431);
        assert.match((await res.json()).error, /70 fields/);
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test("isDatabaseUnavailable() finds the reason in codes, names, causes and aggregates", async () => {
  const { isDatabaseUnavailable } = await import("./database_unavailable.ts");
  const coded = (code: string) => Object.assign(new Error(code), { code });
  assert.ok(isDatabaseUnavailable(coded("ECONNREFUSED")));
  assert.ok(isDatabaseUnavailable(coded("57P01")));
  assert.ok(isDatabaseUnavailable(new Deno.errors.ConnectionRefused("refused")));
  assert.ok(isDatabaseUnavailable(new AggregateError([new Error("x"), coded("ECONNREFUSED")])));
  assert.ok(isDatabaseUnavailable(new Error("wrapped", { cause: coded("CONNECTION_CLOSED") })));
  assert.ok(isDatabaseUnavailable(coded("3D000")), "a database dropped under the server");
  assert.ok(isDatabaseUnavailable(coded("28P01")), "a password changed under the server");
  const notAccepting = Object.assign(
    new Error('database "traffic" is not currently accepting connections'),
    { code: "55000" },
  );
  assert.ok(isDatabaseUnavailable(notAccepting), "ALLOW_CONNECTIONS false");
  assert.ok(!isDatabaseUnavailable(coded("55000")), "55000 is a statement error otherwise");
  assert.ok(!isDatabaseUnavailable(coded("22021")), "a bad value is not an outage");
  assert.ok(!isDatabaseUnavailable(coded("42P01")), "a missing table is a bug");
  assert.ok(!isDatabaseUnavailable(new TypeError("x")));
  assert.ok(!isDatabaseUnavailable(null));
});
