import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import type { Sql } from "@traffic-analyzer/shared/db";
import { ingest, makeTestApp } from "../_test_app.ts";
import { healthRoutes } from "./health.ts";

Deno.test({
  name: "GET /health",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db);
      await ingest(app, JSON.stringify(sampleRecords(5)), { "idempotency-key": "raw" });

      await t.step(
        "GET /health reports the database, version and uptime",
        async () => {
          const res = await app.request("/health");
          assert.equal(res.status, 200);
          const body = await res.json();
          assert.equal(body.status, "ok");
          assert.equal(body.database.ok, true);
          assert.equal(body.database.backend, db.kind);
          assert.ok(body.database.schema_version >= 1);
          assert.equal(body.uptime_sec, 60);
          assert.match(body.version, /^\d+\.\d+\.\d+/);
          // The GeoIP databases, as deno.json pins them.
          const pins = JSON.parse(
            await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
          );
          for (const source of [body.geoip.country, body.geoip.asn]) {
            assert.equal(`npm:${source.name}@${source.version}`, pins.imports[source.name]);
            assert.match(source.built_at, /^\d{4}-\d{2}-\d{2}T/);
          }
          assert.equal(body.aggregator.last_pass_at, null);
          assert.equal(body.aggregator.lag_packets, 5, "the five packets ingested above");
          assert.ok(body.aggregator.lag_sec >= 0);
        },
      );

      // The aggregator interval is 30 s: three intervals are 90 s.
      const ageBatches = (sec: number) =>
        db.sql`update ingest_batches set received_at = now() - make_interval(secs => ${sec})`;
      const lastPass = (sec: number | null) =>
        sec === null ? db.sql`update aggregator_progress set last_pass_at = null` : db
          .sql`update aggregator_progress set last_pass_at = now() - make_interval(secs => ${sec})`;
      const health = async () => {
        const res = await app.request("/health");
        assert.equal(res.status, 200);
        return await res.json();
      };

      await t.step("packets waiting less than three intervals are fine", async () => {
        await ageBatches(60);
        await lastPass(null);
        const body = await health();
        assert.equal(body.status, "ok");
        assert.equal(body.reason, undefined);
      });

      await t.step(
        "degraded when packets wait past three intervals and no pass ever ran",
        async () => {
          await ageBatches(200);
          const body = await health();
          assert.equal(body.status, "degraded");
          assert.match(
            body.reason,
            /no aggregation pass has run yet while 5 packets have waited up to 20\d s/,
          );
          assert.match(body.reason, /3 × AGGREGATE_INTERVAL = 90 s/);
          assert.match(body.reason, /deno task aggregate/);
        },
      );

      await t.step("degraded when the last pass is older than three intervals", async () => {
        await lastPass(120);
        const body = await health();
        assert.equal(body.status, "degraded");
        assert.match(body.reason, /no aggregation pass for 12\d s/);
      });

      await t.step(
        "a recent pass means the aggregator is working through the backlog",
        async () => {
          await lastPass(20);
          assert.equal((await health()).status, "ok");
        },
      );

      await t.step("nothing waiting is fine however old the last pass", async () => {
        await lastPass(10_000);
        await db
          .sql`update aggregator_progress set last_batch_id = (select max(id) from ingest_batches)`;
        assert.equal((await health()).status, "ok");
      });

      await t.step("the pages show the reason in a banner", async () => {
        await db.sql`update aggregator_progress set last_batch_id = 0`;
        for (const path of ["/", "/alltraffic_page"]) {
          const page = await (await app.request(path)).text();
          assert.match(
            page,
            /<p class="banner" role="status">no aggregation pass for 1000\d s/,
            path,
          );
        }
        await lastPass(5);
        assert.doesNotMatch(await (await app.request("/")).text(), /class="banner"/);
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test("GET /health: a database that does not answer in time is busy or unreachable, 503", async () => {
  // A stand-in for a database whose every query waits (as PGlite does behind a long ingest):
  // the tagged template returns a query that never settles.
  const waiting = (() => new Promise(() => {})) as unknown as Sql;
  const app = healthRoutes({
    sql: waiting,
    backend: "pglite",
    clock: () => 0,
    startedAtMs: 0,
    aggregateIntervalMs: 30_000,
    databaseTimeoutMs: 20,
  });
  const res = await app.request("/health");
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.equal(body.status, "unavailable");
  assert.equal(
    body.reason,
    "the database did not answer in time (no answer within 20 ms): it is busy or cannot be reached",
  );
  assert.deepEqual(body.database, {
    ok: false,
    backend: "pglite",
    error: "no answer within 20 ms",
  });
});
