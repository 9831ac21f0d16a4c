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

Deno.test("TcpAppStream.watchCode(), resume() and passesOverWatch() carry a watched stream as an integer, with the same effect", () => {
  const starts = [
    text("GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    text("GET /b HTTP/1.1\r\nHost: exa"),
    text("HTTP/1.1 200 OK\r\n\r\n"),
    text("SSH-2.0-OpenSSH_9.2p1\r\n"),
    tlsRecords(
      buildClientHello({ cipherSuites: [0x1301], extensions: [sniExtension("a.example")] }),
    ),
    text("hello, world"),
    text("<html><body>"),
    new Uint8Array([0x16, 3, 1]),
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
        // As the extractor holds a direction: a watched one as its code, read through one spare.
        let spare = new TcpAppStream({ maxSegments });
        let held: TcpAppStream | number = -1;
        let seq = 1000;
        for (const bytes of payloads) {
          const segment = { seq, syn: false, payload: bytes };
          seq += bytes.length;
          const expected = pushed.push(segment, h);
          let found = null;
          const code: number = typeof held === "number" && held >= 0
            ? spare.passesOverWatch(held, bytes[0], h)
            : -1;
          if (code >= 0) held = code;
          else {
            const stream: TcpAppStream = typeof held === "number" ? spare.resume(held) : held;
            found = stream.push(segment, h);
            const after = stream.watchCode();
            if (after >= 0 || stream.done) held = after;
            else if (stream === spare) {
              held = stream;
              spare = new TcpAppStream({ maxSegments });
            }
            assert.equal(stream.done, pushed.done);
          }
          assert.deepEqual(found, expected);
          assert.equal(pushed.watchCode() >= 0, typeof held === "number" && held >= 0);
          if (pushed.done) break;
        }
        if (typeof held !== "number") assert.deepEqual(held.finish(), pushed.finish());
        else assert.equal(pushed.finish(), null);
      },
    ),
    propertyRuns(500),
  );
});
