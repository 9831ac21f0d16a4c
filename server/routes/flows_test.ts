import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { parseIp } from "@traffic-analyzer/shared/packet";
import { insertFlow, makeTestApp } from "../_test_app.ts";
import { csvField, FLOW_CSV_COLUMNS } from "./flows.ts";

/** A flow as the test inserted it, to check the API against a filter written here in JS. */
interface Stored {
  flow_uid: string;
  orig_ip: string;
  orig_port: number;
  resp_ip: string;
  resp_port: number;
  protocol: string;
  label: string | null;
  score: number | null;
  state: "active" | "closed";
  first_seen: number;
  last_seen: number;
  orig_packets: number;
  resp_packets: number;
  orig_bytes: number;
  resp_bytes: number;
  community_id: string;
  agent: string | null;
  tunnel_type: string | null;
  tunnel_id: number | null;
}

/** Agents, one hostile (ingest takes any printable ASCII), and flows stored before agents. */
const AGENTS = ["sensor-1", "sensor-2", `<b>x"'&`, null];

function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split("/");
  const a = parseIp(ip)!;
  const b = parseIp(net)!;
  if (a.length !== b.length) return false;
  let bits = bitsText === undefined ? a.length * 8 : Number(bitsText);
  for (let i = 0; i < a.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i] & mask) !== (b[i] & mask)) return false;
  }
  return true;
}

const LABELS = ["benign", "portscan", "syn_flood", "bruteforce"];
const PROTOCOLS = ["TCP", "UDP", "ICMP"];
const ADDRESSES = [
  "10.0.0.1",
  "10.0.1.7",
  "192.168.5.5",
  "2001:db8::1",
  "2001:db8:1::9",
  "172.16.0.3",
];

/** 80 flows varied on every filtered field, with ties in every sort key. */
function dataset(): Stored[] {
  return Array.from({ length: 80 }, (_, i) => {
    const orig = ADDRESSES[i % ADDRESSES.length];
    const v6 = orig.includes(":");
    const resp = v6 ? ADDRESSES[3 + ((i + 1) % 2)] : ADDRESSES[[0, 1, 2, 5][(i + 1) % 4]];
    return {
      flow_uid: `uid-${i}`,
      orig_ip: orig,
      orig_port: 40_000 + (i % 9),
      resp_ip: resp,
      resp_port: [80, 443, 53, 22][i % 4],
      protocol: PROTOCOLS[i % 3],
      label: i % 11 === 0 ? null : LABELS[i % 4],
      score: i % 11 === 0 ? null : Math.fround((i % 10) / 10),
      state: i % 5 === 0 ? "active" : "closed",
      first_seen: 1_764_000_000 + i * 10,
      last_seen: 1_764_000_000 + i * 10 + (i % 7) * 3, // ties in duration and bytes below
      orig_packets: 1 + (i % 6),
      resp_packets: i % 4,
      orig_bytes: 100 * (i % 6),
      resp_bytes: 50 * (i % 5),
      community_id: `1:c${i % 13}=`,
      agent: AGENTS[i % AGENTS.length],
      tunnel_type: i % 3 === 0 ? "vxlan" : null,
      tunnel_id: i % 3 === 0 ? 5_000 + (i % 2) : null,
    };
  });
}

const SORT_KEYS: Record<string, (f: Stored) => number> = {
  last_seen: (f) => f.last_seen,
  bytes: (f) => f.orig_bytes + f.resp_bytes,
  packets: (f) => f.orig_packets + f.resp_packets,
  score: (f) => f.score ?? -1,
  duration: (f) => f.last_seen - f.first_seen,
};

interface Page {
  flows: { id: number; flow_uid: string }[];
  next_cursor: string | null;
}

Deno.test({
  name: "flow API: filters, sorts and keyset pages",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db);
      const flows = dataset();
      for (const [i, flow] of flows.entries()) await insertFlow(db, i, flow as never);
      const idOf = new Map<string, number>();
      for (
        const row of await db.sql<
          { id: number; flow_uid: string }[]
        >`select id, flow_uid from traffic_data`
      ) {
        idOf.set(row.flow_uid, row.id);
      }

      /** Every page of a query, followed to the end. */
      const allPages = async (query: string, limit = 7): Promise<string[]> => {
        const uids: string[] = [];
        let cursor: string | null = null;
        do {
          const url: string = `/api/alltraffic?${query}&limit=${limit}${
            cursor ? `&cursor=${cursor}` : ""
          }`;
          const res = await app.request(url);
          assert.equal(res.status, 200, url);
          const page: Page = await res.json();
          assert.ok(page.flows.length <= limit);
          uids.push(...page.flows.map((f) => f.flow_uid));
          cursor = page.next_cursor;
        } while (cursor !== null);
        return uids;
      };

      const expected = (match: (f: Stored) => boolean, sort = "last_seen", order = "desc") => {
        const key = SORT_KEYS[sort];
        const sign = order === "desc" ? -1 : 1;
        return flows.filter(match).sort((a, b) =>
          sign * (key(a) - key(b)) || sign * (idOf.get(a.flow_uid)! - idOf.get(b.flow_uid)!)
        ).map((f) => f.flow_uid);
      };

      await t.step("GET /api/last10 returns the ten most recently active flows", async () => {
        const res = await app.request("/api/last10");
        assert.equal(res.status, 200);
        const body: Stored[] = await res.json();
        const want = expected(() => true).slice(0, 10);
        assert.deepEqual(body.map((f) => f.flow_uid), want);
        // Each flow says whose view it is, and which tunnel it was keyed on.
        assert.deepEqual(
          body.map((f) => [f.agent, f.tunnel_type, f.tunnel_id]),
          want.map((uid) => flows.find((f) => f.flow_uid === uid)!)
            .map((f) => [f.agent, f.tunnel_type, f.tunnel_id]),
        );
      });

      const filters: [string, (f: Stored) => boolean][] = [
        [
          "ip=10.0.0.0/16",
          (f) => inCidr(f.orig_ip, "10.0.0.0/16") || inCidr(f.resp_ip, "10.0.0.0/16"),
        ],
        ["ip=10.0.1.7", (f) => f.orig_ip === "10.0.1.7" || f.resp_ip === "10.0.1.7"],
        [
          "ip=2001:db8::/48",
          (f) => inCidr(f.orig_ip, "2001:db8::/48") || inCidr(f.resp_ip, "2001:db8::/48"),
        ],
        ["orig_ip=192.168.0.0/16", (f) => inCidr(f.orig_ip, "192.168.0.0/16")],
        ["resp_ip=10.0.0.1", (f) => f.resp_ip === "10.0.0.1"],
        ["port=443", (f) => f.orig_port === 443 || f.resp_port === 443],
        ["port=40003", (f) => f.orig_port === 40003 || f.resp_port === 40003],
        ["resp_port=53", (f) => f.resp_port === 53],
        ["protocol=udp", (f) => f.protocol === "UDP"],
        ["label=portscan", (f) => f.label === "portscan"],
        ["label=portscan,syn_flood", (f) => f.label === "portscan" || f.label === "syn_flood"],
        ["min_score=0.5", (f) => f.score !== null && f.score >= Math.fround(0.5)],
        ["min_score=0", (f) => f.score !== null],
        ["state=active", (f) => f.state === "active"],
        ["community_id=1%3Ac3%3D", (f) => f.community_id === "1:c3="],
        ["agent=sensor-2", (f) => f.agent === "sensor-2"],
        [`agent=${encodeURIComponent(`<b>x"'&`)}`, (f) => f.agent === `<b>x"'&`],
        ["agent=sensor-1&protocol=TCP", (f) => f.agent === "sensor-1" && f.protocol === "TCP"],
        [
          "from=1764000300&to=1764000500",
          (f) => f.last_seen >= 1764000300 && f.last_seen <= 1764000500,
        ],
        [
          "from=2025-11-24T16:05:00Z&to=2025-11-24T16:08:20.5Z",
          (f) => f.last_seen >= 1764000300 && f.last_seen <= 1764000500.5,
        ],
        [
          "ip=10.0.0.0/8&protocol=TCP&min_score=0.2&state=closed",
          (f) =>
            (inCidr(f.orig_ip, "10.0.0.0/8") || inCidr(f.resp_ip, "10.0.0.0/8")) &&
            f.protocol === "TCP" && f.score !== null && f.score >= Math.fround(0.2) &&
            f.state === "closed",
        ],
      ];
      await t.step("every filter returns exactly the matching flows, newest first", async (t) => {
        for (const [query, match] of filters) {
          await t.step(query, async () => {
            const want = expected(match);
            assert.ok(
              want.length > 0 && want.length < flows.length,
              `${query} narrows: ${want.length}`,
            );
            assert.deepEqual(await allPages(query), want);
          });
        }
      });

      await t.step(
        "every sort and order pages through every flow once, ties broken by id",
        async (t) => {
          for (const sort of Object.keys(SORT_KEYS)) {
            for (const order of ["desc", "asc"]) {
              await t.step(`${sort} ${order}`, async () => {
                assert.deepEqual(
                  await allPages(`sort=${sort}&order=${order}`),
                  expected(() => true, sort, order),
                );
                assert.deepEqual(
                  await allPages(`sort=${sort}&order=${order}&protocol=TCP`, 4),
                  expected((f) => f.protocol === "TCP", sort, order),
                );
              });
            }
          }
        },
      );

      await t.step("pages stay stable while flows are written between them", async () => {
        for (const sort of Object.keys(SORT_KEYS)) {
          const want = expected(() => true, sort, "desc");
          const seen: string[] = [];
          let cursor: string | null = null;
          let extra = 1000;
          do {
            const url: string = `/api/alltraffic?sort=${sort}&limit=9${
              cursor ? `&cursor=${cursor}` : ""
            }`;
            const page: Page = await (await app.request(url)).json();
            seen.push(...page.flows.map((f) => f.flow_uid));
            cursor = page.next_cursor;
            // A new flow ranked first, and one ranked last, arrive while paging.
            await insertFlow(db, extra++, {
              ...flows[0],
              flow_uid: `new-${sort}-${extra}`,
              last_seen: 1_900_000_000,
              orig_bytes: 1e9,
              orig_packets: 1e6,
              score: 0.99,
              // Longer than any dataset flow (at most 18 s), so it ranks first by
              // duration too; not decades long, which the dashboard roll-ups
              // spread over 8 days of minute rows per insert (most of this
              // file's CPU once) and which adds nothing to the paging checked.
              first_seen: 1_900_000_000 - 1_000,
            });
            await insertFlow(db, extra++, {
              ...flows[0],
              flow_uid: `old-${sort}-${extra}`,
              last_seen: 1_000_000_000,
              first_seen: 1_000_000_000,
              orig_bytes: 0,
              resp_bytes: 0,
              orig_packets: 0,
              resp_packets: 0,
              score: null,
            });
          } while (cursor !== null);
          const original = seen.filter((uid) => uid.startsWith("uid-"));
          assert.deepEqual(original, want, `${sort}: every flow once, in order`);
          assert.equal(new Set(seen).size, seen.length, `${sort}: no repeats`);
          await db
            .sql`delete from traffic_data where flow_uid like 'new-%' or flow_uid like 'old-%'`;
        }
      });

      await t.step("bad input answers 400 naming the parameter", async () => {
        const sortCursor =
          ((await (await app.request("/api/alltraffic?sort=bytes&limit=2")).json()) as Page)
            .next_cursor!;
        const cases: [string, string][] = [
          ["ip=10.0.0.0/33", "ip"],
          ["ip=nope", "ip"],
          ["ip=fe80::1%25eth0", "ip"],
          ["orig_ip=300.1.1.1", "orig_ip"],
          ["resp_ip=1.2.3.4/", "resp_ip"],
          ["port=70000", "port"],
          ["port=1e3", "port"],
          ["resp_port=-1", "resp_port"],
          ["protocol=T%20CP", "protocol"],
          ["label=Port%20Scan", "label"],
          ["label=", "label"],
          ["min_score=2", "min_score"],
          ["min_score=-0.1", "min_score"],
          ["min_score=abc", "min_score"],
          ["state=idle", "state"],
          ["community_id=nope", "community_id"],
          ["agent=", "agent"],
          ["agent=sensor%201", "agent"],
          ["agent=sensor%C3%A9", "agent"],
          [`agent=${"a".repeat(201)}`, "agent"],
          ["from=yesterday", "from"],
          ["to=2026-13-45", "to"],
          ["sort=size", "sort"],
          ["order=up", "order"],
          ["limit=0", "limit"],
          ["limit=5000", "limit"],
          ["limit=0x10", "limit"],
          ["cursor=garbage", "cursor"],
          [`cursor=${sortCursor}`, "cursor"],
          ["ipp=10.0.0.1", "ipp"],
        ];
        for (const [query, field] of cases) {
          const res = await app.request(`/api/alltraffic?${query}`);
          assert.equal(res.status, 400, query);
          const body = await res.json();
          assert.equal(body.field, field, query);
          assert.match(body.error, new RegExp(field), query);
        }
      });

      await t.step("GET /api/alltraffic.csv streams every matching flow as CSV", async () => {
        const res = await app.request("/api/alltraffic.csv?protocol=UDP&sort=bytes&order=asc");
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type")!, /text\/csv/);
        assert.equal(res.headers.get("x-export-truncated"), "false");
        const lines = (await res.text()).trimEnd().split("\r\n");
        assert.equal(lines[0], FLOW_CSV_COLUMNS.join(","));
        const uidColumn = FLOW_CSV_COLUMNS.indexOf("flow_uid");
        assert.deepEqual(
          lines.slice(1).map((line) => line.split(",")[uidColumn]),
          expected((f) => f.protocol === "UDP", "bytes", "asc"),
        );
        const capped = await app.request("/api/alltraffic.csv?limit=5");
        assert.equal(capped.headers.get("x-export-truncated"), "true");
        assert.equal((await capped.text()).trimEnd().split("\r\n").length, 6);
        assert.equal((await app.request("/api/alltraffic.csv?limit=100001")).status, 400);
      });

      await t.step(
        "Accept: application/x-ndjson streams the same flows, one per line",
        async () => {
          const res = await app.request("/api/alltraffic?label=bruteforce", {
            headers: { accept: "application/x-ndjson" },
          });
          assert.equal(res.status, 200);
          assert.match(res.headers.get("content-type")!, /application\/x-ndjson/);
          const uids = (await res.text()).trimEnd().split("\n").map((line) =>
            JSON.parse(line).flow_uid
          );
          assert.deepEqual(uids, expected((f) => f.label === "bruteforce"));
        },
      );

      await t.step("CSV fields are quoted, and formulas are defused", () => {
        assert.equal(csvField(null), "");
        assert.equal(csvField(-3), "-3");
        assert.equal(csvField("TCP"), "TCP");
        assert.equal(csvField('a,"b"'), '"a,""b"""');
        assert.equal(csvField("=HYPERLINK(1)"), `"'=HYPERLINK(1)"`);
        assert.equal(csvField("@SUM"), `"'@SUM"`);
        assert.equal(csvField("line\nbreak"), '"line\nbreak"');
      });
    } finally {
      await db.close();
    }
  },
});
