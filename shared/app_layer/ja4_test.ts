import assert from "node:assert/strict";
import { ja4 } from "./ja4.ts";
import { ja3 } from "./ja3.ts";
import type { ClientHello } from "./tls_hello.ts";

/** The example hello of FoxIO's JA4 spec (technical_details/JA4.md), with GREASE added. */
function specHello(overrides: Partial<ClientHello> = {}): ClientHello {
  return {
    legacyVersion: 0x0303,
    cipherSuites: [
      0x2a2a,
      0x1301,
      0x1302,
      0x1303,
      0xc02b,
      0xc02f,
      0xc02c,
      0xc030,
      0xcca9,
      0xcca8,
      0xc013,
      0xc014,
      0x009c,
      0x009d,
      0x002f,
      0x0035,
    ],
    extensions: [
      0xdada,
      0x001b,
      0x0000,
      0x0033,
      0x0010,
      0x4469,
      0x0017,
      0x002d,
      0x000d,
      0x0005,
      0x0023,
      0x0012,
      0x002b,
      0xff01,
      0x000b,
      0x000a,
      0x0015,
      0x1a1a,
    ],
    serverName: "example.com",
    alpn: ["h2", "http/1.1"],
    firstAlpnBytes: new TextEncoder().encode("h2"),
    supportedVersions: [0x7a7a, 0x0304, 0x0303],
    supportedGroups: [0x4a4a, 0x001d, 0x0017, 0x0018],
    ecPointFormats: [0],
    signatureAlgorithms: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
    ...overrides,
  };
}

Deno.test("ja4() gives the spec's example fingerprint, ignoring GREASE", () => {
  assert.equal(ja4(specHello(), "t"), "t13d1516h2_8daaf6152771_e5627efa2ab1");
  assert.equal(ja4(specHello(), "q"), "q13d1516h2_8daaf6152771_e5627efa2ab1");
});

Deno.test("ja4() hashes the extensions alone when there are no signature algorithms", () => {
  // The spec: "0005,000a,…,4469,ff01 = 6d807ffa2a79".
  assert.equal(ja4(specHello({ signatureAlgorithms: [] }), "t").split("_")[2], "6d807ffa2a79");
});

Deno.test("ja4() marks a hello without SNI 'i' and without ALPN '00'", () => {
  const hello = specHello({
    extensions: [0x000d, 0x002b, 0x000a],
    serverName: null,
    alpn: [],
    firstAlpnBytes: null,
  });
  assert.match(ja4(hello, "t"), /^t13i150300_8daaf6152771_/);
});

Deno.test("ja4() takes the legacy version without supported_versions, and 00 for an unknown one", () => {
  assert.match(ja4(specHello({ supportedVersions: null, legacyVersion: 0x0301 }), "t"), /^t10d/);
  assert.match(ja4(specHello({ supportedVersions: null, legacyVersion: 0x0300 }), "t"), /^ts3d/);
  assert.match(ja4(specHello({ supportedVersions: [0x0a0a, 0x7f17] }), "t"), /^t00d/);
  assert.match(ja4(specHello({ supportedVersions: [0xfefd, 0xfeff] }), "d"), /^dd2d/);
});

Deno.test("ja4() writes the ALPN characters as the spec's examples say", () => {
  const alpn = (bytes: number[]) =>
    ja4(specHello({ firstAlpnBytes: new Uint8Array(bytes) }), "t").slice(8, 10);
  assert.equal(alpn([...new TextEncoder().encode("http/1.1")]), "h1");
  assert.equal(alpn([0x68]), "hh");
  assert.equal(alpn([]), "00");
  assert.equal(alpn([0xab]), "ab");
  assert.equal(alpn([0xab, 0xcd]), "ad");
  assert.equal(alpn([0x30, 0xab]), "3b");
  assert.equal(alpn([0x30, 0x31, 0xab, 0xcd]), "3d");
  assert.equal(alpn([0x30, 0xab, 0xcd, 0x31]), "01");
});

Deno.test("ja4() counts at most 99 and writes zeros for empty lists", () => {
  const many = Array.from({ length: 120 }, (_, i) => 0x0100 + i);
  assert.match(ja4(specHello({ cipherSuites: many }), "t"), /^t13d9916/);
  const bare = specHello({
    cipherSuites: [],
    extensions: [0x0000, 0x0010],
    signatureAlgorithms: [],
  });
  assert.match(ja4(bare, "t"), /^t13d0002h2_000000000000_000000000000$/);
});

Deno.test("ja3() lists version, ciphers, extensions, groups and point formats without GREASE", () => {
  const fingerprint = ja3(
    specHello({ cipherSuites: [0x2a2a, 0x1301, 0xc02b], extensions: [0x1a1a, 0, 0x0017, 0x000a] }),
  );
  assert.equal(fingerprint.full, "771,4865-49195,0-23-10,29-23-24,0");
  assert.match(fingerprint.hash, /^[0-9a-f]{32}$/);
  assert.equal(
    ja3(specHello({ ecPointFormats: [], supportedGroups: [] })).full.endsWith(",,"),
    true,
  );
});
