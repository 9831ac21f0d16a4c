import assert from "node:assert/strict";
import { flowUid, uidOfText } from "./_flow_uid.ts";
import { canonicalKey, keyScope } from "./_flow_key.ts";

function uidOf(key: string, firstSeen: number, uidSuffix: number): string {
  const parts = {
    key,
    firstSeen,
    uidSuffix,
    keyLane0: 0,
    keyLane1: 0,
    keyLane2: 0,
    keyLane3: 0,
    keyLanesSet: false,
  };
  return flowUid(parts, undefined);
}

Deno.test("flowUid hashes the first packet time as JavaScript prints it", () => {
  const times = [
    1,
    1.5,
    0.5,
    1e-7,
    10,
    1700000000,
    1700000000.1,
    1700000000.000001,
    1700000000.00001,
    1700000000.123456,
    1700000000.12345,
    1700000000.999999,
    1700000000.1234567,
    1700000000.123456789,
    4294967295.999999,
    4294967296,
    4294967296.5,
    1e21,
    -1700000000.5,
    0,
    -0,
    NaN,
    Infinity,
  ];
  // Microsecond capture timestamps (seconds + micros / 1e6), as decoders make them.
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const micros = seed % 1_000_000;
    times.push(1_600_000_000 + (seed % 200_000_000) + micros / 1e6);
    times.push(1 + (seed % 100) + micros / 1e6);
  }
  for (const t of times) {
    for (const suffix of [0, 1, 9, 10, 123]) {
      assert.equal(uidOf("k|TCP", t, suffix), uidOfText(`k|TCP|${t}|${suffix}`), `${t} ${suffix}`);
    }
  }
});

Deno.test("flowUid of a tuple's parts is the uid of its canonicalKey() string", () => {
  const endpoints: [string, number, string, number][] = [
    ["10.0.0.1", 51234, "10.0.0.2", 80],
    ["10.0.0.2", 80, "10.0.0.1", 51234],
    ["10.0.0.9", 0, "10.0.0.10", 65535],
    ["192.168.1.5", 443, "192.168.1.5", 443],
    ["192.168.1.5", 8443, "192.168.1.5", 443],
    ["2001:db8::1", 5353, "fe80::1", 5353],
  ];
  const scopes = ["", keyScope("agent-7", null, null, ""), keyScope(null, "vxlan", 42, "")];
  for (const scope of scopes) {
    for (const proto of [6, 17, 132]) {
      for (const [a, aPort, b, bPort] of endpoints) {
        const key = canonicalKey(scope, proto, a, aPort, b, bPort);
        for (const firstSeen of [1700000000.123456, 0.5]) {
          const parts = {
            key: "",
            firstSeen,
            uidSuffix: 1,
            keyLane0: 0,
            keyLane1: 0,
            keyLane2: 0,
            keyLane3: 0,
            keyLanesSet: false,
          };
          const uid = flowUid(parts, undefined, { scope, proto, a, aPort, b, bPort });
          assert.equal(uid, uidOf(key, firstSeen, 1), key);
          assert.equal(uid, uidOfText(`${key}|${firstSeen}|1`), key);
        }
      }
    }
  }
});
