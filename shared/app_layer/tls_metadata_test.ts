import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { parseTlsStream } from "./tls_metadata.ts";
import { parseClientHello, parseServerHello } from "./tls_hello.ts";
import { readFirstHandshake } from "./tls_record.ts";
import {
  alpnExtension,
  buildClientHello,
  buildServerHello,
  sniExtension,
  tlsRecords,
  u16ListExtension,
  versionsExtension,
} from "./_tls_builder.ts";

function chromeLikeHello(): Uint8Array {
  return buildClientHello({
    cipherSuites: [0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f],
    extensions: [
      { type: 0x0a0a, data: [] },
      sniExtension("www.example.com"),
      { type: 0x0017, data: [] },
      u16ListExtension(0x000a, [0x2a2a, 0x001d, 0x0017]),
      { type: 0x000b, data: [1, 0] },
      u16ListExtension(0x000d, [0x0403, 0x0804, 0x0401]),
      alpnExtension(["h2", "http/1.1"]),
      versionsExtension([0x5a5a, 0x0304, 0x0303]),
      { type: 0x0033, data: [0, 0] },
    ],
  });
}

Deno.test("parseTlsStream() reads SNI, ALPN, offered versions and fingerprints from a ClientHello", () => {
  const read = parseTlsStream(tlsRecords(chromeLikeHello()));
  assert.equal(read.status, "client_hello");
  if (read.status !== "client_hello") return;
  assert.equal(read.metadata.tls_sni, "www.example.com");
  assert.deepEqual(read.metadata.tls_alpn, ["h2", "http/1.1"]);
  assert.deepEqual(read.metadata.tls_versions, [0x0304, 0x0303]);
  assert.equal(
    read.metadata.tls_ja3_full,
    "771,4865-4866-4867-49195-49199,0-23-10-11-13-16-43-51,29-23,0",
  );
  assert.match(read.metadata.tls_ja4, /^t13d0508h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
});

Deno.test("parseTlsStream() reads the chosen version and cipher from a ServerHello", () => {
  const tls13 = parseTlsStream(tlsRecords(buildServerHello(0x1302, 0x0304)));
  assert.deepEqual(tls13, {
    status: "server_hello",
    metadata: { tls_version: 0x0304, tls_cipher: 0x1302 },
  });
  const tls12 = parseTlsStream(tlsRecords(buildServerHello(0xc02f)));
  assert.deepEqual(tls12, {
    status: "server_hello",
    metadata: { tls_version: 0x0303, tls_cipher: 0xc02f },
  });
});

Deno.test("parseTlsStream() joins a hello cut into several records", () => {
  const whole = parseTlsStream(tlsRecords(chromeLikeHello()));
  assert.deepEqual(parseTlsStream(tlsRecords(chromeLikeHello(), 50)), whole);
  assert.deepEqual(parseTlsStream(tlsRecords(chromeLikeHello(), 3)), whole);
});

Deno.test("parseTlsStream() says partial for every cut of a hello, and invalid for other bytes", () => {
  const stream = tlsRecords(chromeLikeHello(), 100);
  for (let cut = 0; cut < stream.length; cut++) {
    assert.equal(parseTlsStream(stream.subarray(0, cut)).status, "partial", `cut at ${cut}`);
  }
  assert.equal(parseTlsStream(new TextEncoder().encode("GET / HTTP/1.1\r\n")).status, "invalid");
  assert.equal(parseTlsStream(new Uint8Array([23, 3, 3, 0, 5, 1, 2, 3, 4, 5])).status, "invalid");
  assert.equal(parseTlsStream(new Uint8Array([22, 2])).status, "invalid");
});

Deno.test("readFirstHandshake() refuses a hello longer than allowed instead of waiting for it", () => {
  assert.equal(
    readFirstHandshake(new Uint8Array([22, 3, 1, 0, 4, 1, 0x10, 0, 0])).status,
    "invalid",
  );
});

Deno.test("parseClientHello() keeps the extensions before a cut inside the extension block", () => {
  const message = chromeLikeHello();
  const body = message.subarray(4);
  const whole = parseClientHello(body)!;
  for (let cut = 0; cut < body.length; cut++) {
    const part = parseClientHello(body.subarray(0, cut));
    if (part === null) continue;
    assert.deepEqual(part.cipherSuites, whole.cipherSuites);
    assert.deepEqual(part.extensions, whole.extensions.slice(0, part.extensions.length));
  }
});

Deno.test("TLS parsers never throw on random or mutated bytes", () => {
  const message = chromeLikeHello();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
      parseTlsStream(bytes);
      parseClientHello(bytes);
      parseServerHello(bytes);
      // A random body behind a valid record and handshake header.
      const framed = new Uint8Array([
        22,
        3,
        1,
        0,
        bytes.length + 4,
        1,
        0,
        0,
        bytes.length,
        ...bytes,
      ]);
      if (bytes.length + 4 < 256) parseTlsStream(framed);
    }),
    propertyRuns(2000),
  );
  const edit = fc.tuple(fc.nat(message.length - 1), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(fc.array(edit, { maxLength: 6 }), (edits) => {
      const copy = message.slice();
      for (const [at, value] of edits) copy[at] = value;
      parseClientHello(copy.subarray(4));
      parseTlsStream(tlsRecords(copy));
    }),
    propertyRuns(2000),
  );
});
