/**
 * The host filter of flow search returns exactly the flows, in exactly the
 * order and pages, that it did when it compared the three lower-case names
 * in one OR (before migration 024 and the union of flow_search.ts): random
 * small tables with names in mixed case, HTTP hosts with ports, names shared
 * between columns and ties on every sort key, paged through with the cursor.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { openTestDatabase } from "./test_database.ts";
import type { Sql } from "./open_database.ts";
import {
  FLOW_SORTS,
  type FlowCursor,
  type FlowFilter,
  flowFilterSql,
  type FlowSort,
  searchFlows,
} from "./flow_search.ts";

/** Names the flows carry, in the case a sensor might report them. */
const NAMES = ["www.example.com", "API.Example.com", "example.com", "a_b.example.net"];
/** Names searched: the flows' own, their suffixes, and some no flow has. */
const HOSTS = [
  ...NAMES,
  "WWW.EXAMPLE.COM",
  "*.example.com",
  "*.EXAMPLE.com",
  "*.example.net",
  "*._.example.net",
  "absent.example",
  "*.absent",
];

// Names are common and few, so a search's flows often fill pages from one
// name alone and from several at once.
const name = fc.option(fc.constantFrom(...NAMES), { nil: null, freq: 3 });
const flowArb = fc.record({
  tls_sni: name,
  http_host: fc.tuple(name, fc.constantFrom("", ":8080", ":80x")).map(([n, port]) =>
    n === null ? null : n + port
  ),
  dns_query: name,
  // Few values each, so every sort key has ties.
  last_seen: fc.integer({ min: 0, max: 3 }),
  duration: fc.integer({ min: 0, max: 2 }),
  bytes: fc.integer({ min: 0, max: 2 }),
  score: fc.option(fc.constantFrom(0.25, 0.5), { nil: null }),
  agent: fc.constantFrom("a", "b"),
});

/** The condition as it was: the three lower-case names ORed. */
function hostBefore(sql: Sql, host: string) {
  const lower = host.toLowerCase();
  const httpHost = sql`lower(regexp_replace(http_host, ':[0-9]+$', ''))`;
  if (lower.startsWith("*.")) {
    const suffix = "%" + lower.slice(1).replace(/[\\%_]/g, (c) => "\\" + c);
    return sql`(lower(tls_sni) like ${suffix} or ${httpHost} like ${suffix}
      or lower(dns_query) like ${suffix})`;
  }
  return sql`(lower(tls_sni) = ${lower} or ${httpHost} = ${lower} or lower(dns_query) = ${lower})`;
}

const SORT_KEYS: Record<FlowSort, string> = {
  last_seen: "last_seen",
  bytes: "(orig_bytes + resp_bytes)",
  packets: "(orig_packets + resp_packets)",
  score: "coalesce(score, -1::real)",
  duration: "(last_seen - first_seen)",
};

Deno.test({
  name: "flow search finds the same flows by host, in the same pages, as the OR of names did",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(flowArb, { minLength: 0, maxLength: 30 }),
          fc.constantFrom(...HOSTS),
          fc.option(fc.constantFrom("a", "b"), { nil: null }),
          // Newest first takes its own query shape (the union), so most runs do.
          fc.oneof(
            { arbitrary: fc.constant<FlowSort>("last_seen"), weight: 3 },
            { arbitrary: fc.constantFrom(...FLOW_SORTS), weight: 2 },
          ),
          fc.constantFrom("asc" as const, "desc" as const),
          fc.integer({ min: 1, max: 4 }),
          async (flows, host, agent, sort, order, limit) => {
            await db.truncate();
            const rows = flows.map((f, i) => ({ ...f, flow_uid: `F${i}` }));
            await db.sql`
              insert into traffic_data (flow_uid, community_id, orig_ip, orig_port, resp_ip,
                resp_port, protocol, first_seen, last_seen, orig_packets, resp_packets,
                orig_bytes, resp_bytes, state, label, score, agent, tls_sni, http_host, dns_query)
              select r.flow_uid, '1:x', '10.0.0.1'::inet, 1024, '10.0.0.2'::inet, 443, 'TCP',
                1764000000 + r.last_seen - r.duration, 1764000000 + r.last_seen, 1, r.bytes,
                r.bytes, 0, 'closed', 'benign', r.score, r.agent, r.tls_sni, r.http_host,
                r.dns_query
              from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as r(flow_uid text,
                tls_sni text, http_host text, dns_query text, last_seen int, duration int,
                bytes int, score real, agent text)`;
            const filter: FlowFilter = { host, agent };
            const expr = db.sql.unsafe(SORT_KEYS[sort]);
            const direction = order === "desc" ? db.sql`desc` : db.sql`asc`;
            const expected = (await db.sql<{ id: number }[]>`
              select id from traffic_data
              where ${flowFilterSql(db.sql, { ...filter, host: null })}
                and ${hostBefore(db.sql, host)}
              order by ${expr} ${direction}, id ${direction}`).map((r) => Number(r.id));

            const pages: number[][] = [];
            let cursor: FlowCursor | null = null;
            do {
              const page = await searchFlows(db.sql, { filter, sort, order, limit, cursor });
              pages.push(page.flows.map((f) => Number(f.id)));
              cursor = page.next;
              assert.ok(pages.length <= flows.length + 1, "pagination does not end");
            } while (cursor !== null);
            const want: number[][] = [];
            for (let i = 0; i < expected.length; i += limit) {
              want.push(expected.slice(i, i + limit));
            }
            // An empty search is one empty page; a search that fills its
            // last page exactly ends there, with no empty page after it.
            assert.deepEqual(pages, want.length === 0 ? [[]] : want);
          },
        ),
        {
          numRuns: 100,
          // Always, whatever the seed: the name in every column, the first
          // page from two of them and every later one from the third alone,
          // ties on last_seen, newest first.
          examples: [[
            [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({
              tls_sni: i === 7 ? "www.example.com" : null,
              http_host: i === 5 ? "WWW.example.com:443" : null,
              dns_query: i !== 5 ? "www.Example.com" : null,
              last_seen: i % 2,
              duration: 0,
              bytes: 0,
              score: null,
              agent: "a" as const,
            })),
            "*.example.com",
            null,
            "last_seen" as FlowSort,
            "desc" as const,
            2,
          ]],
        },
      );
    } finally {
      await db.close();
    }
  },
});
