import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { PacketRecordSchema, validatePacketBatch } from "./packet_schema.ts";
import { sampleRecords } from "../testing/sample_records.ts";

const SEED_RECORD = {
  timestamp: 1_764_000_000.25,
  interface: "eth0",
  src_ip: "192.0.2.1",
  dst_ip: "2001:db8::1",
  protocol: "TCP",
  src_port: 1234,
  dst_port: 80,
  length: 60,
};

Deno.test("validatePacketBatch() fills defaults for a seed-style record", () => {
  const result = validatePacketBatch([SEED_RECORD]);
  assert.ok(result.ok);
  const [r] = result.records;
  assert.equal(r.caplen, 60);
  assert.equal(r.payload_length, 0);
  assert.equal(r.malformed, false);
  assert.equal(r.data, null);
  assert.equal(r.vlan_id, null);
  assert.equal(r.tunnel_type, null);
  assert.equal(r.tunnel_id, null);
  assert.equal(r.tunnel_depth, 0);
});

Deno.test("validatePacketBatch() accepts a tunnelled packet's outer fields", () => {
  const result = validatePacketBatch([{
    ...SEED_RECORD,
    tunnel_type: "geneve",
    tunnel_src_ip: "2001:db8::10",
    tunnel_dst_ip: "198.51.100.7",
    tunnel_id: 0xffffffff,
    tunnel_depth: 2,
  }]);
  assert.ok(result.ok);
  assert.equal(result.records[0].tunnel_type, "geneve");
  assert.equal(result.records[0].tunnel_id, 0xffffffff);
});

Deno.test("validatePacketBatch() names the record and field at fault", async (t) => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ["a port out of range", { src_port: 65_536 }, "src_port", /0 to 65535/],
    ["a fractional length", { length: 1.5 }, "length", /integer/],
    ["a bad address", { src_ip: "1.2.3" }, "src_ip", /IPv4 or IPv6/],
    ["a scoped IPv6 address", { dst_ip: "fe80::1%eth0" }, "dst_ip", /IPv4 or IPv6/],
    ["an unknown field", { colour: "red" }, "colour", /unknown field/],
    ["a null that is not allowed", { protocol: null }, "protocol", /must not be null/],
    ["bad base64", { data: "abc" }, "data", /base64/],
    ["a bad MAC", { eth_src: "zz:00:00:00:00:00" }, "eth_src", /MAC/],
    ["a bad IP version", { ip_version: 5 }, "ip_version", /4 or 6/],
    ["a NUL in interface", { interface: "eth\u00000" }, "interface", /NUL/],
    ["a NUL in protocol", { protocol: "\u0000" }, "protocol", /NUL/],
    ["a NUL in malformed_reason", { malformed_reason: "x\u0000" }, "malformed_reason", /NUL/],
    ["a lone high surrogate", { interface: "eth\ud800" }, "interface", /surrogate/],
    ["a lone low surrogate", { protocol: "\udc00TCP" }, "protocol", /surrogate/],
    ["a reversed pair", { malformed_reason: "\udc00\ud800" }, "malformed_reason", /surrogate/],
    ["a NUL in a MAC", { eth_dst: "02:00:00:00:00:0\u0000" }, "eth_dst", /MAC/],
    ["an unknown tunnel type", { tunnel_type: "l2tp" }, "tunnel_type", /one of mpls, pppoe/],
    ["a tunnel id past 32 bits", { tunnel_id: 2 ** 32 }, "tunnel_id", /0 to 4294967295/],
    ["a tunnel too deep", { tunnel_depth: 9 }, "tunnel_depth", /0 to 8/],
    ["a bad tunnel address", { tunnel_src_ip: "10.0.0" }, "tunnel_src_ip", /IPv4 or IPv6/],
  ];
  // A record with every field takes another path than a seed-style one (no
  // defaults to fill in), so each case runs on both.
  const [full] = sampleRecords(1, { dataBytes: 6 }) as unknown as Record<string, unknown>[];
  for (const [name, change, field, message] of cases) {
    for (const [kind, base] of [["seed-style", SEED_RECORD], ["every field", full]] as const) {
      await t.step(`${name} (${kind})`, () => {
        const result = validatePacketBatch([base, { ...base, ...change }]);
        assert.ok(!result.ok);
        assert.equal(result.issue.record, 1);
        assert.equal(result.issue.field, field);
        assert.match(result.issue.message, message);
      });
    }
  }
  await t.step("a well-formed surrogate pair (an emoji) is text like any other", () => {
    const result = validatePacketBatch([{ ...SEED_RECORD, interface: "wlan\ud83d\ude00" }]);
    assert.ok(result.ok);
    assert.equal(result.records[0].interface, "wlan😀");
  });
  await t.step("a missing field", () => {
    const { length: _, ...rest } = SEED_RECORD;
    const result = validatePacketBatch([rest]);
    assert.ok(!result.ok);
    assert.deepEqual(result.issue, { record: 0, field: "length", message: "missing field" });
  });
  await t.step("not an array, empty, not an object", () => {
    for (const input of [{}, [], [3]]) assert.ok(!validatePacketBatch(input).ok);
  });
});

Deno.test("validatePacketBatch() and the zod schema accept and reject the same records", () => {
  const base = sampleRecords(50, { dataBytes: 6 }) as unknown as Record<string, unknown>[];
  const fields = Object.keys(base[0]);
  const oddValues = fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.integer({ min: -5, max: 70_000 }),
    fc.double(),
    fc.constantFrom("", "10.0.0.1", "::1", "2001:db8::1", "not an ip", "AAAA", "02:00:00:00:00:01"),
    fc.constantFrom("vxlan", "mpls", "VXLAN", "l2tp"),
    fc.string(),
    fc.constantFrom("eth\u00000", "\ud800", "a\udfffb", "\ud83d\ude00"),
  );
  fc.assert(
    fc.property(
      fc.nat({ max: base.length - 1 }),
      fc.constantFrom(...fields, "extra"),
      oddValues,
      (index, field, value) => {
        const record = { ...base[index] };
        if (value === undefined) delete record[field];
        else record[field] = value;
        const fast = validatePacketBatch([record]);
        const slow = PacketRecordSchema.safeParse(record);
        assert.equal(fast.ok, slow.success, `${field}=${JSON.stringify(value)}`);
        if (fast.ok && slow.success) assert.deepEqual(fast.records[0], slow.data);
      },
    ),
    propertyRuns(3000),
  );
});
