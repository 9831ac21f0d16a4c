import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { ColumnarBatchBuilder, HEADER_FIELDS } from "./columnar_batch_builder.ts";
import { batchRecords } from "./columnar_batch.ts";
import { encodeArrowBatch } from "./arrow_batch_writer.ts";
import { decodePacket, type PayloadCapture } from "./decode_packet.ts";
import { decodeHeaders } from "./decode_headers.ts";
import { PacketHeaders } from "./packet_headers.ts";
import { encodePacket, linkTypeOf } from "./packet_encoder.ts";
import { ipPacket, otherPacket } from "./_packet_arbitraries.ts";
import { PACKET_FIELDS } from "./packet_schema.ts";
import { sampleRecords } from "../testing/sample_records.ts";
import { APP_RECORD_FIELD_NAMES, type AppRecordFields } from "../app_layer/app_record_fields.ts";

Deno.test("appendHeaders() writes every field of the field table", () => {
  assert.deepEqual([...HEADER_FIELDS], PACKET_FIELDS.map((f) => f.name));
});

Deno.test("appendHeaders() makes the records decodePacket() makes, batch after batch", () => {
  const headers = new PacketHeaders();
  // Small, so the arrays grow, and reused across runs, so leftovers would show.
  const builder = new ColumnarBatchBuilder(2);
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.oneof(ipPacket(), otherPacket),
          fc.nat(20),
          fc.constantFrom<PayloadCapture>("full", "headers", "none"),
        ),
        { minLength: 1, maxLength: 12 },
      ),
      (packets) => {
        builder.reset();
        const expected = packets.map(([spec, cut, payloadCapture], i) => {
          const whole = encodePacket(spec);
          const frame = whole.subarray(0, Math.max(0, whole.length - cut));
          const linkType = linkTypeOf(spec.link);
          const meta = { timestampSec: 1_700_000_000 + i / 8, interfaceName: `if${i % 2}` };
          decodeHeaders(frame, { linkType, wireLength: whole.length }, headers);
          builder.appendHeaders(frame, headers, { ...meta, payloadCapture });
          return decodePacket(frame, {
            linkType,
            wireLength: whole.length,
            timestampSec: meta.timestampSec,
            interfaceName: meta.interfaceName,
            payloadCapture,
          });
        });
        assert.deepEqual(batchRecords(builder.build()), expected);
      },
    ),
    propertyRuns(300),
  );
});

Deno.test("appendRecord() and appendRow() keep every value, nulls included", () => {
  const records = sampleRecords(300, { seed: 7, dataBytes: 24 });
  records[3] = { ...records[3], data: null, src_ip: null, src_port: null, malformed_reason: "x" };
  const builder = new ColumnarBatchBuilder(16);
  for (const record of records) builder.appendRecord(record);
  const batch = builder.build();
  assert.deepEqual(batchRecords(batch), records);
  const copy = new ColumnarBatchBuilder(1);
  for (let i = 0; i < batch.count; i++) copy.appendRow(batch, i);
  assert.deepEqual(batchRecords(copy.build()), records);
});

Deno.test("appendHeaders() puts each app-layer field in its own column", () => {
  // Every field set, each to a value no other field has: a field written to
  // the wrong column, or not at all, shows.
  const app: AppRecordFields = {
    app_protocol: "dns",
    dns_query: "q.example",
    dns_qtype: 28,
    dns_rcode: 3,
    dns_answers: "192.0.2.1",
    dns_cnames: "c.example",
    dns_ttl: 300,
    dns_names: "n.example",
    tls_sni: "sni.example",
    tls_alpn: "h2",
    tls_versions: "0x0304",
    tls_ja3: "ja3",
    tls_ja4: "ja4",
    tls_version: 772,
    tls_cipher: 4865,
    http_method: "GET",
    http_host: "host.example",
    http_path: "/path",
    http_user_agent: "agent/1",
    http_status: 404,
    ssh_banner: "SSH-2.0-x",
    dhcp_hostname: "dhcp-host",
    dhcp_requested_ip: "192.0.2.9",
  };
  assert.deepEqual(Object.keys(app).sort(), [...APP_RECORD_FIELD_NAMES].sort());
  const [spec] = fc.sample(ipPacket(), { numRuns: 1, seed: 7 });
  const frame = encodePacket(spec);
  const headers = new PacketHeaders();
  decodeHeaders(frame, { linkType: linkTypeOf(spec.link), wireLength: frame.length }, headers);
  const builder = new ColumnarBatchBuilder(1);
  const meta = {
    timestampSec: 1_700_000_000,
    interfaceName: "eth0",
    payloadCapture: "none",
  } as const;
  builder.appendHeaders(frame, headers, { ...meta, app });
  builder.appendHeaders(frame, headers, { ...meta, app: null });
  const [withApp, without] = batchRecords(builder.build());
  for (const name of APP_RECORD_FIELD_NAMES) {
    assert.equal(withApp[name], app[name], name);
    assert.equal(without[name], null, name);
  }
});

Deno.test("app-layer columns are the same batch after batch, whichever rows carry them", () => {
  // The app-layer columns are written only where a packet has a value and
  // cleared by reset(): a value left from an earlier batch, or a column all
  // present or all null, must encode as a fresh builder's would.
  const [spec] = fc.sample(ipPacket(), { numRuns: 1, seed: 11 });
  const frame = encodePacket(spec);
  const headers = new PacketHeaders();
  decodeHeaders(frame, { linkType: linkTypeOf(spec.link), wireLength: frame.length }, headers);
  const meta = {
    timestampSec: 1_700_000_000,
    interfaceName: "eth0",
    payloadCapture: "none",
  } as const;
  const appOf = (fields: number, value: number): AppRecordFields => {
    const app: Record<string, string | number | null> = Object.fromEntries(
      APP_RECORD_FIELD_NAMES.map((name) => [name, null]),
    );
    APP_RECORD_FIELD_NAMES.forEach((name, i) => {
      if ((fields & (1 << i)) === 0) return;
      const numeric = [
        "dns_qtype",
        "dns_rcode",
        "dns_ttl",
        "tls_version",
        "tls_cipher",
        "http_status",
      ]
        .includes(name);
      app[name] = numeric ? value : name === "app_protocol" ? "dns" : `${name}${value}`;
    });
    return app as unknown as AppRecordFields;
  };
  const reused = new ColumnarBatchBuilder(2);
  fc.assert(
    fc.property(
      fc.array(
        fc.array(fc.option(fc.tuple(fc.nat((1 << 23) - 1), fc.nat(3)), { nil: null }), {
          minLength: 1,
          maxLength: 20,
        }),
        { minLength: 1, maxLength: 4 },
      ),
      (batches) => {
        for (const rows of batches) {
          const fresh = new ColumnarBatchBuilder(rows.length);
          for (const builder of [reused, fresh]) {
            for (const row of rows) {
              builder.appendHeaders(frame, headers, {
                ...meta,
                app: row === null ? null : appOf(row[0], row[1]),
              });
            }
          }
          const got = reused.build();
          assert.deepEqual(encodeArrowBatch(got), encodeArrowBatch(fresh.build()));
          const records = batchRecords(got);
          rows.forEach((row, i) => {
            const app = row === null ? null : appOf(row[0], row[1]);
            for (const name of APP_RECORD_FIELD_NAMES) {
              assert.equal(records[i][name], app === null ? null : app[name], name);
            }
          });
          reused.reset();
        }
      },
    ),
    propertyRuns(200),
  );
});

Deno.test("detach() hands over batches a fresh builder would make, and reuses given-back arrays clean", () => {
  // Arrays given back still hold their batch's values, app-layer ones
  // included, and a builder that grew cannot use them: every batch must
  // still encode as a fresh builder's, and a batch whose arrays were not
  // given back must stay as it was while the builder goes on.
  const [spec] = fc.sample(ipPacket(), { numRuns: 1, seed: 12 });
  const frame = encodePacket(spec);
  const headers = new PacketHeaders();
  decodeHeaders(frame, { linkType: linkTypeOf(spec.link), wireLength: frame.length }, headers);
  const appOf = (value: number): AppRecordFields => {
    const app = Object.fromEntries(APP_RECORD_FIELD_NAMES.map((name) => [name, null]));
    return { ...app, app_protocol: "dns", dns_names: `q${value}.example`, dns_ttl: value } as
      & AppRecordFields
      & Record<string, unknown>;
  };
  const builder = new ColumnarBatchBuilder(2);
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          rows: fc.array(fc.option(fc.nat(1000), { nil: null }), { minLength: 1, maxLength: 12 }),
          payload: fc.constantFrom<PayloadCapture>("full", "none"),
          giveBack: fc.boolean(),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      (batches) => {
        const kept: { batch: ReturnType<ColumnarBatchBuilder["build"]>; body: Uint8Array }[] = [];
        let previous: ReturnType<ColumnarBatchBuilder["detach"]> | null = null;
        for (const { rows, payload, giveBack } of batches) {
          const fresh = new ColumnarBatchBuilder(rows.length);
          for (const target of [builder, fresh]) {
            for (const row of rows) {
              target.appendHeaders(frame, headers, {
                timestampSec: 1_700_000_000,
                interfaceName: "eth0",
                payloadCapture: payload,
                app: row === null ? null : appOf(row),
              });
            }
          }
          // Giving back the previous batch's arrays ends that batch.
          if (giveBack && previous !== null) kept.pop();
          const detached = builder.detach(giveBack ? previous?.arrays : null);
          assert.equal(builder.count, 0);
          const body = encodeArrowBatch(fresh.build());
          assert.deepEqual(encodeArrowBatch(detached.batch), body);
          const records = batchRecords(detached.batch);
          rows.forEach((row, i) => {
            assert.equal(records[i].dns_names, row === null ? null : `q${row}.example`);
            assert.equal(records[i].dns_ttl, row === null ? null : row);
          });
          kept.push({ batch: detached.batch, body });
          previous = detached;
        }
        for (const { batch, body } of kept) assert.deepEqual(encodeArrowBatch(batch), body);
      },
    ),
    propertyRuns(200),
  );
});

Deno.test("detach()'s buffers transfer the batch whole, and arrays transferred away are not reused", () => {
  const builder = new ColumnarBatchBuilder(8);
  const records = sampleRecords(6, { seed: 4, dataBytes: 30 });
  for (const record of records) builder.appendRecord(record);
  const detached = builder.detach();
  const moved = structuredClone(detached, { transfer: detached.buffers });
  assert.deepEqual(batchRecords(moved.batch), records);
  // Here the buffers are gone (transferred): given back, they cannot be written into.
  assert.equal(detached.arrays.offsets.length, 0);
  const next = sampleRecords(5, { seed: 5, dataBytes: 20 });
  for (const record of next) builder.appendRecord(record);
  assert.deepEqual(batchRecords(builder.detach(detached.arrays).batch), next);
  // The arrays that came back whole hold the next batch.
  for (const record of records) builder.appendRecord(record);
  assert.deepEqual(batchRecords(builder.detach(moved.arrays).batch), records);
  for (const record of next) builder.appendRecord(record);
  const again = builder.detach();
  assert.equal(again.arrays.offsets.buffer, moved.arrays.offsets.buffer);
  assert.deepEqual(batchRecords(again.batch), next);
});
