import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { openTestDatabase } from "./test_database.ts";
import { type FlowUpsert, upsertFlows } from "./upsert_flows.ts";
import { FLOW_APP_FIELD_NAMES } from "../flow/flow_app_fold.ts";
import { NO_FLOW_ENRICHMENT } from "../enrich/flow_enricher.ts";
import { CopyInError } from "./copy_in.ts";
import { openFlowCopy } from "./flow_copy.ts";
import type { Sql } from "./open_database.ts";
import { sampleFlowUpsert as flow } from "./_sample_flow_upsert.ts";

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());
// On PGlite the COPY goes through its own query (its socket server does not carry
// COPY FROM STDIN), in the same session, so inside the transaction here too.
const pglite = db.pglite;

async function copyFlows(flows: readonly FlowUpsert[], chunk = 7): Promise<number> {
  return await db.sql.begin(async (tx) => {
    const copy = await openFlowCopy(tx as unknown as Sql, { pglite });
    for (let i = 0; i < flows.length; i += chunk) await copy.write(flows.slice(i, i + chunk));
    return await copy.end();
  }) as number;
}

/** The application-layer and enrichment columns, named as their fields are. */
const EXTRA_COLUMNS = [...FLOW_APP_FIELD_NAMES, ...Object.keys(NO_FLOW_ENRICHMENT)];

/** Every stored column but the id and the write time, as PostgreSQL prints it. */
async function storedRows(): Promise<string[]> {
  const rows = await db.sql<{ row: string }[]>`
    select (flow_uid, community_id, interface, orig_ip, orig_port, resp_ip, resp_port, protocol,
      ip_proto, vlan, vlan_inner, float8send(first_seen), float8send(last_seen), orig_packets,
      resp_packets, orig_bytes, resp_bytes, state, close_reason, conn_state, features,
      feature_version, label, float4send(score), model_version, explanation, agent, tunnel_type,
      tunnel_id)::text ||
      (${db.sql.unsafe(EXTRA_COLUMNS.join(", "))})::text as row
    from traffic_data order by flow_uid`;
  return rows.map((r) => r.row);
}

const text = fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => !s.includes("\0"));
const anyFlow = fc.record({
  community_id: fc.option(text),
  interface: fc.option(text),
  agent: fc.option(text),
  tunnel_type: fc.option(fc.constantFrom("vxlan", "geneve", "gre", "erspan", "pppoe")),
  // A VNI is 24 bits, a GRE key or session id 32: bigint holds them all.
  tunnel_id: fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  orig_ip: fc.option(fc.oneof(fc.ipV4(), fc.ipV6())),
  orig_port: fc.option(fc.integer({ min: 0, max: 65535 })),
  resp_ip: fc.option(fc.oneof(fc.ipV4(), fc.ipV6())),
  resp_port: fc.option(fc.integer({ min: 0, max: 65535 })),
  protocol: text,
  ip_proto: fc.option(fc.integer({ min: 0, max: 255 })),
  vlan: fc.option(fc.integer({ min: 0, max: 4095 })),
  // Any finite double (as upsertFlows() takes) but -0, which it sends as "0".
  first_seen: fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x === 0 ? 0 : x),
  last_seen: fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x === 0 ? 0 : x),
  orig_packets: fc.maxSafeNat(),
  resp_bytes: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  state: fc.constantFrom("active", "closed"),
  close_reason: fc.option(text),
  features: fc.option(fc.array(fc.float(), { maxLength: 8 }).map((v) => Float32Array.from(v))),
  label: fc.option(text),
  explanation: fc.option(fc.array(
    fc.record({
      feature: text,
      value: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true })),
      contribution: fc.double({ noNaN: true, noDefaultInfinity: true }),
    }),
    { maxLength: 5 },
  )),
  score: fc.option(fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => x === 0 ? 0 : x)),
  app_protocol: fc.option(fc.constantFrom("tls", "quic", "http", "ssh", "dns")),
  dns_query: fc.option(text),
  dns_qtype: fc.option(fc.integer({ min: 0, max: 65535 })),
  dns_rcode: fc.option(fc.integer({ min: 0, max: 4095 })),
  dns_answers: fc.option(text),
  dns_query_count: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  dns_names: fc.option(text),
  tls_sni: fc.option(text),
  tls_alpn: fc.option(text),
  tls_ja3: fc.option(text),
  tls_ja4: fc.option(text),
  tls_version: fc.option(fc.integer({ min: 0, max: 65535 })),
  tls_cipher: fc.option(fc.integer({ min: 0, max: 65535 })),
  http_method: fc.option(text),
  http_host: fc.option(text),
  http_path: fc.option(text),
  http_user_agent: fc.option(text),
  http_status: fc.option(fc.integer({ min: 0, max: 999 })),
  ssh_client: fc.option(text),
  ssh_server: fc.option(text),
  dhcp_hostname: fc.option(text),
  orig_scope: fc.option(fc.constantFrom("public", "private", "cgnat")),
  orig_country: fc.option(text),
  orig_asn: fc.option(fc.integer({ min: 0, max: 4_294_967_295 })),
  orig_as_org: fc.option(text),
  resp_scope: fc.option(fc.constantFrom("public", "private", "link-local")),
  resp_country: fc.option(text),
  resp_asn: fc.option(fc.integer({ min: 0, max: 4_294_967_295 })),
  resp_as_org: fc.option(text),
}, { requiredKeys: [] }) as fc.Arbitrary<Partial<FlowUpsert>>;

Deno.test({
  name: "openFlowCopy() stores every column exactly as upsertFlows() does",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await fc.assert(
      fc.asyncProperty(fc.array(anyFlow, { minLength: 1, maxLength: 20 }), async (overrides) => {
        const flows = overrides.map((o, i) => flow(i, null, o));
        await db.truncate();
        await db.sql.begin((tx) => upsertFlows(tx as unknown as Sql, flows));
        const upserted = await storedRows();
        await db.truncate();
        assert.equal(await copyFlows(flows), flows.length);
        assert.deepEqual(await storedRows(), upserted);
      }),
      propertyRuns(40),
    );
  },
});

Deno.test({
  name: "openFlowCopy() rejects a flow already stored, and the transaction rolls back whole",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await db.truncate();
    await db.sql.begin((tx) => upsertFlows(tx as unknown as Sql, [flow(5, null)]));
    // Thousands of rows after the duplicate: the server reports it after
    // CopyDone, the case where postgres.js alone never settles.
    const flows = Array.from({ length: 20_000 }, (_, i) => flow(i + 6, new Float32Array(91)));
    flows.unshift(flow(5, null));
    await assert.rejects(
      () => copyFlows(flows, 5000),
      (error) => error instanceof CopyInError && error.code === "23505",
    );
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int8 as n from traffic_data`;
    assert.equal(n, 1);
    // The connection is usable afterwards, and so is a savepoint's fallback.
    const written = await db.sql.begin(async (tx) => {
      try {
        await tx.savepoint(async (sp) => {
          const copy = await openFlowCopy(sp as unknown as Sql, { pglite });
          await copy.write([flow(7, null), flow(5, null)]);
          await copy.end();
        });
      } catch (error) {
        assert.equal((error as CopyInError).code, "23505");
      }
      return await upsertFlows(tx as unknown as Sql, [flow(7, null), flow(5, null)]);
    });
    assert.equal(written, 2);
    const uids = await db.sql<{ flow_uid: string }[]>`
      select flow_uid from traffic_data order by flow_uid`;
    assert.deepEqual(uids.map((r) => r.flow_uid), ["uid-5", "uid-7"]);
  },
});

Deno.test({
  name: "openFlowCopy() refuses a value it cannot encode before sending it, and closes the COPY",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await db.truncate();
    await assert.rejects(
      () => copyFlows([flow(1, null), flow(2, null, { orig_ip: "10.0.0.256" })]),
      /Cannot COPY '10\.0\.0\.256' as inet/,
    );
    await assert.rejects(
      () => copyFlows([flow(1, null, { interface: "eth\0" })]),
      /NUL/,
    );
    assert.equal(await copyFlows([flow(3, null)]), 1);
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int8 as n from traffic_data`;
    assert.equal(n, 1);
  },
});

Deno.test({
  name: "openFlowCopy() with no flows stores nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await db.truncate();
    assert.equal(await copyFlows([]), 0);
  },
});
