import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { readCaptureBytes } from "@traffic-analyzer/shared/pcap";
import { decodePacket } from "@traffic-analyzer/shared/packet";
import { blankPacketRecord } from "@traffic-analyzer/shared/testing";
import { ingest, insertFlow, makeTestApp } from "../_test_app.ts";

/** A TCP conversation of `n` packets between two hosts, stored without bytes (PAYLOAD_CAPTURE=none). */
function conversation(n: number, startSec: number) {
  return Array.from({ length: n }, (_, i) => {
    const fromClient = i % 2 === 0;
    return blankPacketRecord({
      timestamp: startSec + i * 0.25,
      interface: "eth0",
      link_type: 1,
      eth_src: fromClient ? "02:00:00:00:00:01" : "02:00:00:00:00:02",
      eth_dst: fromClient ? "02:00:00:00:00:02" : "02:00:00:00:00:01",
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
      length: 54 + 100,
      caplen: 54 + 100,
      payload_length: 100,
    });
  });
}

Deno.test({
  name: "pcap export routes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db, { pcapExportMaxPackets: 5 });
      const packets = conversation(8, 1_764_000_000);
      // Another conversation between the same hosts later on: not part of the flow.
      const later = conversation(4, 1_764_000_500);
      assert.equal((await ingest(app, JSON.stringify([...packets, ...later]))).status, 201);
      await insertFlow(db, 1, {
        orig_ip: "192.0.2.1",
        orig_port: 40_000,
        resp_ip: "192.0.2.2",
        resp_port: 443,
        first_seen: packets[0].timestamp,
        last_seen: packets.at(-1)!.timestamp,
        orig_packets: 4,
        resp_packets: 4,
      });
      const [{ id }] = await db.sql<
        { id: number }[]
      >`select id from traffic_data where flow_uid = 'uid-1'`;

      await t.step("packets stored without bytes are rebuilt from their headers", async () => {
        const res = await app.request(`/api/flows/${id}/pcap`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-flow-packets"), "8");
        assert.equal(res.headers.get("x-pcap-packets"), "8");
        assert.equal(res.headers.get("x-pcap-rebuilt"), "8");
        assert.match(res.headers.get("content-disposition")!, /flow-\d+\.pcap/);
        const frames = [...readCaptureBytes(new Uint8Array(await res.arrayBuffer()))];
        assert.equal(frames.length, 8);
        for (const [i, frame] of frames.entries()) {
          assert.equal(frame.linkType, 1);
          assert.equal(frame.wireLength, 154, "the wire length is the original's");
          assert.equal(frame.timestampSec, packets[i].timestamp, "oldest first");
          const decoded = decodePacket(frame.data, {
            linkType: 1,
            timestampSec: frame.timestampSec,
          });
          assert.equal(decoded.tcp_seq, packets[i].tcp_seq);
          assert.equal(decoded.src_ip, packets[i].src_ip);
          assert.equal(decoded.src_port, packets[i].src_port);
        }
      });

      await t.step(
        "/api/pcap needs a time range and stops at PCAP_EXPORT_MAX_PACKETS",
        async () => {
          for (
            const [query, field] of [["", "from"], ["from=1764000000", "to"], [
              "from=x&to=1",
              "from",
            ]]
          ) {
            const res = await app.request(`/api/pcap?${query}`);
            assert.equal(res.status, 400, query);
            assert.equal((await res.json()).field, field, query);
          }
          const backwards = await app.request("/api/pcap?from=1764000100&to=1764000000");
          assert.equal(backwards.status, 400);
          const res = await app.request("/api/pcap?from=1764000000&to=1764001000");
          assert.equal(res.status, 200);
          assert.equal(res.headers.get("x-pcap-truncated"), "true");
          assert.equal(res.headers.get("x-pcap-packets"), "5");
          assert.equal([...readCaptureBytes(new Uint8Array(await res.arrayBuffer()))].length, 5);
          const later = await app.request("/api/pcap?from=1764000400&to=1764001000&port=443");
          assert.equal(later.headers.get("x-pcap-truncated"), "false");
          assert.equal([...readCaptureBytes(new Uint8Array(await later.arrayBuffer()))].length, 4);
        },
      );

      await t.step("a flow whose packets passed retention answers 410, saying so", async () => {
        await insertFlow(db, 2, { updated_at: "2020-01-02T00:00:00Z" });
        const [{ id: old }] = await db.sql<
          { id: number }[]
        >`select id from traffic_data where flow_uid = 'uid-2'`;
        const res = await app.request(`/api/flows/${old}/pcap`);
        assert.equal(res.status, 410);
        assert.match((await res.json()).error, /no longer stored: raw-packet retention/);
      });

      await t.step(
        "an unknown flow is 404, a bad id 400, a flow without addresses 422",
        async () => {
          assert.equal((await app.request("/api/flows/999999/pcap")).status, 404);
          for (const bad of ["0", "1e3", "abc", "-1"]) {
            assert.equal((await app.request(`/api/flows/${bad}/pcap`)).status, 400, bad);
          }
          await insertFlow(db, 3, { orig_ip: null, resp_ip: null, protocol: "LLDP" });
          const [{ id: l2 }] = await db.sql<
            { id: number }[]
          >`select id from traffic_data where flow_uid = 'uid-3'`;
          const res = await app.request(`/api/flows/${l2}/pcap`);
          assert.equal(res.status, 422);
          assert.match((await res.json()).error, /no IP addresses/);
        },
      );

      await t.step("a flow's pcap holds its own agent's packets, not another's copy", async () => {
        // Two sensors saw the same conversation: each stored a copy.
        // Two packets each, as the test app caps an export at 5.
        const seen = conversation(2, 1_764_002_000);
        for (const agent of ["sensor-a", "sensor-b"]) {
          const res = await ingest(app, JSON.stringify(seen), {
            "x-agent-id": agent,
            "idempotency-key": `pcap-${agent}`,
          });
          assert.equal(res.status, 201);
        }
        const flowOf = { orig_ip: "192.0.2.1", resp_ip: "192.0.2.2", orig_port: 40_000 };
        const span = { first_seen: seen[0].timestamp, last_seen: seen.at(-1)!.timestamp };
        await insertFlow(db, 10, { ...flowOf, ...span, agent: "sensor-b", resp_port: 443 });
        const [{ id: own }] = await db.sql<
          { id: number }[]
        >`select id from traffic_data where flow_uid = 'uid-10'`;
        const res = await app.request(`/api/flows/${own}/pcap`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-pcap-packets"), "2");
        assert.equal([...readCaptureBytes(new Uint8Array(await res.arrayBuffer()))].length, 2);
        // A range export filtered by agent takes that agent's flows' packets only.
        for (const extra of ["", "&state=closed"]) {
          const range = await app.request(
            `/api/pcap?from=1764001990&to=1764002100&agent=sensor-b${extra}`,
          );
          assert.equal(range.status, 200, extra);
          assert.equal(range.headers.get("x-pcap-packets"), "2", extra);
          await range.body?.cancel();
        }
        const both = await app.request("/api/pcap?from=1764001990&to=1764002100");
        assert.equal(both.headers.get("x-pcap-packets"), "4");
        await both.body?.cancel();
      });

      await t.step("both routes are in the OpenAPI document with their parameters", async () => {
        const doc = await (await app.request("/openapi.json")).json();
        assert.ok(doc.paths["/api/flows/{id}/pcap"].get);
        const names = doc.paths["/api/pcap"].get.parameters.map((p: { name: string }) => p.name);
        for (
          const name of ["from", "to", "ip", "port", "protocol", "label", "community_id", "agent"]
        ) {
          assert.ok(names.includes(name), name);
        }
      });
    } finally {
      await db.close();
    }
  },
});
