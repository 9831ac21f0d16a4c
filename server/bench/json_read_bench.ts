/**
 * The server's stages of a JSON ingest body, in one process, on the ingest
 * bench's batches (500 records, 64 captured bytes each, gzip): gunzip,
 * SHA-256, the UTF-8 check, then the body into columns by the general path
 * (decode, `JSON.parse`, `readJsonBatch`) and by `scanJsonBatch`, alternated
 * round by round, then the column block. Prints CPU µs a record
 * (`process.cpuUsage`, user + system) per stage and round, and the load
 * average.
 *
 * Usage: `deno run -A server/bench/json_read_bench.ts [--batches N] [--rounds N]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { gunzipSync, gzipSync } from "node:zlib";
import { readJsonBatch, scanJsonBatch } from "@traffic-analyzer/shared/packet";
import { encodePacketColumnBlock } from "../../shared/packet/packet_columns.ts";
import { compressPacketColumnBlock } from "../../shared/packet/stored_packet_columns.ts";
import { sampleRecords } from "@traffic-analyzer/shared/testing";

const BATCH = 500;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    batches: { type: "string", default: "80" },
    rounds: { type: "string", default: "5" },
  },
});
const batchCount = Number(values.batches);
const rounds = Number(values.rounds);
const records = batchCount * BATCH;

const gzipped = Array.from(
  { length: batchCount },
  (_, i) =>
    new Uint8Array(gzipSync(JSON.stringify(sampleRecords(BATCH, { seed: i + 1, dataBytes: 64 })))),
);
const bodies = gzipped.map((body) => new Uint8Array(gunzipSync(body)));
const decoder = new TextDecoder();

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function timed(run: () => void): number {
  const before = cpuMicros();
  run();
  return (cpuMicros() - before) / records;
}

const stages: Record<string, () => void> = {
  gunzip: () => gzipped.forEach((body) => gunzipSync(body)),
  sha256: () => bodies.forEach((body) => createHash("sha256").update(body).digest("hex")),
  isUtf8: () => bodies.forEach((body) => isUtf8(body)),
  general: () =>
    bodies.forEach((body) => {
      const result = readJsonBatch(JSON.parse(decoder.decode(body)));
      if (!result.ok) throw new Error("general path refused a bench batch");
    }),
  scan: () =>
    bodies.forEach((body) => {
      if (scanJsonBatch(body, { maxRecords: BATCH }) === null) {
        throw new Error("scanJsonBatch left a bench batch to the general path");
      }
    }),
  block: () =>
    bodies.forEach((body) =>
      compressPacketColumnBlock(
        encodePacketColumnBlock(scanJsonBatch(body, { maxRecords: BATCH })!),
      )
    ),
};

const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
console.log(`${batchCount} batches of ${BATCH}, ${rounds} rounds, load ${load()}`);
// Warm-up: every stage once, so the rounds time optimised code.
for (const run of Object.values(stages)) run();
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ["general", "scan"] : ["scan", "general"];
  const line = [...order, "gunzip", "sha256", "isUtf8", "block"].map((name) =>
    `${name} ${timed(stages[name]).toFixed(2)}`
  );
  console.log(`round ${round + 1}: ${line.join(", ")} µs a record (load ${load()})`);
}
