import assert from "node:assert/strict";
import { APP_RECORD_FIELD_NAMES } from "@traffic-analyzer/shared/app_layer";
import {
  alpnExtension,
  buildClientHello,
  sniExtension,
  tlsRecords,
  versionsExtension,
} from "../shared/app_layer/_tls_builder.ts";
import { buildDnsMessage, dnsName } from "../shared/app_layer/_dns_builder.ts";
import { batchRecords, encodeArrowBatch, readArrowBatch } from "@traffic-analyzer/shared/packet";
import { validatePacketBatch } from "@traffic-analyzer/shared/packet/schema";
import type { PacketBatch } from "./batcher.ts";
import type { BatchSink } from "./delivery.ts";
import { type PipelineFrame, runPipeline } from "./pipeline.ts";
import { keptBatch, recordsOf } from "./_test_support.ts";

/** An Ethernet + IPv4 frame around a TCP or UDP segment (checksums left zero). */
function frame(
  proto: 6 | 17,
  src: number[],
  dst: number[],
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
  tcp: { seq: number; flags: number } = { seq: 0, flags: 0x18 },
): PipelineFrame {
  const transport = proto === 6 ? 20 : 8;
  const bytes = new Uint8Array(14 + 20 + transport + payload.length);
  const view = new DataView(bytes.buffer);
  bytes.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  bytes.set([0x45, 0], 14);
  view.setUint16(16, 20 + transport + payload.length);
  bytes[22] = 64;
  bytes[23] = proto;
  bytes.set(src, 26);
  bytes.set(dst, 30);
  view.setUint16(34, srcPort);
  view.setUint16(36, dstPort);
  if (proto === 6) {
    view.setUint32(38, tcp.seq);
    bytes[46] = 5 << 4;
    bytes[47] = tcp.flags;
    view.setUint16(48, 64240);
  } else {
    view.setUint16(38, 8 + payload.length);
  }
  bytes.set(payload, 34 + transport);
  return { data: bytes, timestampSec: 1_700_000_000, wireLength: bytes.length, linkType: 1 };
}

const CLIENT = [10, 0, 0, 5];
const SERVER = [192, 0, 2, 10];

/** A ClientHello to an unusual port, split over two TCP segments, and a DNS query and answer. */
function frames(): PipelineFrame[] {
  const hello = tlsRecords(buildClientHello({
    cipherSuites: [0x1301, 0x1302, 0xc02b],
    extensions: [
      sniExtension("shop.example.com"),
      alpnExtension(["h2", "http/1.1"]),
      versionsExtension([0x0304, 0x0303]),
    ],
  }));
  const cut = 40;
  const query = buildDnsMessage({
    id: 7,
    flags: 0x0100,
    questions: [{ name: dnsName("api.example.org"), type: 1 }],
  });
  return [
    frame(6, CLIENT, SERVER, 51000, 8443, new Uint8Array(0), { seq: 999, flags: 0x02 }),
    frame(6, CLIENT, SERVER, 51000, 8443, hello.subarray(0, cut), { seq: 1000, flags: 0x18 }),
    frame(6, CLIENT, SERVER, 51000, 8443, hello.subarray(cut), { seq: 1000 + cut, flags: 0x18 }),
    frame(17, CLIENT, [192, 0, 2, 53], 53001, 53, query),
  ];
}

class RecordingSink implements BatchSink {
  batches: PacketBatch[] = [];
  submit(batch: PacketBatch): Promise<void> {
    this.batches.push(keptBatch(batch));
    return Promise.resolve();
  }
}

async function run(appMetadata: boolean | undefined): Promise<PacketBatch[]> {
  const sink = new RecordingSink();
  await runPipeline({
    frames: (async function* () {
      yield frames();
    })(),
    sink,
    batchSize: 100,
    batchTimeoutMs: Infinity,
    agentId: "t",
    payloadCapture: "none",
    appMetadata,
  });
  return sink.batches;
}

Deno.test("runPipeline() puts app-layer metadata in the records with PAYLOAD_CAPTURE=none", async () => {
  const records = (await run(undefined)).flatMap(recordsOf);
  assert.equal(records.length, 4);
  assert.ok(records.every((r) => r.data === null), "no payload bytes leave the agent");
  assert.equal(records[0].app_protocol, null);
  assert.equal(records[1].app_protocol, null, "half a ClientHello says nothing yet");
  const hello = records[2];
  assert.equal(hello.app_protocol, "tls");
  assert.equal(hello.tls_sni, "shop.example.com");
  assert.equal(hello.tls_alpn, "h2,http/1.1");
  assert.equal(hello.tls_versions, "0x0304,0x0303");
  assert.match(hello.tls_ja4!, /^t13d03\d\dh2_/);
  assert.match(hello.tls_ja3!, /^[0-9a-f]{32}$/);
  const dns = records[3];
  assert.equal(dns.app_protocol, "dns");
  assert.equal(dns.dns_query, "api.example.org");
  assert.equal(dns.dns_qtype, 1);
  assert.equal(dns.dns_rcode, null);
});

Deno.test("runPipeline() leaves the app-layer fields null with APP_METADATA=off", async () => {
  const records = (await run(false)).flatMap(recordsOf);
  assert.equal(records.length, 4);
  for (const record of records) {
    for (const name of APP_RECORD_FIELD_NAMES) assert.equal(record[name], null, name);
  }
});

Deno.test("app-layer fields cross both wire formats unchanged and pass the server's validation", async () => {
  const [batch] = await run(true);
  const records = recordsOf(batch);
  const arrow = readArrowBatch(encodeArrowBatch(batch.columns), { maxRecords: 100 });
  assert.ok(arrow.ok);
  assert.deepEqual(batchRecords(arrow.batch), records);
  const json = validatePacketBatch(JSON.parse(JSON.stringify(records)));
  assert.ok(json.ok);
  assert.deepEqual(json.records, records);
});
