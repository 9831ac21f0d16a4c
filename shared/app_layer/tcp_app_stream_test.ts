import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import type { RecogniseHint } from "./app_protocol.ts";
import { TcpAppStream } from "./tcp_app_stream.ts";
import { buildClientHello, sniExtension, tlsRecords } from "./_tls_builder.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("TcpAppStream.opensOver() and passesOver() take only segments push() would pass over, with the same effect", () => {
  // Segment starts that begin a message, or almost do, and random bytes.
  const starts = [
    text("GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    text("HTTP/1.1 200 OK\r\n\r\n"),
    text("SSH-2.0-OpenSSH_9.2p1\r\n"),
    tlsRecords(
      buildClientHello({ cipherSuites: [0x1301], extensions: [sniExtension("a.example")] }),
    ),
    text("hello"),
    text("POST /login HTTP/1.1\r\nHost: a\r\n\r\n"),
    text("<html><body>"),
    text("Zz"),
    new Uint8Array([0x16, 3, 1]),
    new Uint8Array([0x00, 0x1d, 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
  ];
  const payload = fc.oneof(
    fc.constantFrom(...starts),
    fc.uint8Array({ minLength: 1, maxLength: 40 }),
  );
  const hint = fc.record({
    transport: fc.constant("tcp" as const),
    srcPort: fc.constantFrom(53, 80, 443, 51000),
    dstPort: fc.constantFrom(53, 80, 22, 51001),
  });
  fc.assert(
    fc.property(
      fc.array(payload, { minLength: 1, maxLength: 40 }),
      hint,
      fc.integer({ min: 1, max: 30 }),
      (payloads, h: RecogniseHint, maxSegments) => {
        const pushed = new TcpAppStream({ maxSegments });
        const skipping = new TcpAppStream({ maxSegments });
        let seq = 1000;
        for (const [i, bytes] of payloads.entries()) {
          const segment = { seq, syn: false, payload: bytes };
          seq += bytes.length;
          const expected = pushed.push(segment, h);
          const opening = {
            seq: segment.seq,
            syn: false,
            length: bytes.length,
            firstByte: bytes[0],
          };
          const passed = i === 0
            ? skipping.opensOver(opening, h)
            : skipping.passesOver(bytes[0], h);
          const found = passed ? null : skipping.push(segment, h);
          assert.deepEqual(found, expected);
          assert.equal(skipping.done, pushed.done);
          assert.equal(skipping.protocol, pushed.protocol);
        }
        assert.deepEqual(skipping.finish(), pushed.finish());
      },
    ),
    propertyRuns(500),
  );
});

Deno.test("TcpAppStream.opensOver() watches a direction that begins with no message, and still finds a later hello", () => {
  const hint: RecogniseHint = { transport: "tcp", srcPort: 51000, dstPort: 8443 };
  const stream = new TcpAppStream();
  const plain = text("\u0005\u0001\u0000 socks hello");
  assert.equal(
    stream.opensOver({ seq: 1, syn: false, length: plain.length, firstByte: 5 }, hint),
    true,
  );
  // Too short to tell, on a SYN, or a stream already fed: the caller pushes instead.
  const fresh = new TcpAppStream();
  assert.equal(fresh.opensOver({ seq: 1, syn: false, length: 7, firstByte: 5 }, hint), false);
  assert.equal(fresh.opensOver({ seq: 1, syn: true, length: 20, firstByte: 5 }, hint), false);
  assert.equal(fresh.opensOver({ seq: 1, syn: false, length: 20, firstByte: 0x47 }, hint), false);
  assert.equal(stream.opensOver({ seq: 30, syn: false, length: 20, firstByte: 5 }, hint), false);
  const hello = tlsRecords(
    buildClientHello({ cipherSuites: [0x1301], extensions: [sniExtension("late.example")] }),
  );
  const found = stream.push({ seq: 1 + plain.length, syn: false, payload: hello }, hint);
  assert.equal(found?.app_protocol, "tls");
  assert.ok(found !== null && "tls_sni" in found && found.tls_sni === "late.example");
});
