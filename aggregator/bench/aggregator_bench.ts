/**
 * The aggregator's part of `deno task bench`, one case per run:
 *
 * - `--case stream --file F [--repeats N] [--merge-batch N]`: the capture
 *   file to flows in one stream (read, decode, merge a slice at a time,
 *   nothing kept), CPU time, as a flow meter reading the file runs; and of
 *   it the flow table's own calls as an aggregation pass makes them
 *   (`mergeEnded()` of 8,192 packets a call, a `sweep()`, one
 *   `takeChanged()` of the live flows, `drain()`), each call's records let
 *   go as a pass lets them go once written.
 * - `--case flows --file F [--model M] [--repeats N] [--merge-batch N]`:
 *   decodes the capture into records first, merges them all keeping every
 *   flow record (timed: what holding them costs), then builds every flow's
 *   feature vector and times scoring them through the ONNX scorer (skipped
 *   without a model).
 * - `--case pass --file F --packets N [--model M]`: stores the first N
 *   packets of the capture in a fresh schema of PostgreSQL (`DATABASE_URL`)
 *   with `storePacketBatch`, untimed, then times ONE `runAggregationPass`
 *   over all of them with the real scorer. Skipped without a model or a
 *   reachable PostgreSQL; the schema is dropped afterwards.
 *
 * Prints what it measures, then one `BENCH_METRICS {...}` line for the
 * harness (bench/bench_metrics.ts).
 *
 * ```sh
 * deno run --allow-read --allow-ffi --allow-env --allow-sys \
 *   aggregator/bench/aggregator_bench.ts --case flows --file data/bench/traffic_1500000.pcap
 * deno run --allow-read --allow-ffi --allow-env --allow-sys --allow-net \
 *   aggregator/bench/aggregator_bench.ts --case pass --file data/bench/traffic_1500000.pcap --packets 1500000
 * ```
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { getHeapStatistics } from "node:v8";
import { migrate, openDatabase, type Sql, storePacketBatch } from "@traffic-analyzer/shared/db";
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import {
  FEATURE_NAMES,
  FEATURE_VERSION,
  flowFeatureVector,
  type FlowRecord,
  FlowTable,
} from "@traffic-analyzer/shared/flow";
import {
  type DecodeOptions,
  decodePacket,
  type PacketRecord,
  type PayloadCapture,
} from "@traffic-analyzer/shared/packet";
import { readCaptureBatches } from "@traffic-analyzer/shared/pcap";
import { configDefault } from "@traffic-analyzer/shared/config";
import { loadFlowExplainer } from "@traffic-analyzer/shared/explain";
import { type PassStep, runAggregationPass } from "../aggregation_pass.ts";
import { loadFlowScorer, loadFlowScorerInWorker, type OnnxFlowScorer } from "../scorer/mod.ts";

/** Prefix of the line the harness reads (bench/bench_metrics.ts). */
const BENCH_METRICS_PREFIX = "BENCH_METRICS ";
/** Where `deno task bench` and the tests look for PostgreSQL when DATABASE_URL is unset. */
const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
/** Records per stored batch when loading: five agent batches of the default size. */
const LOAD_BATCH_RECORDS = 500;
/** Batches stored at once when loading, like several agents. */
const LOAD_CONCURRENCY = 4;

type Metrics = Record<string, number | string | boolean | null>;

function cpuSeconds(): number {
  const { user, system } = cpuUsage();
  return (user + system) / 1e6;
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/**
 * Streams the records of the first `maxPackets` frames of a capture, in
 * batches, decoded as the agent decodes them.
 */
export async function* decodeCapture(
  path: string,
  options: { maxPackets?: number; payloadCapture: PayloadCapture },
): AsyncGenerator<PacketRecord[]> {
  const maxPackets = options.maxPackets ?? Infinity;
  const decodeOptions: DecodeOptions = {
    linkType: 0,
    timestampSec: 0,
    wireLength: 0,
    interfaceName: path.split("/").pop() ?? path,
    payloadCapture: options.payloadCapture,
  };
  let taken = 0;
  for await (const batch of readCaptureBatches(path)) {
    const records: PacketRecord[] = [];
    for (const frame of batch) {
      if (taken === maxPackets) break;
      decodeOptions.linkType = frame.linkType;
      decodeOptions.timestampSec = frame.timestampSec;
      decodeOptions.wireLength = frame.wireLength;
      records.push(decodePacket(frame.data, decodeOptions));
      taken++;
    }
    if (records.length > 0) yield records;
    if (taken === maxPackets) return;
  }
}

/**
 * The flows of `records`, merged `batchSize` packets at a time and drained,
 * with the CPU time it took. It calls the table as an aggregation pass does
 * (aggregator/aggregation_pass.ts): `mergeEnded()` per slice, a `sweep()`
 * at the last packet and one `takeChanged()` snapshot of the live flows,
 * which the pass writes. Until 4 December it called `merge()`, which
 * snapshots every changed live flow at each call: work the pass does once,
 * not once per slice (3–6 % of the process in profiles of this case).
 */
export function assembleFlows(records: readonly PacketRecord[], batchSize: number): {
  /** Every flow record the table reported, kept to the end. */
  flows: FlowRecord[];
  /** Live flows snapshotted by the `takeChanged()` before the drain. */
  snapshots: number;
  cpuSec: number;
  wallSec: number;
} {
  const cpuStart = cpuSeconds();
  const wallStart = performance.now();
  const table = new FlowTable();
  // Appended in place: `flows = flows.concat(ended)` copied every flow so far
  // at each call, quadratic, and at 400k flows it took most of the time.
  const flows: FlowRecord[] = [];
  const keep = (ended: readonly FlowRecord[]) => {
    for (let i = 0; i < ended.length; i++) flows.push(ended[i]);
  };
  for (let i = 0; i < records.length; i += batchSize) {
    keep(table.mergeEnded(records.slice(i, i + batchSize)));
  }
  keep(table.sweep());
  const snapshots = table.takeChanged().length;
  keep(table.drain());
  return {
    flows,
    snapshots,
    cpuSec: cpuSeconds() - cpuStart,
    wallSec: (performance.now() - wallStart) / 1000,
  };
}

/**
 * Capture file to flows in one stream, as a flow meter runs: each slice of
 * `batchSize` decoded records merged and let go, the flows each call reports
 * counted and let go. CPU time in all, like argus's and nfpcapd's on the
 * same file, and of the table's calls alone (`mergeEnded()`, `sweep()`,
 * `takeChanged()`, `drain()`, with the garbage collections they set off).
 */
export async function fileToFlows(
  path: string,
  options: { maxPackets?: number; batchSize: number },
): Promise<{ packets: number; flowCount: number; cpuSec: number; mergeCpuSec: number }> {
  const cpuStart = cpuSeconds();
  const table = new FlowTable();
  let packets = 0;
  let flowCount = 0;
  let mergeCpuSec = 0;
  /** Runs calls of the table that return the flows they report, timing them. */
  const timed = (calls: () => number) => {
    const started = cpuSeconds();
    flowCount += calls();
    mergeCpuSec += cpuSeconds() - started;
  };
  let slice: PacketRecord[] = [];
  for await (
    const batch of decodeCapture(path, { maxPackets: options.maxPackets, payloadCapture: "none" })
  ) {
    for (const record of batch) slice.push(record);
    packets += batch.length;
    if (slice.length >= options.batchSize) {
      timed(() => table.mergeEnded(slice).length);
      slice = [];
    }
  }
  timed(() => {
    let reported = slice.length > 0 ? table.mergeEnded(slice).length : 0;
    reported += table.sweep().length;
    table.takeChanged();
    return reported + table.drain().length;
  });
  return { packets, flowCount, cpuSec: cpuSeconds() - cpuStart, mergeCpuSec };
}

async function modelSkipReason(modelPath: string): Promise<string | null> {
  try {
    await Deno.stat(modelPath);
    return null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return `no model at ${modelPath} (run deno task train)`;
    }
    throw error;
  }
}

async function openScorer(modelPath: string, inWorker = false): Promise<OnnxFlowScorer> {
  return await (inWorker ? loadFlowScorerInWorker : loadFlowScorer)({
    modelPath,
    expectedFeatureNames: FEATURE_NAMES,
    expectedFeatureVersion: FEATURE_VERSION,
  });
}

/**
 * Flow assembly as a pass runs it, and the capture file to flows, in one
 * stream per run (see {@linkcode fileToFlows}), in a process of its own as
 * argus and nfpcapd run. Not over the whole capture decoded first and held:
 * its 1.7 M records made each garbage collection that fell in a timed merge
 * mark them all, and the same merge took 1.8 s of CPU in one run and 3.2 s
 * in the next (5 December 2026), where merging in the stream took 2.0–2.3 s
 * run after run.
 */
async function streamCase(
  path: string,
  repeats: number,
  maxPackets: number | undefined,
  mergeBatch: number,
): Promise<Metrics> {
  let best: Awaited<ReturnType<typeof fileToFlows>> | null = null;
  let bestMergeCpuSec = Infinity;
  for (let i = 0; i < repeats; i++) {
    const run = await fileToFlows(path, { maxPackets, batchSize: mergeBatch });
    console.log(
      `capture file to flows run ${i + 1}/${repeats}, one stream: ${run.flowCount} flows from ` +
        `${run.packets} packets in ${run.cpuSec.toFixed(2)} s CPU ` +
        `(${fmt(run.packets / run.cpuSec)} packets/s), of it the flow table's calls ` +
        `${run.mergeCpuSec.toFixed(2)} s (${fmt(run.packets / run.mergeCpuSec)} packets/s)`,
    );
    if (best === null || run.cpuSec < best.cpuSec) best = run;
    bestMergeCpuSec = Math.min(bestMergeCpuSec, run.mergeCpuSec);
  }
  return {
    packets: best!.packets,
    flows: best!.flowCount,
    file_to_flows_cpu_s: best!.cpuSec,
    file_to_flows_pps: best!.packets / best!.cpuSec,
    merge_cpu_s: bestMergeCpuSec,
    merge_pps: best!.packets / bestMergeCpuSec,
    merge_batch: mergeBatch,
  };
}

async function flowsCase(
  path: string,
  modelPath: string,
  repeats: number,
  maxPackets: number | undefined,
  mergeBatch: number,
): Promise<Metrics> {
  const records: PacketRecord[] = [];
  const decodeCpuStart = cpuSeconds();
  for await (const batch of decodeCapture(path, { maxPackets, payloadCapture: "none" })) {
    for (const record of batch) records.push(record);
  }
  const decodeCpuSec = cpuSeconds() - decodeCpuStart;
  console.log(
    `decoded ${records.length} packets in ${decodeCpuSec.toFixed(2)} s CPU (kept in memory)`,
  );

  // Every record kept: the scoring below needs them, and what holding them
  // all costs is printed beside the row (the stream case times the merge).
  const kept = assembleFlows(records, mergeBatch);
  console.log(
    `flow assembly keeping all ${kept.flows.length} records from ${records.length} packets ` +
      `(${kept.snapshots} live flows snapshotted before the drain): ${kept.cpuSec.toFixed(2)} s ` +
      `CPU (${kept.wallSec.toFixed(2)} s wall): ${fmt(records.length / kept.cpuSec)} packets/s`,
  );
  const metrics: Metrics = {
    packets: records.length,
    decode_cpu_s: decodeCpuSec,
    merge_kept_cpu_s: kept.cpuSec,
    merge_kept_pps: records.length / kept.cpuSec,
    merge_batch: mergeBatch,
    flows: kept.flows.length,
  };

  const skipped = await modelSkipReason(modelPath);
  if (skipped !== null) {
    console.log(`scoring skipped: ${skipped}`);
    return { ...metrics, score_skipped: skipped };
  }
  const flows = kept.flows;
  records.length = 0;
  const vectorStart = performance.now();
  // Without a context argument: the record's own, written without making its object.
  const vectors = flows.map((flow) => flowFeatureVector(flow));
  const vectorSec = (performance.now() - vectorStart) / 1000;
  const scorer = await openScorer(modelPath);
  try {
    await scorer.score(vectors.slice(0, 1000));
    let bestSec = Infinity;
    for (let i = 0; i < repeats; i++) {
      const started = performance.now();
      const scores = await scorer.score(vectors);
      const seconds = (performance.now() - started) / 1000;
      if (scores.length !== vectors.length) {
        throw new Error(`the scorer answered ${scores.length} of ${vectors.length} flows`);
      }
      console.log(
        `scoring run ${i + 1}/${repeats}: ${vectors.length} flows in ${seconds.toFixed(2)} s: ` +
          `${fmt(vectors.length / seconds)} flows/s (model ${scorer.modelVersion})`,
      );
      bestSec = Math.min(bestSec, seconds);
    }
    const scores = await scorer.score(vectors);
    return {
      ...metrics,
      score_fps: vectors.length / bestSec,
      score_wall_s: bestSec,
      vector_fps: vectors.length / vectorSec,
      model_version: scorer.modelVersion,
      ...await explainMetrics(modelPath, vectors, scores.map((s) => s.score), repeats),
    };
  } finally {
    await scorer.close();
  }
}

/** Most alerted flows explained per timing run: enough for a stable mean. */
const EXPLAIN_SAMPLE = 2000;

/**
 * Times exact TreeSHAP (the top five contributions, as the aggregator stores
 * them) per flow scored at least the default ALERT_MIN_SCORE, on one core.
 * Should the capture alert on too few flows, it explains the first flows
 * instead: the cost depends on the trees, hardly on the score.
 */
async function explainMetrics(
  modelPath: string,
  vectors: Float32Array[],
  scores: number[],
  repeats: number,
): Promise<Metrics> {
  const sidecar = JSON.parse(await Deno.readTextFile(modelPath.replace(/\.onnx$/, ".json")));
  const explainer = await loadFlowExplainer(modelPath, {
    featureNames: sidecar.featureNames,
    onnxSha256: sidecar.onnxSha256,
  });
  if (explainer === null) return { explain_skipped: `no tree covers beside ${modelPath}` };
  const minScore = configDefault("alertMinScore");
  const alerted = vectors.filter((_, i) => scores[i] >= minScore);
  const sample = (alerted.length >= 100 ? alerted : vectors).slice(0, EXPLAIN_SAMPLE);
  for (const v of sample.slice(0, 100)) explainer.top(v);
  let bestSec = Infinity;
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    for (const v of sample) explainer.top(v);
    bestSec = Math.min(bestSec, (performance.now() - started) / 1000);
  }
  console.log(
    `TreeSHAP: ${sample.length} flows in ${bestSec.toFixed(2)} s: ` +
      `${(bestSec / sample.length * 1e6).toFixed(0)} µs per flow; ` +
      `${alerted.length} of ${vectors.length} flows scored >= ${minScore}`,
  );
  return {
    explain_fps: sample.length / bestSec,
    explain_flows: sample.length,
    explain_alerted_flows: alerted.length,
    explain_alerted_sample: alerted.length >= 100,
    explain_min_score: minScore,
  };
}

async function postgresSkipReason(url: string): Promise<string | null> {
  try {
    const probe = await openDatabase({ databaseUrl: url, poolSize: 1 });
    try {
      await probe.sql`select 1`;
    } finally {
      await probe.close();
    }
    return null;
  } catch (error) {
    return `PostgreSQL at ${new URL(url).host} unreachable (${(error as Error).message})`;
  }
}

/**
 * CPU seconds (user + system) the PostgreSQL backends `pids` have used, from
 * their /proc stat files, which the server reads for us (`pg_read_file`, the
 * bench's superuser may): Deno lets only `--allow-all` read another
 * process's /proc files. Null when they cannot be read (no /proc, a role
 * without the right).
 */
async function backendCpuSeconds(sql: Sql, pids: readonly number[]): Promise<number | null> {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      [{ stat }] = await sql<{ stat: string }[]>`
        select pg_read_file(${`/proc/${pid}/stat`}::text) as stat`;
    } catch {
      return null;
    }
    // Fields after the command, which ends at the last ")": utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  // USER_HZ is 100 on Linux.
  return ticks / 100;
}

async function passCase(path: string, modelPath: string, packets: number): Promise<Metrics> {
  const noModel = await modelSkipReason(modelPath);
  if (noModel !== null) return { skipped: noModel };
  const url = Deno.env.get("DATABASE_URL") || DEFAULT_DATABASE_URL;
  const noDatabase = await postgresSkipReason(url);
  if (noDatabase !== null) return { skipped: noDatabase };

  // In a worker, as the aggregator runs it.
  const scorer = await openScorer(modelPath, true);
  const schema = await createTestSchema(url);
  try {
    const db = await openDatabase({ databaseUrl: schema.url, poolSize: LOAD_CONCURRENCY });
    try {
      await migrate(db.sql);
      const loadStart = performance.now();
      let stored = 0;
      let batchNumber = 0;
      const inFlight = new Set<Promise<void>>();
      let position = 0;
      const store = async (records: PacketRecord[]) => {
        const key = `bench-${batchNumber++}`;
        // Each batch's place in the capture, as the agent sends it: stored
        // several at once, they commit out of order, and the pass puts them
        // back in capture order.
        const order = { stream: "file-bench", sequence: position };
        position += records.length;
        const storing = storePacketBatch(db.sql, {
          agentId: "bench",
          idempotencyKey: key,
          bodySha256: key,
          records,
          order,
        }).then((result) => {
          if (result.status !== "stored") throw new Error(`batch ${key} was ${result.status}`);
          stored += result.stored;
        });
        inFlight.add(storing);
        storing.finally(() => inFlight.delete(storing)).catch(() => {});
        if (inFlight.size >= LOAD_CONCURRENCY) await Promise.race(inFlight);
      };
      let pending: PacketRecord[] = [];
      // Payload capture "full" is the agent's default, so rows carry their bytes.
      for await (
        const chunk of decodeCapture(path, { maxPackets: packets, payloadCapture: "full" })
      ) {
        pending = pending.concat(chunk);
        while (pending.length >= LOAD_BATCH_RECORDS) {
          await store(pending.slice(0, LOAD_BATCH_RECORDS));
          pending = pending.slice(LOAD_BATCH_RECORDS);
        }
      }
      if (pending.length > 0) await store(pending);
      await Promise.all(inFlight);
      const loadSec = (performance.now() - loadStart) / 1000;
      console.log(
        `loaded ${stored} packets in ${batchNumber} batches into ${schema.schema} in ` +
          `${loadSec.toFixed(1)} s (untimed)`,
      );
      // Fresh statistics, as autovacuum keeps them on a busy table, so the plan is the usual one.
      await db.sql`analyze raw_packets, ingest_batches`;

      // The pass runs on the pool's connections: their backends' CPU is PostgreSQL's share.
      const backendPids = [
        ...new Set(
          (await Promise.all(
            Array.from(
              { length: LOAD_CONCURRENCY },
              () => db.sql<{ pid: number }[]>`select pg_backend_pid() as pid, pg_sleep(0.05)`,
            ),
          )).map(([row]) => row.pid),
        ),
      ];
      const backendCpuStart = await backendCpuSeconds(db.sql, backendPids);
      const cpuStart = cpuSeconds();
      const started = performance.now();
      const stepAt: [PassStep, number][] = [];
      let heapAfterReadBytes = 0;
      const result = await runAggregationPass({
        sql: db.sql,
        scorer,
        nowMs: Date.now(),
        maxPackets: Math.max(packets, 1),
        copyNewFlows: true,
        onStep: (step) => {
          stepAt.push([step, performance.now()]);
          // The packets read are all in memory at this point: the pass's peak, near enough.
          if (step === "read") heapAfterReadBytes = Deno.memoryUsage().heapUsed;
        },
      });
      const passSec = (performance.now() - started) / 1000;
      const passCpuSec = cpuSeconds() - cpuStart;
      const backendCpuEnd = await backendCpuSeconds(db.sql, backendPids);
      const passDbCpuSec = backendCpuStart === null || backendCpuEnd === null
        ? null
        : backendCpuEnd - backendCpuStart;
      const steps = stepAt.map(([step, at], i) =>
        `${step} +${((at - (i === 0 ? started : stepAt[i - 1][1])) / 1000).toFixed(2)} s`
      );
      if (result.skipped || result.packets !== stored) {
        throw new Error(
          `the pass aggregated ${result.packets} of ${stored} packets (skipped: ${result.skipped})`,
        );
      }
      console.log(
        `one aggregation pass: ${result.packets} packets in ${result.batches} batches -> ` +
          `${result.flowsWritten} flows in ${passSec.toFixed(2)} s: ` +
          `${fmt(result.packets / passSec)} packets/s`,
      );
      const heapLimitBytes = getHeapStatistics().heap_size_limit;
      console.log(`  time to each step: ${steps.join(", ")}`);
      console.log(
        `  CPU: ${passCpuSec.toFixed(2)} s in this process (the scorer's worker too), ` +
          `${passDbCpuSec === null ? "?" : passDbCpuSec.toFixed(2)} s in PostgreSQL's backends; ` +
          `load average ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
      );
      console.log(
        `  V8 heap after reading the packets: ${fmt(heapAfterReadBytes / 1e6)} MB ` +
          `(limit ${fmt(heapLimitBytes / 1e6)} MB)`,
      );
      return {
        packets: result.packets,
        batches: result.batches,
        flows_written: result.flowsWritten,
        pass_s: passSec,
        pass_pps: result.packets / passSec,
        pass_cpu_s: passCpuSec,
        pass_db_cpu_s: passDbCpuSec,
        load_s: loadSec,
        model_version: scorer.modelVersion,
        steps: steps.join(", "),
        heap_after_read_mb: heapAfterReadBytes / 1e6,
        heap_limit_mb: heapLimitBytes / 1e6,
      };
    } finally {
      await db.close();
    }
  } finally {
    await schema.drop();
    await scorer.close();
  }
}

/** Runs the case named by `args` and returns its metrics. */
export async function runAggregatorBench(args: readonly string[]): Promise<Metrics> {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      case: { type: "string" },
      file: { type: "string" },
      model: { type: "string", default: "./models/flow_classifier.onnx" },
      repeats: { type: "string", default: "2" },
      packets: { type: "string" },
      // The aggregation pass's slice (MERGE_SLICE_PACKETS in aggregation_pass.ts).
      "merge-batch": { type: "string", default: "8192" },
    },
  });
  const mergeBatch = Number(values["merge-batch"]);
  if (!(Number.isInteger(mergeBatch) && mergeBatch >= 1)) {
    throw new RangeError(
      `'--merge-batch' must be an integer >= 1: current value is ${values["merge-batch"]}`,
    );
  }
  const repeats = Number(values.repeats);
  if (!(Number.isInteger(repeats) && repeats >= 1)) {
    throw new RangeError(`'--repeats' must be an integer >= 1: current value is ${values.repeats}`);
  }
  const packets = values.packets === undefined ? undefined : Number(values.packets);
  if (packets !== undefined && !(Number.isInteger(packets) && packets >= 1)) {
    throw new RangeError(`'--packets' must be an integer >= 1: current value is ${values.packets}`);
  }
  if (values.file === undefined) throw new RangeError("'--file' is required");
  switch (values.case) {
    case "flows":
      return await flowsCase(values.file, values.model, repeats, packets, mergeBatch);
    case "stream":
      return await streamCase(values.file, repeats, packets, mergeBatch);
    case "pass":
      if (packets === undefined) throw new RangeError("'--case pass' needs '--packets'");
      return await passCase(values.file, values.model, packets);
    default:
      throw new RangeError(
        `'--case' must be flows, stream or pass: current value is ${values.case}`,
      );
  }
}

if (import.meta.main) {
  const metrics = await runAggregatorBench(Deno.args);
  console.log(BENCH_METRICS_PREFIX + JSON.stringify(metrics));
}
