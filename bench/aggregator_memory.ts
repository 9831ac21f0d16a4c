/**
 * The soak's aggregator without the soak (issue 15): the soak's traffic (the
 * looped capture of unique TCP conversations, faults/unique_capture.ts,
 * re-timed to `--pps`) stored as 5,000-packet batches of one live stream into
 * a throwaway PostgreSQL schema by a loader process, while THIS process runs
 * the real aggregator (startAggregator: the ONNX scorer in its worker, the
 * GeoIP/ASN enricher, COPY of new flows) pass after pass, as its loop does.
 * After every pass it prints one line: resident memory (and its peak during
 * the pass), V8 heap used and
 * total, external memory, the flow table's live and held flows and the size
 * of its saved state (run with `--v8-flags=--expose-gc` for the heap alive
 * after a full collection); `--snapshots DIR` writes V8 heap snapshots after the
 * first pass past each of the seconds `--snapshot-at` lists (summarise them with
 * bench/heap_snapshot_summary.ts). Each pass line also says the largest V8
 * heap, external memory and malloc arena seen within the pass (sampled every
 * 100 ms). `--backlog N` stores N packets from a fixed packet time before the
 * first pass, so every pass runs behind and two runs must write the same
 * rows: it prints the rate and CPU of the whole catch-up and a digest of the
 * flows, roll-ups and incidents written; `--behind-pass-packets` sets the
 * cap of a pass while behind.
 *
 * ```sh
 * DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
 *   deno run -A bench/aggregator_memory.ts --minutes 6 --pps 60000 --snapshots /tmp/snaps
 * ```
 *
 * Not a test and not a bench case: a tool to tell a leak from a working set.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { writeHeapSnapshot } from "node:v8";
import { loadConfig } from "@traffic-analyzer/shared";
import {
  limitIdleAndHoldIngestLockShared,
  migrate,
  openDatabase,
  type Sql,
} from "@traffic-analyzer/shared/db";
import { ColumnarBatchBuilder } from "../shared/packet/columnar_batch_builder.ts";
import { encodePacketColumnBlock } from "../shared/packet/packet_columns.ts";
import { compressPacketColumnBlock } from "../shared/packet/stored_packet_columns.ts";
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet";
import { startAggregator } from "../aggregator/start_aggregator.ts";
import { decodeCapture } from "../aggregator/bench/aggregator_bench.ts";
import { writeUniqueCapture } from "../faults/unique_capture.ts";

const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
/** The soak's agent batch size. */
const BATCH_PACKETS = 5_000;

const mb = (bytes: number) => Math.round(bytes / 1e6);

/** glibc's malloc statistics (all arenas) and `malloc_trim`, through FFI; null elsewhere. */
function openLibc() {
  try {
    const lib = Deno.dlopen(
      "libc.so.6",
      {
        mallinfo2: { parameters: [], result: { struct: Array(10).fill("usize") } },
        malloc_trim: { parameters: ["usize"], result: "i32" },
      } as const,
    );
    return {
      /** Bytes malloc holds from the system, in use by the program and free in its arenas. */
      mallinfo() {
        const view = new BigUint64Array(lib.symbols.mallinfo2().buffer);
        // arena + hblkhd: taken from the system; uordblks in use; fordblks free.
        return {
          held: Number(view[0] + view[4]),
          used: Number(view[7] + view[4]),
          free: Number(view[8]),
        };
      },
      trim: () => lib.symbols.malloc_trim(0n),
    };
  } catch {
    return null;
  }
}

/** Resets the peak RSS that /proc/self/status reports as VmHWM (Linux). */
function resetPeakRss(): void {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
  } catch { /* not Linux */ }
}

/** Peak RSS since the last {@link resetPeakRss}, bytes. */
function peakRss(): number | null {
  const match = Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+) kB/);
  return match ? Number(match[1]) * 1024 : null;
}

/**
 * SHA-256 of what the passes wrote (flows, roll-ups, incidents), without
 * the columns the database fills from its own clock or sequences.
 */
async function digestOutputs(sql: Sql): Promise<string> {
  const digests: string[] = [];
  for (
    const table of [
      "traffic_data",
      "dashboard_minute",
      "dashboard_class_minute",
      "dashboard_host_hour",
      "dashboard_service_hour",
      "dashboard_open_hour",
      "incidents",
      "incident_flows",
    ]
  ) {
    const rows: { row: string }[] = await sql`
      select (to_jsonb(t) - 'id' - 'created_at' - 'updated_at')::text as row
      from ${sql(table)} t order by 1`;
    const hash = createHash("sha256");
    for (const { row } of rows) hash.update(row + "\n");
    digests.push(`${table} ${rows.length} ${hash.digest("hex").slice(0, 16)}`);
  }
  return digests.join(", ");
}

/** Anonymous resident memory (RssAnon of /proc/self/status), bytes. */
function rssAnon(): number | null {
  const match = Deno.readTextFileSync("/proc/self/status").match(/RssAnon:\s+(\d+) kB/);
  return match ? Number(match[1]) * 1024 : null;
}

/**
 * Stores a batch as the server does, but only its packet column block (what
 * a pass reads), not its `raw_packets` rows: the rows cost the loader most
 * of its time and the aggregator nothing.
 */
async function storeBlockOnly(sql: Sql, records: PacketRecord[], sequence: number) {
  const builder = new ColumnarBatchBuilder(records.length);
  for (const record of records) builder.appendRecord(record);
  const block = compressPacketColumnBlock(encodePacketColumnBlock(builder.build()));
  const key = `mem-${sequence}`;
  await sql.begin(async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    await limitIdleAndHoldIngestLockShared(tx);
    const [{ id }]: [{ id: number }] = await tx`
      insert into ingest_batches
        (agent_id, idempotency_key, record_count, body_sha256, stream, sequence)
      values ('soak', ${key}, ${records.length}, ${key}, 'live-soak', ${sequence})
      returning id`;
    await tx`insert into batch_packet_columns (batch_id, block) values (${id}, ${block})`;
  });
}

/**
 * Packet time of the first packet of a `--backlog` run: fixed, so that two
 * runs over the same backlog must write the same rows.
 */
const BACKLOG_START_SEC = 1_780_000_000;

/**
 * Stores the looped capture at `pps` until `seconds` have passed, or, with
 * `backlog`, that many packets as fast as it can from a fixed packet time.
 */
async function load(
  url: string,
  capturePath: string,
  pps: number,
  wallPps: number,
  seconds: number,
  backlog: number | null,
) {
  const template: PacketRecord[] = [];
  for await (const chunk of decodeCapture(capturePath, { payloadCapture: "full" })) {
    for (const record of chunk) template.push(record);
  }
  const db = await openDatabase({ databaseUrl: url, poolSize: 2 });
  const started = Date.now();
  const startSec = backlog === null ? started / 1000 : BACKLOG_START_SEC;
  let sequence = 0;
  const inFlight = new Set<Promise<unknown>>();
  while (backlog === null ? Date.now() - started < seconds * 1000 : sequence < backlog) {
    // Packet time runs at `pps` from the start; the loader sleeps when ahead.
    const aheadMs = backlog === null ? (sequence / wallPps) * 1000 - (Date.now() - started) : 0;
    if (aheadMs > 0) await new Promise((resolve) => setTimeout(resolve, aheadMs));
    const records: PacketRecord[] = [];
    for (let i = 0; i < BATCH_PACKETS; i++) {
      const n = sequence + i;
      records.push({ ...template[n % template.length], timestamp: startSec + n / pps });
    }
    const storing = storeBlockOnly(db.sql, records, sequence);
    sequence += BATCH_PACKETS;
    inFlight.add(storing);
    storing.finally(() => inFlight.delete(storing)).catch(() => {});
    if (inFlight.size >= 2) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await db.close();
  console.log(
    `loader: ${sequence} packets in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      role: { type: "string", default: "aggregate" },
      url: { type: "string" },
      capture: { type: "string" },
      minutes: { type: "string", default: "6" },
      pps: { type: "string", default: "60000" },
      "wall-pps": { type: "string" },
      trim: { type: "boolean", default: false },
      "no-release": { type: "boolean", default: false },
      interval: { type: "string", default: "5" },
      snapshots: { type: "string" },
      "snapshot-at": { type: "string", default: "" },
      out: { type: "string" },
      "no-drain": { type: "boolean", default: false },
      backlog: { type: "string" },
      "behind-pass-packets": { type: "string" },
    },
  });
  const minutes = Number(values.minutes);
  const pps = Number(values.pps);
  const wallPps = Number(values["wall-pps"] ?? pps);
  const backlog = values.backlog === undefined ? null : Number(values.backlog);
  if (values.role === "load") {
    await load(values.url!, values.capture!, pps, wallPps, minutes * 60, backlog);
    return;
  }
  const baseUrl = Deno.env.get("DATABASE_URL") || DEFAULT_DATABASE_URL;
  const schema = await createTestSchema(baseUrl);
  console.log(`schema ${schema.schema}`);
  const libc = openLibc();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  const dir = await Deno.makeTempDir({ prefix: "aggregator_memory_" });
  const capture = await writeUniqueCapture(`${dir}/soak.pcap`, { flows: 2000 });
  const snapshotAt = new Set(
    values["snapshot-at"].split(",").filter((s) => s !== "").map(Number),
  );
  const out = values.out ? await Deno.open(values.out, { write: true, create: true }) : null;
  let loader: Deno.ChildProcess | null = null;
  const db = await openDatabase({ databaseUrl: schema.url, poolSize: 2 });
  try {
    await migrate(db.sql);
    const { config } = loadConfig({
      args: [],
      env: {
        DATABASE_URL: schema.url,
        AGGREGATE_INTERVAL: `${values.interval}s`,
        LOG_LEVEL: "warning",
      },
    });
    const aggregator = await startAggregator(config, {
      sql: db.sql,
      loop: false,
      // --no-release: as before issue 15's fix, no collection or trim after a pass.
      releaseMemory: values["no-release"] ? null : undefined,
      maxBehindPassPackets: values["behind-pass-packets"] === undefined
        ? undefined
        : Number(values["behind-pass-packets"]),
    });
    loader = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        import.meta.filename!,
        "--role",
        "load",
        "--url",
        schema.url,
        "--capture",
        capture.path,
        "--minutes",
        String(minutes),
        "--pps",
        String(pps),
        "--wall-pps",
        String(wallPps),
        ...(backlog === null ? [] : ["--backlog", String(backlog)]),
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    let loaderDone = false;
    loader.status.then(() => loaderDone = true);
    // --backlog: every pass runs behind, over the same packets each run.
    if (backlog !== null) await loader.status;
    const started = Date.now();
    const cpuStarted = cpuUsage();
    console.log(
      "   t_s pass packets  pass_ms  rss_mb peak_mb anon_mb heap_used heap_total external " +
        "malloc_held malloc_free live_flows held_flows state_kb behind",
    );
    // For the summary: the run as a whole, from the first pass to the last.
    let aggregated = 0;
    let runPeakRss = 0;
    let maxHeapAfter = 0;
    let lastBehind = 0;
    for (let pass = 1;; pass++) {
      resetPeakRss();
      // What makes the peak within the pass: V8's heap, or memory outside it.
      const within = { heapTotal: 0, external: 0, malloc: 0 };
      const sampling = setInterval(() => {
        const now = Deno.memoryUsage();
        within.heapTotal = Math.max(within.heapTotal, now.heapTotal);
        within.external = Math.max(within.external, now.external);
        within.malloc = Math.max(within.malloc, libc?.mallinfo().held ?? 0);
      }, 100);
      const result = await aggregator.service.runOnce();
      clearInterval(sampling);
      const peak = peakRss();
      // With --v8-flags=--expose-gc: the heap the pass left alive, not its garbage.
      (globalThis as { gc?: () => void }).gc?.();
      const memory = Deno.memoryUsage();
      const malloc = libc?.mallinfo() ?? null;
      const anon = rssAnon();
      const table = result.cache?.table;
      const [{ bytes }]: [{ bytes: number | null }] = await db.sql`
        select length(flow_table_state) as bytes from aggregator_progress where id = 1`;
      // Batches stored and not yet aggregated: how far the aggregator is behind.
      const [{ behind }]: [{ behind: number }] = await db.sql`
        select count(*)::int as behind from ingest_batches b, aggregator_progress p
        where p.id = 1 and b.id > p.last_batch_id and not b.aggregated`;
      const line = {
        t: (Date.now() - started) / 1000,
        pass,
        packets: result.packets,
        passMs: Math.round(result.durationMs),
        rss: memory.rss,
        peakRss: peak,
        rssAnon: anon,
        mallocHeld: malloc?.held ?? null,
        mallocFree: malloc?.free ?? null,
        heapUsed: memory.heapUsed,
        heapTotal: memory.heapTotal,
        external: memory.external,
        liveFlows: table?.size ?? null,
        heldFlows: table?.uids().size ?? null,
        stateBytes: bytes,
        behind,
      };
      out?.write(new TextEncoder().encode(JSON.stringify(line) + "\n"));
      aggregated += result.packets;
      runPeakRss = Math.max(runPeakRss, peak ?? 0);
      maxHeapAfter = Math.max(maxHeapAfter, memory.heapUsed);
      lastBehind = behind;
      console.log(
        [
          line.t.toFixed(0).padStart(6),
          String(pass).padStart(4),
          String(line.packets).padStart(8),
          String(line.passMs).padStart(8),
          String(mb(line.rss)).padStart(7),
          String(mb(peak ?? 0)).padStart(7),
          String(mb(anon ?? 0)).padStart(7),
          String(mb(line.heapUsed)).padStart(9),
          String(mb(line.heapTotal)).padStart(10),
          String(mb(line.external)).padStart(8),
          String(mb(malloc?.held ?? 0)).padStart(11),
          String(mb(malloc?.free ?? 0)).padStart(11),
          String(line.liveFlows).padStart(10),
          String(line.heldFlows).padStart(10),
          String(Math.round((bytes ?? 0) / 1000)).padStart(8),
          String(behind).padStart(6),
          `within: heap_total ${mb(within.heapTotal)} external ${mb(within.external)} ` +
          `malloc_held ${mb(within.malloc)}`,
        ].join(" "),
      );
      const due = [...snapshotAt].filter((at) => line.t >= at);
      if (values.snapshots && due.length > 0) {
        for (const at of due) snapshotAt.delete(at);
        await Deno.mkdir(values.snapshots, { recursive: true });
        const path = `${values.snapshots}/pass_${pass}.heapsnapshot`;
        console.log(`snapshot: ${writeHeapSnapshot(path)}`);
      }
      if (values.trim && libc !== null) {
        libc.trim();
        console.log(`  after malloc_trim(0): rss ${mb(Deno.memoryUsage().rss)} MB`);
      }
      if (stop.signal.aborted || (loaderDone && !result.more && result.packets === 0)) break;
      // --no-drain: stop with the loader, reporting how far behind the aggregator was.
      if (values["no-drain"] && loaderDone) break;
      if (!result.more) {
        await new Promise((resolve) => setTimeout(resolve, config.aggregateIntervalMs));
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const cpu = cpuUsage(cpuStarted);
    console.log(
      `summary: ${aggregated} packets aggregated in ${seconds.toFixed(0)} s ` +
        `(${
          Math.round(aggregated / seconds)
        } packets/s), ${lastBehind} batches behind at the end, ` +
        `peak RSS ${mb(runPeakRss)} MB, largest heap after a pass ${mb(maxHeapAfter)} MB, ` +
        `CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (this process)`,
    );
    if (backlog !== null) console.log(`outputs: ${await digestOutputs(db.sql)}`);
    await aggregator.stop();
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    try {
      loader?.kill();
    } catch { /* ended */ }
    await loader?.status;
    out?.close();
    await db.close();
    await schema.drop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  await main(Deno.args);
}
