/**
 * Live capture into PostgreSQL at a fixed rate (issue 15): `tcpreplay` in a
 * network namespace offers unique TCP conversations at `--pps` for
 * `--seconds` onto a veth pair; on the host side a live agent captures them
 * and delivers through a server into a PostgreSQL cluster of the bench's own
 * (fsync on; never the shared one), while `tcpdump -w` captures the same
 * link in the same run as the reference. Loss is counted at every stage:
 * packets tcpreplay sent, what tcpdump got and its kernel drops, what the
 * agent captured, the kernel dropped before it and the agent dropped
 * (outbox full), and the rows missing from raw_packets (`count(*)` and
 * `count(distinct …)`). Peak RSS of the agent and the server is sampled.
 *
 * Needs root, tcpreplay and tcpdump; otherwise it reports why it skipped.
 * Prints the figures, then one `BENCH_METRICS {...}` line for the harness
 * (bench/_live_case.ts). Run alone:
 * `deno run --allow-all bench/live.ts --seconds 60 --pps 200000`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { openDatabase } from "@traffic-analyzer/shared/db";
import {
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from "@traffic-analyzer/shared/testing/throwaway_postgres";
import { BENCH_METRICS_PREFIX, type BenchMetrics } from "./bench_metrics.ts";
import {
  BENCH_TOKEN,
  killAllPrograms,
  packetCounts,
  privateTmpDir,
  spawnProgram,
  startServer,
} from "./bench_programs.ts";
import { PeakRss } from "./peak_rss.ts";
import { processCpuSeconds, readProcFile } from "./proc_stat.ts";
import { waitFor } from "../faults/fault_world.ts";
import { createVeth, type Veth } from "../faults/veth.ts";
import {
  beforeCaptureMetrics,
  describeKernelDrops,
  watchVethDrops,
} from "./kernel_drop_counters.ts";
import { writeUniqueCapture } from "../faults/unique_capture.ts";
import { AGENT_CAPTURE_NICE, atNice, TRAFFIC_SOURCE_NICE } from "./live_priorities.ts";

function findTool(tool: string): boolean {
  return ["/usr/bin", "/usr/sbin", "/bin", "/sbin"].some((dir) => {
    try {
      return Deno.statSync(`${dir}/${tool}`).isFile;
    } catch {
      return false;
    }
  });
}

function skipReason(): string | null {
  if (Deno.build.os !== "linux") return "needs Linux";
  if (Deno.uid() !== 0) return "needs root (network namespace, live capture)";
  for (const tool of ["tcpreplay", "tcpdump", "ip"]) {
    if (!findTool(tool)) return `needs ${tool}`;
  }
  return null;
}

function printMetrics(metrics: BenchMetrics): void {
  console.log(`${BENCH_METRICS_PREFIX}${JSON.stringify(metrics)}`);
}

/** tcpdump's last words: packets captured and dropped by the kernel. */
function tcpdumpCounts(stderr: string): { captured: number | null; dropped: number | null } {
  const captured = stderr.match(/(\d+) packets? captured/)?.[1];
  const dropped = stderr.match(/(\d+) packets? dropped by kernel/)?.[1];
  return {
    captured: captured === undefined ? null : Number(captured),
    dropped: dropped === undefined ? null : Number(dropped),
  };
}

/**
 * Seconds the process's main thread has run on a CPU and has waited in the
 * run queue, ready to run (Linux `/proc/<pid>/task/<pid>/schedstat`), or null.
 */
async function mainThreadSchedule(
  pid: number,
): Promise<{ onCpuSec: number; runQueueSec: number } | null> {
  try {
    const schedstat = await readProcFile(`/proc/${pid}/task/${pid}/schedstat`);
    if (schedstat === null) return null;
    const [onCpuNs, runQueueNs] = schedstat.trim().split(" ").map(Number);
    return { onCpuSec: onCpuNs / 1e9, runQueueSec: runQueueNs / 1e9 };
  } catch {
    return null;
  }
}

/** The 1-minute load average, or null. */
function loadAverage(): number | null {
  try {
    return Deno.loadavg()[0];
  } catch {
    return null;
  }
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "60" },
      pps: { type: "string", default: "200000" },
      "batch-size": { type: "string", default: "5000" },
      // The agent's CAPTURE_BUFFER_MB; unset, the agent's default.
      "capture-buffer-mb": { type: "string" },
      // A V8 CPU profile of the agent (`deno run --cpu-prof`) written into this folder.
      "agent-cpu-prof": { type: "string" },
    },
  });
  const seconds = Number(values.seconds);
  const pps = Number(values.pps);
  if (!(seconds >= 5) || !(pps > 0)) {
    throw new RangeError(
      `Cannot run live as '--seconds' must be at least 5 and '--pps' positive: ` +
        `current values are ${values.seconds} and ${values.pps}`,
    );
  }
  const skipped = skipReason();
  if (skipped !== null) {
    printMetrics({ skipped });
    return;
  }
  const tmp = await privateTmpDir();
  const dir = await Deno.makeTempDir({ prefix: "ta-bench-live-" });
  let pg: ThrowawayPostgres | null = null;
  let veth: Veth | null = null;
  const children: Deno.ChildProcess[] = [];
  const cleanUp = async () => {
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
    }
    await killAllPrograms();
    await pg?.destroy().catch((error) => console.log(`cannot remove the cluster: ${error}`));
    await veth?.remove().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  };
  const onSignal = () => {
    console.log("live: stopped; cleaning up");
    cleanUp().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    // About 14 packets a conversation: some 280k unique packets, looped as needed.
    const capture = await writeUniqueCapture(`${dir}/live.pcap`, { flows: 20_000 });
    pg = await startThrowawayPostgres({ settings: { fsync: "on", full_page_writes: "on" } });
    await pg.psql("create database live");
    const url = pg.url.replace(/\/postgres$/, "/live");
    veth = await createVeth();
    const rss = new PeakRss();
    const server = await startServer(dir, { DATABASE_URL: url }, false);
    rss.watch("server", server.program.pid);
    const agentEnv = {
      SERVER_URL: server.ingestUrl,
      AGENT_TOKEN: BENCH_TOKEN,
      AGENT_ID: "bench-live",
      DATA_DIR: `${dir}/agent`,
      LOG_LEVEL: "warning",
    };
    const profDir = values["agent-cpu-prof"];
    const agent = spawnProgram(dir, "agent", "agent/main.ts", [], {
      ...agentEnv,
      INTERFACE: veth.hostIf,
      CAPTURE_FILTER: "tcp",
      BATCH_SIZE: values["batch-size"],
      BATCH_TIMEOUT: "1s",
      LOG_LEVEL: "info",
      ...(values["capture-buffer-mb"] === undefined
        ? {}
        : { CAPTURE_BUFFER_MB: values["capture-buffer-mb"] }),
    }, profDir === undefined ? {} : { denoFlags: ["--cpu-prof", `--cpu-prof-dir=${profDir}`] });
    rss.watch("agent", agent.pid);
    await waitFor("the agent to capture", async () => /Capturing on/.test(await agent.output()));
    const [tcpdumpCommand, tcpdumpArgs] = atNice(AGENT_CAPTURE_NICE, "tcpdump", [
      "-i",
      veth.hostIf,
      "-n",
      "-B",
      "65536",
      "-w",
      `${dir}/reference.pcap`,
      "tcp",
    ]);
    const tcpdump = new Deno.Command(tcpdumpCommand, {
      args: tcpdumpArgs,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    children.push(tcpdump);
    // tcpdump says "listening on" once its capture is open.
    const tcpdumpStderr = (async () => {
      let text = "";
      for await (const chunk of tcpdump.stderr.pipeThrough(new TextDecoderStream())) text += chunk;
      return text;
    })();
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const loops = Math.max(1, Math.ceil((pps * seconds) / capture.packets));
    const offered = loops * capture.packets;
    console.log(
      `live: ${offered} packets at ${pps} packets/s (${loops} loops of ${capture.packets}) ` +
        `onto ${veth.hostIf}; agent BATCH_SIZE=${values["batch-size"]}, tcpdump -w beside it`,
    );
    const waitBefore = await mainThreadSchedule(agent.pid);
    const dropsSince = await watchVethDrops(veth);
    const started = performance.now();
    const replay = veth.exec(...atNice(TRAFFIC_SOURCE_NICE, "tcpreplay", [
      "-q",
      `--pps=${pps}`,
      `--loop=${loops}`,
      // Stop at the time asked, even when this machine cannot make the rate.
      `--duration=${seconds}`,
      "--preload-pcap",
      "-i",
      veth.nsIf,
      capture.path,
    ]));
    children.push(replay);
    const replayed = await replay.output();
    const replaySeconds = (performance.now() - started) / 1000;
    const waitAfter = await mainThreadSchedule(agent.pid);
    // The agent's main thread during the replay: seconds on a CPU, and seconds
    // it was ready to run but waited for one (the machine's other work).
    const mainOnCpu = waitBefore && waitAfter ? waitAfter.onCpuSec - waitBefore.onCpuSec : null;
    const mainRunQueue = waitBefore && waitAfter
      ? waitAfter.runQueueSec - waitBefore.runQueueSec
      : null;
    const replayText = new TextDecoder().decode(replayed.stdout);
    const sentMatch = replayText.match(/Actual: (\d+) packets/);
    const sent = sentMatch ? Number(sentMatch[1]) : null;
    const failedMatch = replayText.match(/Failed packets:\s+(\d+)/);

    // Let both captures read what the kernel holds, then stop tcpdump.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    tcpdump.kill("SIGINT");
    await tcpdump.status;
    // Sent, but dropped before any capture could see it (by the veth or the input backlog).
    const beforeCapture = await dropsSince();
    const reference = tcpdumpCounts(await tcpdumpStderr);
    // The agent delivers its backlog: wait while rows keep arriving (a backlog is
    // not a loss, but the time it takes counts against the rate).
    const db = await openDatabase({ databaseUrl: url, poolSize: 1, applicationName: "bench-live" });
    let stored: { rows: number; distinct: number };
    let drainSeconds: number;
    let agentCpu: number | null = null;
    let serverCpu: number | null = null;
    try {
      const count = async () => (await packetCounts(db.sql)).rows;
      let rows = await count();
      let lastChange = performance.now();
      let lastRowAt = performance.now();
      while (rows < (sent ?? 0) && performance.now() - lastChange < 20_000) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const now = await count();
        if (now !== rows) {
          rows = now;
          lastChange = lastRowAt = performance.now();
        }
      }
      drainSeconds = Math.max(0, (lastRowAt - started) / 1000 - replaySeconds);
      // Before the stop: the run's capture and delivery, not the shutdown.
      agentCpu = await processCpuSeconds(agent.pid);
      serverCpu = await processCpuSeconds(server.program.pid);
      await agent.kill("SIGTERM");
      await rss.stop();
      stored = await packetCounts(db.sql);
    } finally {
      await db.close();
    }
    const status = spawnProgram(dir, "status", "agent/main.ts", ["--status", "--json"], {
      ...agentEnv,
      LOG_LEVEL: "error",
    });
    await status.status;
    const statusText = await status.output();
    const counters: Record<string, number> =
      JSON.parse(statusText.slice(statusText.indexOf("{"))).counters;
    await server.program.kill("SIGKILL");
    const peaks = rss.peaks();
    const missing = sent === null ? null : sent - stored.rows;
    const metrics: BenchMetrics = {
      seconds: replaySeconds,
      drain_seconds: drainSeconds,
      offered_pps: pps,
      sent_packets: sent,
      achieved_pps: sent === null ? null : sent / replaySeconds,
      tcpreplay_failed: failedMatch ? Number(failedMatch[1]) : null,
      tcpdump_captured: reference.captured,
      tcpdump_kernel_dropped: reference.dropped,
      agent_captured: counters.captured ?? null,
      agent_kernel_dropped: counters.kernel_dropped ?? 0,
      agent_dropped: counters.dropped ?? 0,
      ...beforeCaptureMetrics(beforeCapture),
      stored_rows: stored.rows,
      stored_distinct: stored.distinct,
      missing_rows: missing,
      agent_rss_mb: peaks.agent === null ? null : peaks.agent / 1e6,
      server_rss_mb: peaks.server === null ? null : peaks.server / 1e6,
      batch_size: Number(values["batch-size"]),
      agent_cpu_s: agentCpu,
      server_cpu_s: serverCpu,
      agent_cpu_us_per_packet: agentCpu === null || !counters.captured
        ? null
        : agentCpu * 1e6 / counters.captured,
      agent_main_cpu_replay_s: mainOnCpu,
      agent_main_runqueue_replay_s: mainRunQueue,
      load_1m: loadAverage(),
    };
    console.log(
      `live: tcpreplay sent ${sent} in ${replaySeconds.toFixed(1)} s ` +
        `(${Math.round(Number(metrics.achieved_pps))} packets/s); tcpdump captured ` +
        `${reference.captured}, kernel dropped ${reference.dropped}; dropped before any ` +
        `capture ${describeKernelDrops(beforeCapture)}; agent captured ` +
        `${counters.captured}, kernel dropped ${metrics.agent_kernel_dropped}, dropped ` +
        `${metrics.agent_dropped}; raw_packets ${stored.rows} rows (${stored.distinct} distinct), ` +
        `${missing} missing; the last row ${drainSeconds.toFixed(1)} s after tcpreplay ended; ` +
        `CPU: agent ${agentCpu?.toFixed(1)} s (${
          metrics.agent_cpu_us_per_packet === null
            ? "?"
            : Number(metrics.agent_cpu_us_per_packet).toFixed(2)
        } µs a packet captured), server ${
          serverCpu?.toFixed(1)
        } s; during the replay the agent's ` +
        `main thread ran ${mainOnCpu?.toFixed(1)} s and waited ${
          mainRunQueue?.toFixed(1)
        } s for a CPU; load ${metrics.load_1m}`,
    );
    printMetrics(metrics);
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
    await cleanUp();
  }
}

if (import.meta.main) {
  await main(Deno.args);
}
