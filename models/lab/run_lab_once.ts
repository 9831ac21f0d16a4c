import { dirname, join } from "node:path";
import { formatJson } from "./_format_json.ts";
import { sleep } from "./_sleep.ts";
import { LAB_TOOLS } from "./find_missing_tools.ts";
import type { LabNetwork } from "./lab_network.ts";
import { buildManifest, type LabManifest, type SegmentRecord } from "./manifest.ts";
import { LabCommandError, runCommand } from "./run_command.ts";
import { runSegment } from "./run_segment.ts";
import type { RunSettings } from "./run_settings.ts";
import { buildScenarioPlan } from "./scenario_plan.ts";
import { setUpLabNetwork } from "./set_up_lab_network.ts";
import { startCapture } from "./start_capture.ts";
import { startLabServices } from "./start_lab_services.ts";
import { tearDownLabNetwork } from "./tear_down_lab_network.ts";

/** Options for {@link runLabOnce}. */
export interface RunLabOnceOptions {
  /** Where `<runId>.pcap` and `<runId>.json` are written. */
  outDir: string;
  /** Stem of the output file names. */
  runId: string;
  /** The lab layout. */
  network: LabNetwork;
  /**
   * Capture snap length in bytes.
   * @default {128}
   */
  snaplen?: number;
  /**
   * Seconds after a segment's end that still count for it when labelling.
   * @default {2}
   */
  graceSec?: number;
  /** Aborting stops the run at the next step; the network is torn down either way. */
  signal?: AbortSignal;
  /** Progress lines. @default {no output} */
  log?: (line: string) => void;
}

/** Files a run wrote. */
export interface LabRunResult {
  /** The manifest as written. */
  manifest: LabManifest;
  /** Path of the pcap. */
  pcapPath: string;
  /** Path of the manifest. */
  manifestPath: string;
}

/** Raised when a run is aborted before it produced its files. */
export class LabAbortedError extends Error {
  /** Creates the error. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "LabAbortedError";
  }
}

/**
 * Runs one seeded lab run end to end: builds the namespaces, starts the
 * services, captures on the bridge while benign workloads and then the attacks
 * (one at a time, with benign background from another host) run, and writes
 * the pcap and its label manifest. The network, services and work directory
 * are removed at the end, also when the run fails or is aborted.
 */
export async function runLabOnce(
  settings: RunSettings,
  options: RunLabOnceOptions,
): Promise<LabRunResult> {
  const { network, signal } = options;
  const log = options.log ?? (() => {});
  const snaplen = options.snaplen ?? 128;
  const workDir = await Deno.makeTempDir({ prefix: "talab-" });
  const plan = buildScenarioPlan(settings, network, { workDir });
  let services: Awaited<ReturnType<typeof startLabServices>> | null = null;
  let capture: Awaited<ReturnType<typeof startCapture>> | null = null;
  const checkAbort = () => {
    if (signal?.aborted) throw new LabAbortedError(`Run ${options.runId} was aborted`);
  };
  try {
    for (const [rel, content] of Object.entries(plan.files)) {
      const path = join(workDir, rel);
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeTextFile(path, content);
    }
    log(`${options.runId}: setting up namespaces`);
    await setUpLabNetwork(network, { server: settings.server, signal });
    checkAbort();
    const srvNs = network.hosts.srv.namespace;
    // sshd insists on its privilege separation directory, which only the
    // distribution's service unit would otherwise create.
    await mustRun(["mkdir", "-p", "/run/sshd"], srvNs);
    for (const c of plan.setup) await mustRun(c.argv, srvNs, c.timeoutMs);
    const toolVersions = await readToolVersions(srvNs);
    services = await startLabServices(plan.services, network);
    checkAbort();
    // Let the interfaces' one-off multicast reports pass before recording.
    await sleep(1500, signal);
    const tmpPcap = join(workDir, "capture.pcap");
    capture = await startCapture(tmpPcap, {
      netns: network.bridgeNamespace,
      interface: network.bridge,
      snaplen,
    });
    const startedAt = Date.now() / 1000;
    await sleep(500, signal);

    const segments: SegmentRecord[] = [];
    // The manifest names the per-run temp directory by a placeholder, so two
    // runs of the same seed record the same command lines.
    const scrub = (record: SegmentRecord): SegmentRecord => ({
      ...record,
      commands: record.commands.map((argv) => argv.map((a) => a.replaceAll(workDir, "$WORKDIR"))),
    });
    const segmentLog = (line: string) => log(`${options.runId}: ${line}`);
    log(
      `${options.runId}: benign phase (${
        plan.benignChains.flat().map((s) => s.scenario).join(", ")
      })`,
    );
    const chains = await Promise.all(plan.benignChains.map(async (chain) => {
      const done: SegmentRecord[] = [];
      for (const seg of chain) {
        done.push(await runSegment(seg, { network, signal, log: segmentLog }));
      }
      return done;
    }));
    segments.push(...chains.flat());
    checkAbort();
    await sleep(plan.settleMs, signal);

    let attacksDone = false;
    const background = runSegment(plan.background, {
      network,
      signal,
      log: segmentLog,
      shouldStop: () => attacksDone,
    });
    try {
      for (const [i, seg] of plan.attacks.entries()) {
        checkAbort();
        log(`${options.runId}: ${seg.label} (${seg.scenario}) from ${seg.host}`);
        segments.push(await runSegment(seg, { network, signal, log: segmentLog }));
        // A segment labelled by target claims every flow to its victim
        // address, so its neighbours keep a gap longer than the grace period;
        // otherwise a flow could match two segments.
        const claims = seg.labelTargets || plan.attacks[i + 1]?.labelTargets;
        const graceMs = claims ? ((options.graceSec ?? 2) + 0.5) * 1000 : 0;
        await sleep(Math.max(plan.settleMs, graceMs), signal);
      }
    } finally {
      attacksDone = true;
      segments.push(await background);
    }
    checkAbort();
    const stats = await capture.stop();
    capture = null;
    const endedAt = Date.now() / 1000;

    await Deno.mkdir(options.outDir, { recursive: true });
    const pcapName = `${options.runId}.pcap`;
    const pcapPath = join(options.outDir, pcapName);
    const manifestPath = join(options.outDir, `${options.runId}.json`);
    await Deno.copyFile(tmpPcap, pcapPath);
    const manifest = buildManifest({
      runId: options.runId,
      settings,
      pcap: pcapName,
      startedAt,
      endedAt,
      capture: {
        namespace: network.bridgeNamespace,
        interface: network.bridge,
        snaplen,
        linkType: "EN10MB",
        packetsCaptured: stats.captured,
        packetsDropped: stats.dropped,
      },
      network: {
        ipv4Cidr: network.ipv4Cidr,
        ipv6Cidr: network.ipv6Cidr,
        hosts: Object.values(network.hosts).map((h) => ({
          name: h.name,
          role: h.role,
          ipv4: h.ipv4,
          ipv6: h.ipv6,
          mac: h.mac,
        })),
      },
      toolVersions,
      segments: segments.map(scrub),
    }, { graceSec: options.graceSec });
    await Deno.writeTextFile(manifestPath, formatJson(manifest));
    log(
      `${options.runId}: wrote ${pcapPath} (${stats.captured ?? "?"} packets, ${
        stats.dropped ?? "?"
      } dropped)`,
    );
    return { manifest, pcapPath, manifestPath };
  } finally {
    if (capture) await capture.stop().catch(() => {});
    if (services) await services.stop().catch(() => {});
    await tearDownLabNetwork(network, { log: (l) => log(`teardown: ${l}`) });
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

async function mustRun(argv: string[], netns: string, timeoutMs = 10_000): Promise<void> {
  const r = await runCommand(argv, { netns, timeoutMs });
  if (r.code !== 0) {
    throw new LabCommandError(
      `Cannot prepare the lab run: '${argv.join(" ")}' exited with ${r.code}: ${r.stderr.trim()}`,
      { argv, result: r },
    );
  }
}

async function readToolVersions(netns: string): Promise<Record<string, string>> {
  const packages = [...new Set(LAB_TOOLS.map((t) => t.debianPackage))].sort();
  const r = await runCommand(
    ["dpkg-query", "-W", "-f", "${Package}\t${Version}\n", ...packages],
    { netns, timeoutMs: 10_000 },
  );
  const versions: Record<string, string> = {};
  for (const line of r.stdout.split("\n")) {
    const [name, version] = line.split("\t");
    if (name && version) versions[name] = version;
  }
  return versions;
}
