import assert from "node:assert/strict";
import { encodeFeatureVector } from "@traffic-analyzer/shared/db";
import { openTestDatabase, type TestDatabase } from "@traffic-analyzer/shared/db/testing";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { blankPacketRecord } from "@traffic-analyzer/shared/testing";
import { ingest, insertFlow, makeTestApp } from "../_test_app.ts";

/** A TCP conversation of `n` packets, client and server taking turns, without bytes. */
function conversation(n: number, startSec: number) {
  return Array.from({ length: n }, (_, i) => {
    const fromClient = i % 2 === 0;
    return blankPacketRecord({
      timestamp: startSec + i * 0.25,
      interface: "eth0",
      link_type: 1,
      ether_type: 0x0800,
      ip_version: 4,
      src_ip: fromClient ? "192.0.2.1" : "192.0.2.2",
      dst_ip: fromClient ? "192.0.2.2" : "192.0.2.1",
      protocol: "TCP",
      ip_proto: 6,
      ttl: 64,
      ip_id: 100 + i,
      src_port: fromClient ? 40_000 : 443,
      dst_port: fromClient ? 443 : 40_000,
      tcp_seq: 1000 + i,
      tcp_ack: 2000 + i,
      tcp_flags: i === 0 ? 0x02 : 0x18,
      tcp_window: 512,
      tcp_header_length: 20,
      ip_header_length: 20,
      length: 54 + 10 * i,
      caplen: 54 + 10 * i,
      payload_length: 10 * i,
    });
  });
}

async function flowId(db: TestDatabase, uid: string): Promise<number> {
  const [{ id }] = await db.sql<{ id: number }[]>`
    select id from traffic_data where flow_uid = ${uid}`;
  return id;
}

Deno.test({
  name: "flow detail API and page",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db);
      const packets = conversation(7, 1_764_000_000);
      assert.equal((await ingest(app, JSON.stringify(packets))).status, 201);
      const vector = new Float32Array(FEATURE_NAMES.length).map((_, i) => i / 4);
      vector[FEATURE_NAMES.indexOf("resp_port")] = 443;
      await insertFlow(db, 1, {
        orig_ip: "192.0.2.1",
        orig_port: 40_000,
        resp_ip: "192.0.2.2",
        resp_port: 443,
        first_seen: packets[0].timestamp,
        last_seen: packets.at(-1)!.timestamp,
        orig_packets: 4,
        resp_packets: 3,
        label: "portscan",
        score: 0.75,
        model_version: "m-1",
        close_reason: "fin",
        conn_state: "SF",
        features: encodeFeatureVector(vector),
        feature_version: FEATURE_VERSION,
      });
      const id = await flowId(db, "uid-1");

      await t.step(
        "GET /api/flows/{id}: the flow, its prediction, every feature named",
        async () => {
          const res = await app.request(`/api/flows/${id}`);
          assert.equal(res.status, 200);
          const body = await res.json();
          assert.equal(body.flow.id, id);
          assert.equal(body.flow.orig_ip, "192.0.2.1");
          assert.equal(body.flow.resp_port, 443);
          assert.equal(body.flow.vlan, null);
          assert.equal(body.flow.close_reason, "fin");
          assert.equal(body.flow.ip_proto, 6);
          assert.deepEqual(body.prediction, {
            label: "portscan",
            score: 0.75,
            model_version: "m-1",
            class_probabilities: null,
            explanation: null,
          });
          assert.equal(body.features.length, FEATURE_NAMES.length);
          assert.deepEqual(body.features.map((f: { name: string }) => f.name), [...FEATURE_NAMES]);
          const port = body.features.find((f: { name: string }) => f.name === "resp_port");
          assert.equal(port.value, 443);
          assert.equal(port.unit, "port number");
          assert.equal(body.features[0].unit, "flag");
          assert.equal(body.features[10].value, 2.5);
          assert.equal(body.features_note, null);
        },
      );

      await t.step("packets a page at a time, with direction and decoded fields", async () => {
        const first = await (await app.request(`/api/flows/${id}/packets?limit=3`)).json();
        assert.equal(first.state.status, "stored");
        assert.equal(first.packets.length, 3);
        assert.deepEqual(
          first.packets.map((p: { direction: string }) => p.direction),
          ["orig", "resp", "orig"],
        );
        assert.equal(first.packets[0].tcp_flags, 2);
        assert.equal(first.packets[0].has_bytes, false);
        assert.ok(!("bytes" in first.packets[0]));
        const seen = [...first.packets];
        let after = first.next_cursor;
        while (after !== null) {
          const page = await (await app.request(
            `/api/flows/${id}/packets?limit=3&after=${encodeURIComponent(after)}`,
          )).json();
          seen.push(...page.packets);
          after = page.next_cursor;
        }
        assert.deepEqual(
          seen.map((p: { tcp_seq: number }) => p.tcp_seq),
          packets.map((p) => p.tcp_seq),
          "every packet once, oldest first",
        );
      });

      await t.step("the page shows the flow, the pcap button, packets and features", async () => {
        const res = await app.request(`/flows/${id}`);
        assert.equal(res.status, 200);
        const page = await res.text();
        assert.match(page, new RegExp(`href="/api/flows/${id}/pcap"`));
        assert.match(page, /Download pcap/);
        assert.match(page, /portscan/);
        assert.match(page, /<code>resp_port<\/code>/);
        assert.match(page, /port number/);
        assert.match(page, /id="chart-timeline"/);
        assert.match(page, /\[S\] seq 1000/);
        assert.match(page, /stored without their bytes/);
        assert.match(page, /href="\/hosts\/192\.0\.2\.1"/);
        const paged = await (await app.request(`/flows/${id}?after=1764000000.5_1`)).text();
        assert.match(paged, /First packets/);
        assert.match(page, /id="explanation-none"/);
      });

      await t.step("an alerted flow's explanation, in the API and on the page", async () => {
        const explanation = [
          { feature: "resp_port", value: 443, contribution: 0.3125 },
          { feature: "rejected", value: 1, contribution: -0.0625 },
          { feature: "duration_sec", value: null, contribution: 0.015625 },
        ];
        await db.sql`
          update traffic_data set explanation = ${JSON.stringify(explanation)}::text::jsonb
          where id = ${id}`;
        const body = await (await app.request(`/api/flows/${id}`)).json();
        assert.deepEqual(body.prediction.explanation, explanation);
        assert.ok(!("explanation" in body.flow), "the explanation belongs to the prediction");
        const page = await (await app.request(`/flows/${id}`)).text();
        assert.match(page, /id="explanation"/);
        assert.match(
          page,
          /<code>rejected<\/code><\/td><td class="num">1<\/td><td class="num">−0\.0625/,
        );
        assert.match(page, /\+0\.3125/);
        assert.ok(!page.includes('id="explanation-none"'));
      });

      await t.step("a flow whose packets passed retention says so plainly", async () => {
        await insertFlow(db, 2, {
          updated_at: "2020-01-02T00:00:00Z",
          first_seen: 1_577_923_200,
          last_seen: 1_577_923_201,
          label: "<b>x</b>",
        });
        const old = await flowId(db, "uid-2");
        const body = await (await app.request(`/api/flows/${old}/packets`)).json();
        assert.equal(body.state.status, "expired");
        assert.match(body.state.note, /no longer stored: raw-packet retention/);
        const detail = await (await app.request(`/api/flows/${old}`)).json();
        assert.equal(detail.features, null);
        assert.match(detail.features_note, /not been scored/);
        const page = await (await app.request(`/flows/${old}`)).text();
        assert.match(page, /no longer stored: raw-packet retention/);
        assert.ok(!page.includes("<b>x</b>"));
        assert.ok(page.includes("&lt;b&gt;x&lt;/b&gt;"));
      });

      await t.step("unknown flows 404, bad ids and cursors 400", async () => {
        assert.equal((await app.request("/api/flows/999999")).status, 404);
        assert.equal((await app.request("/flows/999999")).status, 404);
        for (const bad of ["0", "1e3", "abc", "-1"]) {
          assert.equal((await app.request(`/api/flows/${bad}`)).status, 400, bad);
          assert.equal((await app.request(`/flows/${bad}`)).status, 400, bad);
        }
        const cursor = await app.request(`/api/flows/${id}/packets?after=nope`);
        assert.equal(cursor.status, 400);
        assert.equal((await cursor.json()).field, "after");
        assert.equal((await app.request(`/api/flows/${id}/packets?limit=0`)).status, 400);
        assert.equal((await app.request(`/flows/${id}?bogus=1`)).status, 400);
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "host API and page",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const now = 1_764_001_000;
      const { app } = makeTestApp(db, { clock: () => now * 1000 });
      // 10.0.0.1 uses 80/TCP on .2 twice and 53/UDP on .3; .4 uses 22/TCP on .1.
      await insertFlow(db, 1, { first_seen: now - 100, last_seen: now - 90 });
      await insertFlow(db, 2, { first_seen: now - 80, last_seen: now - 70 });
      await insertFlow(db, 3, {
        resp_ip: "10.0.0.3",
        resp_port: 53,
        protocol: "UDP",
        first_seen: now - 60,
        last_seen: now - 60,
        orig_bytes: 40,
        resp_bytes: 60,
      });
      await insertFlow(db, 4, {
        orig_ip: "10.0.0.4",
        resp_ip: "10.0.0.1",
        resp_port: 22,
        first_seen: now - 50,
        last_seen: now - 40,
        label: "bruteforce",
      });
      await insertFlow(db, 5, { orig_ip: "10.9.9.9", resp_ip: "10.9.9.8" });

      await t.step("peers, services used and offered, traffic over time", async () => {
        const res = await app.request("/api/hosts/10.0.0.1?period=15m");
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.ip, "10.0.0.1");
        assert.equal(body.flows, 4);
        // Sent: 300 + 300 + 40 as originator, 200 as responder of flow 4.
        assert.equal(body.bytes_sent, 300 + 300 + 40 + 200);
        assert.equal(body.bytes_received, 200 + 200 + 60 + 300);
        assert.deepEqual(body.peers.map((p: { ip: string }) => p.ip), [
          "10.0.0.2",
          "10.0.0.4",
          "10.0.0.3",
        ]);
        assert.deepEqual(
          body.services_used.map((s: { port: number; protocol: string; flows: number }) =>
            `${s.port}/${s.protocol}x${s.flows}`
          ),
          ["80/TCPx2", "53/UDPx1"],
        );
        assert.deepEqual(
          body.services_offered.map((s: { port: number; hosts: number }) => `${s.port}:${s.hosts}`),
          ["22:1"],
        );
        assert.equal(body.activity.headline.flows_seen, 4);
        assert.equal(body.activity.headline.bytes, 500 + 500 + 100 + 500);
      });

      await t.step(
        "the page shows them, its flows under filters, a link to incidents",
        async () => {
          const res = await app.request("/hosts/10.0.0.1?period=15m");
          assert.equal(res.status, 200);
          const page = await res.text();
          assert.match(page, /href="\/hosts\/10\.0\.0\.4"/);
          assert.match(page, /22\/TCP/);
          assert.match(page, /href="\/alerts\?ip=10\.0\.0\.1"/);
          assert.match(page, /bruteforce/);
          assert.doesNotMatch(page, /10\.9\.9\.9/);
          const filtered = await (await app.request("/hosts/10.0.0.1?protocol=UDP&port=")).text();
          assert.match(filtered, /10\.0\.0\.3/);
          assert.doesNotMatch(filtered, /bruteforce/);
          const bad = await app.request("/hosts/10.0.0.1?min_score=2");
          assert.equal(bad.status, 400);
          assert.match(await bad.text(), /invalid min_score/);
        },
      );

      await t.step("a bad address answers 400, escaped", async () => {
        for (const bad of ["10.0.0.300", "<script>", "10.0.0.0%2F8"]) {
          const api = await app.request(`/api/hosts/${bad}`);
          assert.equal(api.status, 400, bad);
          const page = await app.request(`/hosts/${bad}`);
          assert.equal(page.status, 400, bad);
          assert.ok(!(await page.text()).includes("<script>"));
        }
        assert.equal((await app.request("/api/hosts/10.0.0.1?period=1y")).status, 400);
      });
    } finally {
      await db.close();
    }
  },
});
