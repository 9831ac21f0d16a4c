/**
 * Where the time of one ingest goes, stage by stage, in one process: the
 * agent's side (read, decode, batch, Arrow, zstd: what `--read` does before
 * the upload), then for each body the server's stages (zstd decompress,
 * Arrow read and validation, SHA-256, the COPY encoding, the column block
 * and its zstd, through node:zlib and through libzstd),
 * then, with a database, `storeColumnarBatch` of each batch and, for the
 * reference, a plain binary COPY of the very same bytes into the same table.
 *
 * Usage: `deno run -A bench/ingest_stages.ts --file CAPTURE [--db [--store [--keep]]]`:
 * `--db` opens a test database (a schema on DATABASE_URL, or PGlite when
 * unset) for the table's column types and times the COPY encoding; `--store`
 * also stores every batch and then COPYs the same rows per batch, timed;
 * `--keep` leaves the schema (its name is printed) for, e.g., an aggregator
 * pass over it. Serial and in one process: a split of the costs, not a rate
 * of the whole path (`bench/e2e.ts`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { zstdDecompressSync } from "node:zlib";
import { compressWithLibzstd, compressWithNodeZlib } from "@traffic-analyzer/shared/zstd";
import { zstdChunkSize } from "../server/body_reader.ts";
import { readCaptureBatches } from "@traffic-analyzer/shared/pcap";
import { readArrowBatch } from "@traffic-analyzer/shared/packet";
import { encodePacketColumnBlock } from "../shared/packet/packet_columns.ts";
import {
  encodeRawPacketCopy,
  openCopyIn,
  rawPacketCopyLayout,
  releaseRawPacketCopy,
  storeColumnarBatch,
} from "@traffic-analyzer/shared/db";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { runPipeline } from "../agent/pipeline.ts";
import { encodeBatch } from "../agent/batch_codec.ts";
import type { PacketBatch } from "../agent/batcher.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    file: { type: "string" },
    db: { type: "boolean", default: false },
    store: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    "batch-size": { type: "string", default: "5000" },
  },
});
if (values.file === undefined) throw new Error("--file CAPTURE is required");

const bodies: Uint8Array[] = [];
let packets = 0;
const agentStarted = performance.now();
await runPipeline({
  frames: readCaptureBatches(values.file),
  sink: {
    submit(batch: PacketBatch) {
      for (const part of encodeBatch(batch)) bodies.push(part.body);
      return Promise.resolve();
    },
  },
  batchSize: Number(values["batch-size"]),
  batchTimeoutMs: Infinity,
  agentId: "stages",
  payloadCapture: "full",
  appMetadata: true,
  defaultInterfaceName: "bench.pcap",
});
const agentMs = performance.now() - agentStarted;

const totals: Record<string, number> = {};
function timed<T>(name: string, f: () => T): T {
  const t = performance.now();
  const out = f();
  totals[name] = (totals[name] ?? 0) + performance.now() - t;
  return out;
}
async function timedAsync<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await f();
  totals[name] = (totals[name] ?? 0) + performance.now() - t;
  return out;
}

const db = values.db ? await openTestDatabase() : null;
const sql = db?.sql ?? null;
const layout = sql ? await rawPacketCopyLayout(sql) : null;
const copies: Uint8Array[] = [];
const sizes = { body: 0, arrow: 0, block: 0, copy: 0 };
let n = 0;
for (const body of bodies) {
  // As the server decompresses a body: into one buffer of the size its frame declares.
  const raw = timed(
    "zstd decompress",
    () => zstdDecompressSync(body, { chunkSize: zstdChunkSize(body, 1 << 30) }),
  );
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const result = timed(
    "arrow read+validate",
    () => readArrowBatch(bytes, { maxRecords: 1e6, maxDecompressedBytes: 1e9 }),
  );
  if (!result.ok) throw new Error(result.issue.message);
  timed("sha256 body", () => createHash("sha256").update(bytes).digest("hex"));
  packets += result.batch.count;
  if (layout) {
    const copy = timed("COPY encode", () => encodeRawPacketCopy(result.batch, layout));
    timed("sha256 copy", () => createHash("sha256").update(copy).digest("hex"));
    sizes.copy += copy.length;
    // As the server does once its COPY ended: the next batch writes into the same memory.
    if (values.store) copies.push(copy);
    else releaseRawPacketCopy(copy);
  }
  const block = timed("column block", () => encodePacketColumnBlock(result.batch));
  timed("block zstd, node:zlib", () => compressWithNodeZlib(block, 1));
  timed("block zstd, libzstd", () => compressWithLibzstd(block, 1));
  sizes.body += body.length;
  sizes.arrow += bytes.length;
  sizes.block += block.length;
  if (sql && values.store) {
    await timedAsync("storeColumnarBatch", () =>
      storeColumnarBatch(sql, {
        agentId: "stages",
        idempotencyKey: `k${n++}`,
        bodySha256: "x",
        batch: result.batch,
      }));
  }
}
const rate = (ms: number) => Math.round(packets / (ms / 1000)).toLocaleString("en");
console.log(
  `${packets} packets in ${bodies.length} bodies; bytes per packet: ${
    Object.entries(sizes).map(([k, v]) => `${k} ${(v / packets).toFixed(1)}`).join(", ")
  }`,
);
console.log(`agent read+decode+batch+arrow+zstd: ${agentMs.toFixed(0)} ms, ${rate(agentMs)}/s`);
for (const [name, ms] of Object.entries(totals)) {
  console.log(`  ${name.padEnd(24)} ${ms.toFixed(0).padStart(7)} ms  ${rate(ms)}/s`);
}
if (sql && layout && values.store) {
  await sql`truncate raw_packets`;
  const started = performance.now();
  for (const copy of copies) {
    if (db!.pglite) {
      await db!.pglite.query(
        `copy raw_packets (${
          layout.columns.map((c) => `"${c}"`).join(", ")
        }) from '/dev/blob' with (format binary)`,
        [],
        { blob: new Blob([copy as Uint8Array<ArrayBuffer>]) },
      );
    } else {
      await sql.begin(async (tx) => {
        await tx`select set_config('traffic.ingest_batch_id', '1', true),
          set_config('traffic.ingest_agent_id', 'a', true)`;
        const stream = await openCopyIn(
          tx`copy raw_packets (${tx(layout.columns as string[])}) from stdin (format binary)`,
        );
        await stream.write(copy);
        await stream.end();
      });
    }
  }
  const ms = performance.now() - started;
  console.log(
    `  ${"plain COPY per batch".padEnd(24)} ${ms.toFixed(0).padStart(7)} ms  ${rate(ms)}/s`,
  );
}
if (values.keep && db) {
  console.log(`kept schema ${db.schema}`);
  Deno.exit(0);
}
await db?.close();
