import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { deriveQuicInitialSecrets } from "./quic_initial_keys.ts";
import { parseQuicInitial, QuicInitialReader } from "./quic_initial.ts";
import { QUIC_V1, QUIC_V2 } from "./quic_header.ts";
import { cryptoFrame, protectClientInitial } from "./_quic_builder.ts";
import {
  alpnExtension,
  buildClientHello,
  sniExtension,
  u16ListExtension,
  versionsExtension,
} from "./_tls_builder.ts";

const hex = (text: string) => Uint8Array.fromHex(text.replaceAll(/\s/g, ""));
/** The DCID of the RFCs' worked examples. */
const RFC_DCID = hex("8394c8f03e515708");
/** RFC 9001 Appendix A.2 (and RFC 9369 A.2): the client's CRYPTO frame, before PADDING. */
const RFC_CRYPTO_FRAME = hex(`
  060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868
  04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578
  616d706c652e636f6dff01000100000a00080006001d00170018001000070005
  04616c706e000500050100000000003300260024001d00209370b2c9caa47fba
  baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400
  0d0010000e0403050306030203080408050806002d00020101001c0002400100
  3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000
  75300901100f088394c8f03e51570806048000ffff`);

Deno.test("deriveQuicInitialSecrets() gives RFC 9001 A.1's and RFC 9369 A.1's keys", async (t) => {
  const cases = [
    [
      QUIC_V1,
      "client",
      "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
      "1f369613dd76d5467730efcbe3b1a22d",
      "fa044b2f42a3fd3b46fb255c",
      "9f50449e04a0e810283a1e9933adedd2",
    ],
    [
      QUIC_V1,
      "server",
      "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b",
      "cf3a5331653c364c88f0f379b6067e37",
      "0ac1493ca1905853b0bba03e",
      "c206b8d9b9f0f37644430b490eeaa314",
    ],
    [
      QUIC_V2,
      "client",
      "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
      "8b1a0bc121284290a29e0971b5cd045d",
      "91f73e2351d8fa91660e909f",
      "45b95e15235d6f45a6b19cbcb0294ba9",
    ],
    [
      QUIC_V2,
      "server",
      "0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1",
      "82db637861d55e1d011f19ea71d5d2a7",
      "dd13c276499c0249d3310652",
      "edf6d05c83121201b436e16877593c3a",
    ],
  ] as const;
  for (const [version, side, secret, key, iv, hp] of cases) {
    await t.step(`version ${version.toString(16)} ${side}`, () => {
      const derived = deriveQuicInitialSecrets(RFC_DCID, version, side);
      assert.deepEqual(
        [derived.secret.toHex(), derived.key.toHex(), derived.iv.toHex(), derived.hp.toHex()],
        [secret, key, iv, hp],
      );
    });
  }
});

Deno.test("parseQuicInitial() opens the RFCs' example client Initials", async (t) => {
  // The protected header and first sample bytes each RFC prints for its example.
  const cases = [
    [QUIC_V1, "c000000001088394c8f03e5157080000449e7b9aec34", "d1b1c98dd7689fb8ec11d242b123dc9b"],
    [QUIC_V2, "d76b3343cf088394c8f03e5157080000449ea0c95e82", "ffe67b6abcdb4298b485dd04de806071"],
  ] as const;
  for (const [version, protectedHeader, sample] of cases) {
    await t.step(`version ${version.toString(16)}`, async () => {
      const packet = await protectClientInitial({
        version,
        dcid: RFC_DCID,
        packetNumber: 2,
        frames: RFC_CRYPTO_FRAME,
      });
      assert.equal(packet.length, 1200);
      assert.equal(packet.subarray(0, 22).toHex(), protectedHeader);
      assert.equal(packet.subarray(22, 38).toHex(), sample);
      const hello = await parseQuicInitial(packet);
      assert.equal(hello?.app_protocol, "quic");
      assert.equal(hello?.tls_sni, "example.com");
      assert.deepEqual(hello?.tls_alpn, ["alpn"]);
      assert.deepEqual(hello?.tls_versions, [0x0304]);
      // Two cipher suites, eleven extensions, ALPN "alpn".
      assert.match(hello!.tls_ja4, /^q13d0211an_/);
    });
  }
});

function largeHello(): Uint8Array {
  return buildClientHello({
    cipherSuites: [0x1301, 0x1302, 0x1303],
    extensions: [
      sniExtension("cloudflare-quic.com"),
      alpnExtension(["h3"]),
      versionsExtension([0x0304]),
      u16ListExtension(0x000d, [0x0403, 0x0804]),
      { type: 0x0039, data: new Array(40).fill(1) }, // quic_transport_parameters
      { type: 0x0033, data: new Array(1300).fill(7) }, // a post-quantum-sized key share
    ],
  });
}

Deno.test("QuicInitialReader joins a ClientHello spread over two Initials in shuffled CRYPTO frames", async () => {
  const hello = largeHello();
  const dcid = hex("0011223344556677");
  const piece = (from: number, to: number) => cryptoFrame(from, hello.subarray(from, to));
  // Packet 1 carries three pieces out of order; packet 2 the rest.
  const first = await protectClientInitial({
    version: QUIC_V1,
    dcid,
    packetNumber: 0,
    frames: new Uint8Array([...piece(600, 1000), ...piece(0, 300), ...piece(300, 600)]),
  });
  const second = await protectClientInitial({
    version: QUIC_V1,
    dcid,
    packetNumber: 1,
    frames: piece(1000, hello.length),
  });
  const reader = new QuicInitialReader();
  assert.equal(await reader.push(first), null);
  assert.equal(reader.done, false);
  const read = await reader.push(second);
  assert.equal(read?.tls_sni, "cloudflare-quic.com");
  assert.match(read!.tls_ja4, /^q13d0306h3_/);
  assert.equal(reader.done, true);
  assert.equal(await parseQuicInitial(first), null, "half a hello is no hello");
});

Deno.test("QuicInitialReader gives up after maxPackets Initials without a hello", async () => {
  const packet = await protectClientInitial({
    version: QUIC_V1,
    dcid: RFC_DCID,
    packetNumber: 0,
    frames: new Uint8Array([1]),
  });
  const reader = new QuicInitialReader({ maxPackets: 2 });
  await reader.push(packet);
  await reader.push(packet);
  assert.equal(reader.done, false);
  await reader.push(packet);
  assert.equal(reader.done, true);
});

Deno.test("parseQuicInitial() never rejects on random, cut or altered datagrams", async () => {
  const packet = await protectClientInitial({
    version: QUIC_V1,
    dcid: RFC_DCID,
    packetNumber: 2,
    frames: RFC_CRYPTO_FRAME,
  });
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 1300 }), async (bytes) => {
      await parseQuicInitial(bytes);
      // A valid long header in front of random bytes reaches the decryption.
      await parseQuicInitial(new Uint8Array([...packet.subarray(0, 22), ...bytes]));
    }),
    propertyRuns(300),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: packet.length - 1 }),
      fc.integer({ min: 1, max: 255 }),
      async (at, flip) => {
        assert.equal(await parseQuicInitial(packet.subarray(0, at)), null);
        const altered = packet.slice();
        altered[at] ^= flip;
        const read = await parseQuicInitial(altered);
        // Only the header-protected bits of the first byte may change without breaking the tag.
        assert.ok(read === null || at === 0, `altered byte ${at} still opened`);
      },
    ),
    propertyRuns(300),
  );
});
