/**
 * The soak (issues 10, 15): live traffic at a steady rate (100,000 packets/s for
 * 10 minutes by default) through the real programs — a capturing agent, a
 * server, an aggregator — on a PostgreSQL cluster of its own, sampling the
 * resident memory (RSS) of each program every few seconds. Memory that
 * keeps growing under a steady load is a leak; the report gives each
 * program's peak RSS minute by minute, and how its last minute compares with
 * its second (the first includes start-up).
 *
 * The traffic is `tcpreplay` in a network namespace, looping a capture of
 * unique TCP conversations onto a veth pair the agent captures on. Needs root,
 * libpcap and tcpreplay; otherwise it reports why it skipped.
 *
 * Prints the table, then one `BENCH_METRICS {...}` line for the harness
 * (bench/_soak_case.ts). Run alone:
 * `deno run --allow-all bench/soak.ts --minutes 10 --pps 100000`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BENCH_METRICS_PREFIX } from "./bench_metrics.ts";
import { sampleProcesses } from "./peak_rss.ts";
import { FaultWorld, type Program, waitFor } from "../faults/fault_world.ts";
import { createVeth } from "../faults/veth.ts";
import { writeUniqueCapture } from "../faults/unique_capture.ts";
import {
  beforeCaptureMetrics,
  describeKernelDrops,
  watchVethDrops,
} from "./kernel_drop_counters.ts";
import { atNice, TRAFFIC_SOURCE_NICE } from "./live_priorities.ts";

/** How often RSS is read. */
const SAMPLE_MS = 5_000;
/** How long the agent gets to deliver what it holds once told to stop. */
const AGENT_STOP_MS = 90_000;
/** How long the aggregator gets to take every ingested batch after that. */
const CATCH_UP_MS = 300_000;

/** One program's RSS samples. */
interface Sampled {
  name: string;
  program: Program;
  /** [ms since start, RSS in bytes] */
  samples: [number, number][];
}

/** The aggregator at the end of one minute of the soak. */
interface AggregatorMinute {
  /** The most heap any of the minute's passes left in use, MB (its log lines). */
  heapMb: number | null;
  /** Its saved flow table state, gzipped, MB. */
  stateMb: number | null;
  /** Ingested batches it had not taken yet. */
  behind: number | null;
}

const NO_AGGREGATOR_MINUTE: AggregatorMinute = { heapMb: null, stateMb: null, behind: null };

function skipReason(): string | null {
  if (Deno.build.os !== "linux") return "needs Linux";
  if (Deno.uid() !== 0) return "needs root (network namespace, live capture)";
  for (const tool of ["tcpreplay", "ip"]) {
    const found = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"].some((dir) => {
      try {
        return Deno.statSync(`${dir}/${tool}`).isFile;
      } catch {
        return false;
      }
    });
    if (!found) return `needs ${tool}`;
  }
  return null;
}

function printMetrics(metrics: Record<string, number | string | null>): void {
  console.log(`${BENCH_METRICS_PREFIX}${JSON.stringify(metrics)}`);
}

/** Peak of the samples taken in minute `m` (0-based). */
function peakInMinute(samples: [number, number][], m: number): number | null {
  const inMinute = samples.filter(([t]) => t >= m * 60_000 && t < (m + 1) * 60_000);
  return inMinute.length === 0 ? null : Math.max(...inMinute.map(([, rss]) => rss));
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      minutes: { type: "string", default: "10" },
      pps: { type: "string", default: "100000" },
    },
  });
  const minutes = Number(values.minutes);
  const pps = Number(values.pps);
  if (!(minutes >= 2) || !(pps > 0)) {
    throw new RangeError(
      `Cannot soak as '--minutes' must be at least 2 and '--pps' positive: ` +
        `current values are ${values.minutes} and ${values.pps}`,
    );
  }
  const skipped = skipReason();
  if (skipped !== null) {
    printMetrics({ skipped });
    return;
  }

  const world = await FaultWorld.create();
  const veth = await createVeth();
  let replay: Deno.ChildProcess | null = null;
  try {
    const capture = await writeUniqueCapture(`${world.dir}/soak.pcap`, { flows: 2000 });
    const url = await world.database("soak");
    const sql = await world.client(url);
    const server = await world.server({ url, aggregate: false });
    const aggregator = world.aggregator(url, { AGGREGATE_INTERVAL: "5s" });
    const sensor = world.sensor("soak");
    const agent = sensor.agent([], {
      serverUrl: server.ingestUrl,
      env: {
        INTERFACE: veth.hostIf,
        CAPTURE_FILTER: "tcp",
        // Batches of 5,000: at 100k packets/s, 20 a second (the live bench's size).
        BATCH_SIZE: "5000",
        BATCH_TIMEOUT: "1s",
        MAX_RETRIES: "3",
        RETRY_DELAY: "1s",
      },
    });
    await waitFor("the agent to capture", async () => /Capturing on/.test(await agent.output()));

    const loops = Math.ceil((pps * minutes * 60) / capture.packets);
    console.log(
      `soak: ${minutes} min at ${pps} packets/s (${loops} loops of ${capture.packets} packets)`,
    );
    const dropsSince = await watchVethDrops(veth);
    const started = Date.now();
    replay = veth.exec(...atNice(TRAFFIC_SOURCE_NICE, "tcpreplay", [
      "-q",
      `--pps=${pps}`,
      `--loop=${loops}`,
      // The soak lasts its minutes even when tcpreplay falls behind its rate
      // on a busy machine: the loops alone once stretched it past the case's
      // time limit, and then no memory figure was printed at all.
      `--duration=${minutes * 60}`,
      "--preload-pcap",
      "-i",
      veth.nsIf,
      capture.path,
    ]));
    const replayed = replay.output();

    const programs: Sampled[] = [
      { name: "agent", program: agent, samples: [] },
      { name: "server", program: server, samples: [] },
      { name: "aggregator", program: aggregator, samples: [] },
    ];
    // Once a minute, what tells the aggregator's working set from a leak: the
    // heap its passes left in use (from its pass log lines), the size of its
    // saved flow table state (the live flows and the 60 s context window,
    // which grow with the flow rate, not with time) and its backlog.
    const aggregatorByMinute: AggregatorMinute[] = [];
    let logOffset = 0;
    const sampleAggregator = async () => {
      const log = await aggregator.output();
      const heaps = [...log.slice(logOffset).matchAll(/heap (\d+) MB used/g)].map((m) =>
        Number(m[1])
      );
      logOffset = log.length;
      const [row]: [{ state: number | null; behind: number }?] = await sql`
        select length(flow_table_state)::int8 as state,
          (select count(*)::int8 from ingest_batches
            where id > p.last_batch_id and not aggregated) as behind
        from aggregator_progress p`;
      aggregatorByMinute.push({
        heapMb: heaps.length === 0 ? null : Math.max(...heaps),
        stateMb: row?.state == null ? null : Number(row.state) / 1e6,
        behind: row === undefined ? null : Number(row.behind),
      });
    };
    const durationMs = minutes * 60_000;
    for (let next = started; next < started + durationMs; next += SAMPLE_MS) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
      // One `ps` for the three programs: each sample costs the cores they share.
      const sampled = await sampleProcesses(programs.map((p) => p.program.pid));
      const at = Date.now() - started;
      for (const p of programs) {
        const sample = sampled.get(p.program.pid);
        if (sample !== undefined) p.samples.push([at, sample.rssBytes]);
      }
      // The last sample of each minute.
      if (Math.floor((at + SAMPLE_MS) / 60_000) > aggregatorByMinute.length) {
        await sampleAggregator().catch(() => aggregatorByMinute.push(NO_AGGREGATOR_MINUTE));
      }
    }
    const replayOutput = await replayed;
    replay = null;
    // Sent, but dropped before any capture could see it (by the veth or the input backlog).
    const beforeCapture = await dropsSince();
    const sentMatch = new TextDecoder().decode(replayOutput.stdout).match(
      /Actual: (\d+) packets/,
    );
    const sent = sentMatch ? Number(sentMatch[1]) : null;
    const seconds = (Date.now() - started) / 1000;

    // The memory figures are what the soak is for: print them before the
    // drain below, so a drain that runs out of time still leaves them.
    const mb = (bytes: number | null) => bytes === null ? "-" : (bytes / 1e6).toFixed(0);
    console.log(`\npeak RSS by minute (MB), sampled every ${SAMPLE_MS / 1000} s`);
    console.log(
      "aggregator heap: the most any pass of the minute left in use (MB); its state: the " +
        "saved flow table, gzipped (MB), and the batches it was behind, at the minute's end",
    );
    console.log(
      [
        ...["minute", ...programs.map((p) => p.name)].map((c) => c.padStart(11)),
        "       heap",
        "      state",
        "     behind",
      ].join(""),
    );
    for (let m = 0; m < minutes; m++) {
      const a = aggregatorByMinute[m] ?? NO_AGGREGATOR_MINUTE;
      console.log(
        [
          String(m + 1),
          ...programs.map((p) => mb(peakInMinute(p.samples, m))),
          a.heapMb === null ? "-" : String(a.heapMb),
          a.stateMb === null ? "-" : a.stateMb.toFixed(1),
          a.behind === null ? "-" : String(a.behind),
        ].map((c) => c.padStart(11)).join(""),
      );
    }
    const metrics: Record<string, number | string | null> = {
      minutes,
      offered_pps: pps,
      sent_packets: sent,
      achieved_pps: sent === null ? null : Math.round(sent / seconds),
    };
    for (const p of programs) {
      const second = peakInMinute(p.samples, 1);
      const last = peakInMinute(p.samples, minutes - 1);
      metrics[`${p.name}_rss_minute2_mb`] = second === null ? null : second / 1e6;
      metrics[`${p.name}_rss_last_minute_mb`] = last === null ? null : last / 1e6;
      metrics[`${p.name}_rss_peak_mb`] = Math.max(...p.samples.map(([, r]) => r)) / 1e6;
    }
    const secondMinute = aggregatorByMinute[1] ?? NO_AGGREGATOR_MINUTE;
    const lastMinute = aggregatorByMinute[minutes - 1] ?? NO_AGGREGATOR_MINUTE;
    metrics.aggregator_heap_minute2_mb = secondMinute.heapMb;
    metrics.aggregator_heap_last_minute_mb = lastMinute.heapMb;
    metrics.aggregator_state_minute2_mb = secondMinute.stateMb;
    metrics.aggregator_state_last_minute_mb = lastMinute.stateMb;
    printMetrics(metrics);

    // Let the agent deliver what it holds, then wait (bounded) for the
    // aggregator to take every ingested batch; how long that took, or how far
    // behind it still was, is part of the report, not a reason to print nothing.
    const stopped = await Promise.race([
      agent.kill("SIGTERM").then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), AGENT_STOP_MS)),
    ]);
    if (!stopped) await agent.kill("SIGKILL");
    const counters = await sensor.counters();
    // What the agent still held when it stopped waits in its outbox (kept, not
    // lost): send it, as `deno task replay` would, so stored can equal captured.
    let drained = true;
    try {
      await sensor.drain(server.ingestUrl, server);
    } catch {
      drained = false;
    }
    const drainStarted = Date.now();
    const behind = async () => {
      const [row]: [{ behind: number }] = await sql`
        select count(*)::int as behind from ingest_batches
        where id > (select last_batch_id from aggregator_progress) and not aggregated`;
      return row.behind;
    };
    let caughtUpSeconds: number | null = null;
    try {
      await waitFor("the aggregator to catch up", async () => await behind() === 0, CATCH_UP_MS);
      caughtUpSeconds = (Date.now() - drainStarted) / 1000;
    } catch {
      // Reported below as batches still behind.
    }
    const [stored]: [{ packets: number; flows: number }] = await sql`
      select coalesce(sum(record_count), 0)::int8 as packets,
        (select count(*) from traffic_data)::int8 as flows
      from ingest_batches`;
    Object.assign(metrics, {
      agent_stopped_in_time: stopped ? 1 : 0,
      outbox_drained: drained ? 1 : 0,
      captured_packets: counters.captured ?? null,
      kernel_dropped: counters.kernel_dropped ?? null,
      ...beforeCaptureMetrics(beforeCapture),
      outbox_dropped: counters.dropped ?? null,
      stored_packets: stored.packets,
      flows: stored.flows,
      catch_up_s: caughtUpSeconds,
      batches_behind: caughtUpSeconds === null ? await behind() : 0,
    });
    console.log(
      `\nsent ${sent} packets in ${seconds.toFixed(0)} s; agent captured ` +
        `${counters.captured}, kernel dropped ${counters.kernel_dropped}; dropped before any ` +
        `capture ${describeKernelDrops(beforeCapture)}; stored ` +
        `${stored.packets} packets, ${stored.flows} flows` +
        (drained ? "" : " (the outbox did not drain)") + "; aggregator " +
        (caughtUpSeconds === null
          ? `still ${metrics.batches_behind} batches behind after ${CATCH_UP_MS / 1000} s`
          : `caught up ${caughtUpSeconds.toFixed(0)} s after the agent stopped`),
    );
    printMetrics(metrics);
    await aggregator.kill();
    await server.kill();
  } finally {
    try {
      replay?.kill("SIGTERM");
      await replay?.status;
    } catch { /* ended */ }
    await world.destroy();
    await veth.remove();
  }
}

if (import.meta.main) {
  await main(Deno.args);
}
