/**
 * Ingest bench: batches of 500 realistic records POSTed (gzip, as the agent
 * sends them) to a real server process over HTTP, on PostgreSQL and on PGlite,
 * next to a `COPY` of the same rows into the same table measured in the same
 * run. Prints records/s and the ratio to COPY.
 *
 * Run with `deno task bench`; options: `--records N` (default 200000),
 * `--concurrency N` (default 4 senders, like several agents), `--backends
 * postgres,pglite` (default both), `--server-cpu-prof DIR` (a V8 CPU profile
 * of each server, written when it stops). Each result line also gives the
 * server's CPU seconds (user + system, `/proc/<pid>/stat`) over the timed
 * sends, per 1,000 records, and the load average.
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { loadConfig } from "@traffic-analyzer/shared";
import { ensureRawPacketPartitions, openDatabase } from "@traffic-analyzer/shared/db";
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import { freePort, sampleRecords } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import { PACKET_FIELDS } from "@traffic-analyzer/shared/packet/schema";
import { loadAverageText, processCpuSeconds } from "../../bench/proc_stat.ts";

const BATCH = 500;
const { flags } = loadConfig({
  env: {},
  args: Deno.args,
  extraFlags: [
    { name: "records", type: "string", help: "records per backend" },
    { name: "concurrency", type: "string", help: "parallel senders" },
    { name: "backends", type: "string", help: "postgres,pglite" },
    { name: "server-cpu-prof", type: "string", help: "directory for the servers' CPU profiles" },
  ],
});
const totalRecords = Number(flags.records ?? 200_000);
const concurrency = Number(flags.concurrency ?? 4);
const wantedBackends = new Set(String(flags.backends ?? "postgres,pglite").split(","));
const cpuProfileDir = flags["server-cpu-prof"] as string | undefined;
const pgUrl = Deno.env.get("DATABASE_URL") || "postgres://postgres@127.0.0.1:5432/test";

async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`);
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server at ${url} did not become healthy`);
}

// Every field of the wire record, in the schema's order.
const COPY_COLUMNS: readonly (keyof PacketRecord)[] = PACKET_FIELDS.map((f) => f.name);

function copyLine(record: PacketRecord, batchId: number): string {
  const cells = [String(batchId), "bench"];
  for (const column of COPY_COLUMNS) {
    const value = record[column];
    if (value === null) cells.push("\\N");
    else if (column === "data") {
      const bytes = Uint8Array.from(atob(value as string), (c) => c.charCodeAt(0));
      cells.push("\\\\x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""));
    } else cells.push(String(value));
  }
  return cells.join("\t") + "\n";
}

async function benchCopy(databaseUrl: string | null, records: PacketRecord[][]): Promise<number> {
  const db = await openDatabase({ databaseUrl, poolSize: 1 });
  try {
    if (!databaseUrl) {
      const { migrate } = await import("@traffic-analyzer/shared/db");
      await migrate(db.sql);
    }
    await ensureRawPacketPartitions(db.sql, Date.now());
    const lines = records.flatMap((batch, i) => batch.map((r) => copyLine(r, i + 1)));
    const columns: string[] = ["batch_id", "agent_id", ...COPY_COLUMNS];
    const started = performance.now();
    if (db.pglite) {
      // PGlite's socket server does not carry COPY FROM STDIN; its own API reads a blob.
      await db.pglite.query(
        `copy raw_packets (${columns.map((c) => `"${c}"`).join(", ")}) from '/dev/blob'`,
        [],
        { blob: new Blob([lines.join("")]) },
      );
    } else {
      const writable = await db.sql`
        copy raw_packets (${db.sql(columns)}) from stdin`.writable();
      await pipeline(Readable.from(lines, { objectMode: false }), writable);
    }
    const seconds = (performance.now() - started) / 1000;
    return lines.length / seconds;
  } finally {
    await db.close();
  }
}

async function benchHttp(
  name: string,
  env: Record<string, string>,
  batches: Uint8Array[],
): Promise<{ rate: number; serverCpu: number }> {
  const port = freePort();
  const dataDir = await Deno.makeTempDir({ prefix: "ta-bench-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfileDir}`] : []),
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "--allow-read",
      "--allow-write",
      new URL("../main.ts", import.meta.url).pathname,
      "--no-aggregate",
    ],
    env: {
      ...env,
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_DIR: `${dataDir}/logs`,
      LOG_LEVEL: "warning",
      INGEST_TOKENS: "bench-token",
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, 60_000);
    let next = 0;
    const send = async () => {
      while (next < batches.length) {
        const i = next++;
        const res = await fetch(`${url}/ingest_packets`, {
          method: "POST",
          headers: {
            authorization: "Bearer bench-token",
            "content-type": "application/json",
            "content-encoding": "gzip",
            "idempotency-key": `bench-${name}-${i}`,
          },
          body: batches[i] as Uint8Array<ArrayBuffer>,
        });
        if (res.status !== 201) {
          throw new Error(`batch ${i}: HTTP ${res.status} ${await res.text()}`);
        }
        await res.body?.cancel();
      }
    };
    const cpuBefore = await processCpuSeconds(child.pid);
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, send));
    const rate = batches.length * BATCH / ((performance.now() - started) / 1000);
    const cpuAfter = await processCpuSeconds(child.pid);
    return {
      rate,
      serverCpu: cpuBefore === null || cpuAfter === null ? NaN : cpuAfter - cpuBefore,
    };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dataDir, { recursive: true });
  }
}

if (import.meta.main) {
  const records = Array.from(
    { length: Math.ceil(totalRecords / BATCH) },
    (_, i) => sampleRecords(BATCH, { seed: i + 1, dataBytes: 64 }),
  );
  const batches = records.map((batch) => new Uint8Array(gzipSync(JSON.stringify(batch))));
  console.log(
    `ingest: ${batches.length} batches of ${BATCH} records (64 captured bytes each), ` +
      `gzip, ${concurrency} concurrent senders`,
  );
  const rows: string[] = [];
  const backends: { name: string; url: string | null }[] = [];
  try {
    const probe = await openDatabase({ databaseUrl: pgUrl, poolSize: 1 });
    await probe.sql`select 1`;
    await probe.close();
    backends.push({ name: "postgres", url: pgUrl });
  } catch (error) {
    console.log(`ingest: PostgreSQL at ${pgUrl} unreachable, skipped (${error})`);
  }
  backends.push({ name: "pglite", url: null });
  for (let i = backends.length - 1; i >= 0; i--) {
    if (!wantedBackends.has(backends[i].name)) backends.splice(i, 1);
  }
  for (const backend of backends) {
    const schema = backend.url ? await createTestSchema(backend.url) : null;
    try {
      const env: Record<string, string> = schema ? { DATABASE_URL: schema.url } : {};
      const { rate: http, serverCpu } = await benchHttp(backend.name, env, batches);
      const load = loadAverageText();
      let copy: number;
      if (schema) {
        copy = await benchCopy(schema.url, records);
      } else {
        copy = await benchCopy(null, records);
      }
      rows.push(
        `ingest ${backend.name.padEnd(8)} HTTP ${
          Math.round(http).toLocaleString("en")
        } records/s, ` +
          `COPY ${Math.round(copy).toLocaleString("en")} records/s, ratio ${
            (http / copy).toFixed(2)
          }, server CPU ${serverCpu.toFixed(2)} s (${
            (serverCpu / (batches.length * BATCH) * 1e6).toFixed(1)
          } µs a record), load ${load}`,
      );
      console.log(rows.at(-1));
    } finally {
      await schema?.drop();
    }
  }
}
