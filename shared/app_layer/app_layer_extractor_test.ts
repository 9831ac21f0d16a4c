import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { AppLayerExtractor, type AppPacket } from "./app_layer_extractor.ts";
import type { AppMetadata } from "./app_metadata.ts";
import { TcpAppStream } from "./tcp_app_stream.ts";
import {
  alpnExtension,
  buildClientHello,
  buildServerHello,
  sniExtension,
  tlsRecords,
} from "./_tls_builder.ts";
import { buildDnsMessage, dnsName } from "./_dns_builder.ts";
import { protectClientInitial } from "./_quic_builder.ts";
import { QUIC_V1 } from "./quic_header.ts";

const text = (value: string) => new TextEncoder().encode(value);
const HINT = { transport: "tcp", srcPort: 50000, dstPort: 8443 } as const;

function segmentsOf(stream: Uint8Array, cuts: number[], isn = 1000) {
  const edges = [0, ...cuts, stream.length];
  return edges.slice(1).map((end, i) => ({
    seq: isn + 1 + edges[i],
    syn: false,
    payload: stream.subarray(edges[i], end),
  }));
}

function helloStream(): Uint8Array {
  return tlsRecords(buildClientHello({
    cipherSuites: [0x1301, 0x1302],
    extensions: [sniExtension("split.example"), alpnExtension(["h2"]), {
      type: 0x33,
      data: new Array(1500).fill(9),
    }],
  }));
}

Deno.test("TcpAppStream reads a ClientHello split over segments, in any order", () => {
  const stream = helloStream();
  for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0]]) {
    const app = new TcpAppStream();
    app.push({ seq: 1000, syn: true, payload: new Uint8Array(0) }, HINT);
    const segments = segmentsOf(stream, [700, 1400]);
    const found = order.map((i) => app.push(segments[i], HINT));
    assert.deepEqual(found.slice(0, 2), [null, null], `order ${order}`);
    const hello = found[2] as AppMetadata & { tls_sni: string };
    assert.equal(hello.tls_sni, "split.example");
    assert.equal(app.done, true);
  }
});

Deno.test("TcpAppStream finds a TLS hello after STARTTLS plaintext", () => {
  const app = new TcpAppStream();
  const hint = { transport: "tcp", srcPort: 50000, dstPort: 25 } as const;
  let seq = 1;
  const send = (payload: Uint8Array) => {
    const found = app.push({ seq, syn: false, payload }, hint);
    seq += payload.length;
    return found;
  };
  assert.equal(send(text("EHLO client.example\r\n")), null);
  assert.equal(send(text("STARTTLS\r\n")), null);
  const hello = send(helloStream()) as AppMetadata & { tls_sni: string };
  assert.equal(hello.tls_sni, "split.example");
});

Deno.test("TcpAppStream waits for the whole HTTP head, and takes a cut one as far as it goes", () => {
  const request = text(
    "GET /a/b?c=d HTTP/1.1\r\nHost: web.example:8080\r\nUser-Agent: probe/1.0\r\n\r\n",
  );
  const app = new TcpAppStream();
  const [first, second] = segmentsOf(request, [30]);
  assert.equal(app.push(first, HINT), null);
  assert.deepEqual(app.push(second, HINT), {
    app_protocol: "http",
    http_method: "GET",
    http_host: "web.example:8080",
    http_path: "/a/b?c=d",
    http_user_agent: "probe/1.0",
  });
  const cut = new TcpAppStream();
  const found = cut.push({ ...first, truncated: true }, HINT);
  assert.equal((found as AppMetadata & { http_host: string | null }).http_host, "w");
});

Deno.test("TcpAppStream gives up after maxSegments on an unknown stream", () => {
  const app = new TcpAppStream({ maxSegments: 3 });
  for (let i = 0; i < 3; i++) {
    app.push({ seq: 1 + i * 100, syn: false, payload: new Uint8Array(100) }, HINT);
  }
  assert.equal(app.done, false);
  app.push({ seq: 301, syn: false, payload: new Uint8Array(100) }, HINT);
  assert.equal(app.done, true);
});

Deno.test("AppLayerExtractor keeps per-direction state and forgets finished directions", async () => {
  const extractor = new AppLayerExtractor({ maxDirections: 4 });
  const packet = (over: Partial<AppPacket>): AppPacket => ({
    transport: "tcp",
    directionKey: "c>s",
    srcPort: 50000,
    dstPort: 443,
    tcpSeq: 0,
    syn: false,
    payload: new Uint8Array(0),
    ...over,
  });
  const stream = helloStream();
  const [a, b] = segmentsOf(stream, [900], 0);
  assert.equal(extractor.extract(packet({ syn: true })), null);
  assert.equal(extractor.extract(packet({ tcpSeq: a.seq, payload: a.payload })), null);
  const hello = extractor.extract(packet({ tcpSeq: b.seq, payload: b.payload }));
  assert.equal((hello as AppMetadata & { tls_sni: string }).tls_sni, "split.example");
  const server = extractor.extract(
    packet({
      directionKey: "s>c",
      srcPort: 443,
      dstPort: 50000,
      payload: tlsRecords(buildServerHello(0x1301, 0x0304)),
    }),
  );
  assert.deepEqual(server, { app_protocol: "tls", tls_version: 0x0304, tls_cipher: 0x1301 });
  // A new connection on the same tuple starts over at its SYN.
  assert.equal(extractor.extract(packet({ syn: true, tcpSeq: 5000 })), null);
  const again = extractor.extract(packet({ tcpSeq: 5001, payload: stream }));
  assert.equal((again as AppMetadata & { tls_sni: string }).tls_sni, "split.example");
  // UDP: DNS needs no state; QUIC client Initials go through a promise.
  const dns = extractor.extract({
    ...packet({ transport: "udp", directionKey: "u", dstPort: 53 }),
    payload: buildDnsMessage({
      flags: 0x0100,
      questions: [{ name: dnsName("example.net"), type: 28 }],
    }),
  });
  assert.equal((dns as AppMetadata & { dns_query: string }).dns_query, "example.net");
  const initial = await protectClientInitial({
    version: QUIC_V1,
    dcid: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
    packetNumber: 0,
    frames: new Uint8Array([1]), // a PING: decrypts, but holds no hello
  });
  const pending = extractor.extract({
    ...packet({ transport: "udp", directionKey: "q", dstPort: 443 }),
    payload: initial,
  });
  assert.ok(pending instanceof Promise);
  assert.equal(await pending, null);
  assert.ok(extractor.size <= 4);
});

Deno.test("AppLayerExtractor never throws on random packets", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          transport: fc.constantFrom("tcp" as const, "udp" as const),
          directionKey: fc.constantFrom("a", "b", "c"),
          srcPort: fc.constantFrom(53, 80, 443, 5353, 50000),
          dstPort: fc.constantFrom(53, 80, 443, 5355, 50001),
          tcpSeq: fc.nat(),
          syn: fc.boolean(),
          truncated: fc.boolean(),
          payload: fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            fc.constant(text("GET / HTTP/1.1\r\nHost: x\r\n")),
          ),
        }),
        { maxLength: 30 },
      ),
      (packets) => {
        const extractor = new AppLayerExtractor({ maxDirections: 2 });
        for (const packet of packets) {
          const found = extractor.extract(packet);
          if (found instanceof Promise) found.catch(() => assert.fail("QUIC reading rejected"));
        }
      },
    ),
    propertyRuns(500),
  );
});

Deno.test("AppLayerExtractor.end() gives a request head the flow ended inside", () => {
  const extractor = new AppLayerExtractor();
  const head = text("GET /slow HTTP/1.1\r\nHost: slow.example\r\nUser-Agent: slowloris");
  const packet: AppPacket = {
    transport: "tcp",
    directionKey: "c>s",
    srcPort: 50000,
    dstPort: 80,
    tcpSeq: 1,
    syn: false,
    payload: head,
  };
  assert.equal(extractor.extract(packet), null, "the head has not ended: wait for more");
  assert.deepEqual(extractor.end("c>s"), {
    app_protocol: "http",
    http_method: "GET",
    http_host: "slow.example",
    http_path: "/slow",
    http_user_agent: "slowloris",
  });
  assert.equal(extractor.size, 0);
  assert.equal(extractor.end("never-seen"), null);
});
