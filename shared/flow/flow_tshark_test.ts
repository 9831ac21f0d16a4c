/**
 * Flow assembly against tshark's conversation tables (`-z conv,tcp -z
 * conv,udp`) on real captures: the same TCP and UDP flows, with the same
 * per-direction frame and byte counts. tshark runs live when it is on PATH;
 * otherwise the saved table beside the capture is used. tshark's tables do
 * not split by timeouts, so the captures are short.
 */

import assert from "node:assert/strict";
import { decodePacket } from "../packet/mod.ts";
import type { PacketRecord } from "../packet/mod.ts";
import { readCapture } from "../pcap/mod.ts";
import { type FlowRecord, FlowTable } from "./flow_table.ts";
import {
  type ConvRow,
  parseConversations,
  tsharkConversations,
} from "../testing/tshark_conversations.ts";

const TESTDATA = new URL("../testdata/", import.meta.url);

async function flowsOf(pcap: URL): Promise<FlowRecord[]> {
  const table = new FlowTable();
  const flows: FlowRecord[] = [];
  let batch: PacketRecord[] = [];
  for await (const frame of readCapture(pcap)) {
    batch.push(decodePacket(frame.data, {
      linkType: frame.linkType,
      timestampSec: frame.timestampSec,
      wireLength: frame.wireLength,
      interfaceName: frame.interfaceName ?? "file",
    }));
    if (batch.length === 64) {
      flows.push(...table.merge(batch).ended);
      batch = [];
    }
  }
  flows.push(...table.merge(batch).ended, ...table.drain());
  return flows;
}

function assertSameFlows(flows: FlowRecord[], rows: ConvRow[], label: string): void {
  const ported = flows.filter((f) =>
    (f.protocol === "TCP" || f.protocol === "UDP") && f.orig_port !== null
  );
  assert.equal(ported.length, rows.length, `${label}: flow count vs tshark rows`);
  for (const row of rows) {
    const match = ported.filter((f) =>
      f.protocol === row.protocol &&
      ((f.orig_ip === row.a && f.orig_port === row.aPort && f.resp_ip === row.b &&
        f.resp_port === row.bPort) ||
        (f.orig_ip === row.b && f.orig_port === row.bPort && f.resp_ip === row.a &&
          f.resp_port === row.aPort))
    );
    const where = `${label}: ${row.protocol} ${row.a}:${row.aPort} <-> ${row.b}:${row.bPort}`;
    assert.equal(match.length, 1, `${where}: expected exactly one flow`);
    const f = match[0];
    const aIsOrig = f.orig_ip === row.a && f.orig_port === row.aPort;
    const fromA = aIsOrig ? [f.orig_packets, f.orig_bytes] : [f.resp_packets, f.resp_bytes];
    const fromB = aIsOrig ? [f.resp_packets, f.resp_bytes] : [f.orig_packets, f.orig_bytes];
    assert.equal(fromA[0], row.toB.frames, `${where}: frames A->B`);
    assert.equal(fromB[0], row.toA.frames, `${where}: frames B->A`);
    for (
      const [ours, theirs, dir] of [[fromA[1], row.toB, "A->B"], [
        fromB[1],
        row.toA,
        "B->A",
      ]] as const
    ) {
      if (theirs.exact) assert.equal(ours, theirs.bytes, `${where}: bytes ${dir}`);
      else {assert.ok(
          Math.abs(ours - theirs.bytes) < theirs.bytes * 0.05 + 1000,
          `${where}: bytes ${dir} ${ours} ~ ${theirs.bytes}`,
        );}
    }
  }
}

Deno.test("FlowTable matches tshark's TCP/UDP conversations on a loopback capture", async () => {
  const pcap = new URL("flows_loopback.pcap", TESTDATA);
  const text = await tsharkConversations(pcap, new URL("flows_loopback.conv.txt", TESTDATA));
  const rows = parseConversations(text!);
  assert.ok(rows.length >= 10, `only ${rows.length} tshark rows`);
  assert.ok(rows.some((r) => r.protocol === "UDP") && rows.some((r) => r.a.includes(":")));
  const flows = await flowsOf(pcap);
  assertSameFlows(flows, rows, "flows_loopback");
  // Every TCP connection in the capture was closed by FIN/FIN or refused with RST.
  for (const f of flows.filter((f) => f.protocol === "TCP")) {
    assert.ok(
      f.close_reason === "fin" || f.close_reason === "rst",
      `${f.orig_port}: ${f.close_reason}`,
    );
    assert.equal(
      f.orig_port === 47311 || f.orig_port === 47312,
      false,
      "the client is the originator",
    );
  }
});

// Only the decoder fixtures of ordinary traffic: the edge-case ones hold IP
// fragments (tshark counts a reassembled datagram once, in its last frame;
// flows count every fragment) and tunnels (tshark counts the inner tuple).
Deno.test("FlowTable matches tshark's conversations on the decoder fixtures", async (t) => {
  // The link-type fixtures too: flows must not care how the packet was framed.
  // (Not c_hdlc.pcap: its SYN cut inside the TCP header keeps the ports for
  // us and counts in the flow, where tshark starts no conversation.)
  const names = [
    "ipv4_tcp_udp_icmp.pcap",
    "ipv6_tcp_udp_icmpv6.pcap",
    "nflog.pcap",
    "pflog.pcap",
    "ppp.pcap",
    "wifi_80211.pcap",
    "wifi_radiotap.pcap",
  ];
  for (const name of names) {
    const pcap = new URL(name, TESTDATA);
    try {
      await Deno.stat(pcap);
    } catch {
      continue;
    }
    const text = await tsharkConversations(pcap, null);
    if (text === null) continue; // no tshark, no saved table for this fixture
    await t.step(name, async () => {
      assertSameFlows(await flowsOf(pcap), parseConversations(text), name);
    });
  }
});

Deno.test("parseConversations() reads exact and rounded sizes and IPv6 endpoints", () => {
  const rows = parseConversations([
    "TCP Conversations",
    "::1:58062                  <-> ::1:47311                        4 3352 bytes       6 529 bytes      10 3881 bytes     0.268428000         0.0216",
    "127.0.0.1:51888            <-> 127.0.0.1:47311                  4 20 kB           6 410 bytes      10 20 kB         0.215283000         0.0218",
  ].join("\n"));
  assert.deepEqual(rows[0], {
    protocol: "TCP",
    a: "::1",
    aPort: 58062,
    b: "::1",
    bPort: 47311,
    toA: { frames: 4, bytes: 3352, exact: true },
    toB: { frames: 6, bytes: 529, exact: true },
  });
  assert.deepEqual(rows[1].toA, { frames: 4, bytes: 20000, exact: false });
});
