/**
 * How much memory one large ingest body costs the server: starts the app on
 * a local port over a test database (PostgreSQL with `DATABASE_URL`, else
 * PGlite), POSTs 20,000-record bodies of full-size packets (70 MB of JSON)
 * with curl from another process, and prints the peak RSS each request added
 * (`VmHWM`, reset before each request through `/proc/self/clear_refs`).
 *
 * ```sh
 * DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
 *   deno run -A --v8-flags=--expose-gc server/bench/ingest_memory_probe.ts
 * ```
 *
 * @module
 */
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { createApp } from "../app.ts";

const RUNS = 3;
const peakRssMb = () =>
  Number(/VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))![1]) / 1024;
const rssMb = () => Deno.memoryUsage().rss / 2 ** 20;

const dir = await Deno.makeTempDir({ prefix: "ta-ingest-memory-" });
const db = await openTestDatabase();
const app = createApp({
  sql: db.sql,
  backend: db.kind,
  ingestTokens: ["probe-token"],
  limits: { maxBodyBytes: 1 << 28, maxDecompressedBytes: 1 << 28, maxBatchRecords: 100_000 },
});
const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
try {
  for (let run = 1; run <= RUNS; run++) {
    const file = `${dir}/body${run}.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify(sampleRecords(20_000, { dataBytes: 2200, seed: run })),
    );
    (globalThis as { gc?: () => void }).gc?.();
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    const before = rssMb();
    const started = performance.now();
    const out = await new Deno.Command("curl", {
      args: [
        ...["-s", "-o", "/dev/null", "-w", "%{http_code}"],
        ...["-H", "Authorization: Bearer probe-token", "-H", "Content-Type: application/json"],
        ...["--data-binary", `@${file}`, `http://127.0.0.1:${server.addr.port}/ingest_packets`],
      ],
    }).output();
    const sizeMb = (await Deno.stat(file)).size / 2 ** 20;
    console.log(
      `run ${run}: HTTP ${new TextDecoder().decode(out.stdout)}, body ${sizeMb.toFixed(1)} MB, ` +
        `RSS before ${before.toFixed(0)} MB, peak added ${(peakRssMb() - before).toFixed(0)} MB, ` +
        `${(performance.now() - started).toFixed(0)} ms`,
    );
  }
} finally {
  await server.shutdown();
  await db.close();
  await Deno.remove(dir, { recursive: true });
}
