/**
 * The model on this machine's own traffic (issue 11): the real agent captures
 * live on `lo` and on a veth pair into a network namespace this check makes,
 * delivers to a real server whose in-process aggregator scores the flows and
 * opens incidents, in a throwaway PostgreSQL cluster of the check's own. For
 * `--seconds` (600 by default) it makes ordinary traffic of several kinds,
 * only to loopback and to its namespace: HTTP and HTTPS with curl, DNS with
 * dig to dnsmasq, ssh and scp to an sshd, iperf3, ping, and HTTP from the
 * namespace back to the host. Whatever else the machine does on `lo` (other
 * people's tests, the shared PostgreSQL) is captured too; only the check's
 * own delivery to its server and its cluster are filtered out, as capturing
 * them would feed the agent its own output.
 *
 * At the end the agent stops, the aggregator takes the rest, and one last
 * pass an hour later in packet time closes every flow, as a running
 * aggregator would. It prints flows, alerting flows (label not benign and
 * score at least ALERT_MIN_SCORE) in all and by label and interface, the
 * incidents opened, the alerting flows themselves, and one
 * `LIVE_CHECK {...}` JSON line; `--record PATH` also writes it there (the
 * model card reports `models/live_check.json`). Exits 1 when more than `--max-alert-pct`
 * (1 %) of flows alert or any incident opened.
 *
 * Not a test (it runs ten minutes); needs root, `ip`, libpcap. A traffic kind
 * whose tool is missing is skipped and named in the report.
 * `deno task live-check` or `deno run --allow-all bench/live_traffic_check.ts --seconds 600`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { CONFIG_SPECS } from "@traffic-analyzer/shared/config";
import { openDatabase, type Sql } from "@traffic-analyzer/shared/db";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { freePort } from "@traffic-analyzer/shared/testing";
import { startThrowawayPostgres } from "@traffic-analyzer/shared/testing/throwaway_postgres";
import { createVethNamespace } from "@traffic-analyzer/shared/testing/veth_namespace";
import { loadFlowScorer, runAggregationPass } from "@traffic-analyzer/aggregator";
import { waitAggregated } from "../faults/fault_world.ts";
import {
  BENCH_TOKEN,
  killAllPrograms,
  privateTmpDir,
  spawnProgram,
  startServer,
} from "./bench_programs.ts";
import { createPrng } from "../models/prng.ts";
import type { LiveCheckRecord } from "../models/train/live_check_record.ts";

const DEFAULT_ALERT_MIN_SCORE = Number(
  CONFIG_SPECS.find((s) => s.key === "alertMinScore")!.default,
);

function hasTool(tool: string): boolean {
  return ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"].some((dir) => {
    try {
      return Deno.statSync(`${dir}/${tool}`).isFile;
    } catch {
      return false;
    }
  });
}

/** Runs a command to its end with a time limit; true when it exited 0. */
async function run(argv: string[], timeoutMs = 30_000): Promise<boolean> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeoutMs);
  const status = await child.status;
  clearTimeout(timer);
  return status.success;
}

async function mustRun(argv: string[]): Promise<void> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A namespace with a veth pair to the host, on a /30 only its two ends use. */
async function createNamespace(tag: string) {
  const ns = `live11-${tag}`;
  const hostIf = `l11h${tag}`;
  const nsIf = `l11n${tag}`;
  const octet = 1 + (Deno.pid % 250);
  const hostIp = `10.253.${octet}.1`;
  const nsIp = `10.253.${octet}.2`;
  const { remove } = await createVethNamespace({
    namespace: ns,
    hostInterface: hostIf,
    namespaceInterface: nsIf,
    hostIp,
    namespaceIp: nsIp,
  });
  return { ns, hostIf, hostIp, nsIp, remove };
}

/** Long-running services of the check, stopped together. */
class Services {
  readonly #children: Deno.ChildProcess[] = [];
  start(argv: string[], ns: string | null = null): void {
    const full = ns === null ? argv : ["ip", "netns", "exec", ns, ...argv];
    this.#children.push(
      new Deno.Command(full[0], {
        args: full.slice(1),
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn(),
    );
  }
  async stop(): Promise<void> {
    for (const child of this.#children) {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
    }
    await Promise.all(this.#children.map((c) => c.status));
  }
}

/** One kind of ordinary traffic: a command, and how often it is picked. */
interface TrafficKind {
  name: string;
  weight: number;
  argv: () => string[];
  timeoutMs?: number;
}

interface FlowSummary {
  flows: number;
  alerting: number;
  byLabel: Record<string, { flows: number; alerting: number }>;
  byInterface: Record<string, { flows: number; alerting: number }>;
}

async function summarize(sql: Sql, minScore: number): Promise<FlowSummary> {
  const rows = await sql<{ label: string; interface: string; flows: number; alerting: number }[]>`
    select coalesce(label, 'unscored') as label, coalesce(interface, '?') as interface,
      count(*)::int as flows,
      count(*) filter (where label <> 'benign' and score >= ${minScore}::real)::int as alerting
    from traffic_data group by 1, 2`;
  const summary: FlowSummary = { flows: 0, alerting: 0, byLabel: {}, byInterface: {} };
  for (const r of rows) {
    summary.flows += r.flows;
    summary.alerting += r.alerting;
    for (
      const [map, key] of [[summary.byLabel, r.label], [summary.byInterface, r.interface]] as const
    ) {
      map[key] ??= { flows: 0, alerting: 0 };
      map[key].flows += r.flows;
      map[key].alerting += r.alerting;
    }
  }
  return summary;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "600" },
      seed: { type: "string", default: "11" },
      "max-alert-pct": { type: "string", default: "1" },
      "keep-dir": { type: "boolean", default: false },
      record: { type: "string" },
    },
  });
  const seconds = Number(values.seconds);
  const maxAlertPct = Number(values["max-alert-pct"]);
  if (Deno.build.os !== "linux" || Deno.uid() !== 0 || !hasTool("ip")) {
    console.log("live check skipped: needs Linux, root and ip");
    return 0;
  }
  const minScore = DEFAULT_ALERT_MIN_SCORE;
  // Deno.loadavg(): reading /proc/loadavg needs --allow-all.
  const loadAverage = () => Promise.resolve(Deno.loadavg()[0]);
  const loadAtStart = await loadAverage();
  const tmp = await privateTmpDir();
  const dir = `${tmp}/run`;
  await Deno.mkdir(dir, { recursive: true });
  const tag = (Deno.pid % 100000).toString(36);
  const pg = await startThrowawayPostgres();
  const net = await createNamespace(tag);
  const services = new Services();
  try {
    // Files the servers serve and scp copies.
    const www = `${dir}/www`;
    await Deno.mkdir(www, { recursive: true });
    await Deno.writeTextFile(`${www}/index.html`, "<html><body>live check</body></html>\n");
    await Deno.writeFile(`${www}/medium.bin`, crypto.getRandomValues(new Uint8Array(60_000)));
    const big = new Uint8Array(2 << 20);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    await Deno.writeFile(`${www}/large.bin`, big);

    const missing: string[] = [];
    const kinds: TrafficKind[] = [];
    const loHttp = freePort();
    const loHttps = freePort();
    const loDns = freePort();
    const hostHttp = freePort();
    if (hasTool("python3")) {
      // A static file server on `port` at `address`, in the namespace `ns` when given.
      const httpServer = (port: number, address: string, ns: string | null = null) =>
        services.start(
          ["python3", "-m", "http.server", String(port), "--bind", address, "--directory", www],
          ns,
        );
      httpServer(loHttp, "127.0.0.1");
      httpServer(hostHttp, net.hostIp);
      httpServer(8080, net.nsIp, net.ns);
    } else missing.push("python3 (HTTP servers)");
    if (hasTool("openssl")) {
      await mustRun([
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=live-check.test",
        "-keyout",
        `${dir}/tls.key`,
        "-out",
        `${dir}/tls.crt`,
      ]);
      for (
        const [accept, ns] of [[`127.0.0.1:${loHttps}`, null], [
          `${net.nsIp}:8443`,
          net.ns,
        ]] as const
      ) {
        services.start([
          "openssl",
          "s_server",
          "-quiet",
          "-accept",
          accept,
          "-cert",
          `${dir}/tls.crt`,
          "-key",
          `${dir}/tls.key`,
          "-www",
        ], ns);
      }
    } else missing.push("openssl (HTTPS servers)");
    if (hasTool("dnsmasq")) {
      await Deno.writeTextFile(
        `${dir}/hosts`,
        ["10.0.0.1 www.live.test", "10.0.0.2 mail.live.test", "10.0.0.3 db.live.test", ""].join(
          "\n",
        ),
      );
      const dnsmasq = (address: string, port: number) => [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--bind-interfaces",
        `--listen-address=${address}`,
        `--port=${port}`,
        "--user=root",
        "--pid-file=",
        "--local=/live.test/",
        `--addn-hosts=${dir}/hosts`,
        "--mx-host=live.test,mail.live.test,10",
      ];
      services.start(dnsmasq("127.0.0.1", loDns));
      services.start(dnsmasq(net.nsIp, 53), net.ns);
    } else missing.push("dnsmasq (DNS)");
    const sshOk = hasTool("sshd") && hasTool("ssh") && hasTool("ssh-keygen");
    if (sshOk) {
      await Deno.mkdir("/run/sshd", { recursive: true });
      await mustRun(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", `${dir}/host_key`]);
      await mustRun(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", `${dir}/client_key`]);
      await Deno.writeTextFile(
        `${dir}/sshd_config`,
        [
          `ListenAddress ${net.nsIp}`,
          `HostKey ${dir}/host_key`,
          "PidFile none",
          `AuthorizedKeysFile ${dir}/client_key.pub`,
          "PermitRootLogin prohibit-password",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "UsePAM no",
          "StrictModes no",
          // scp speaks SFTP since OpenSSH 9.
          "Subsystem sftp internal-sftp",
          "LogLevel ERROR",
          "",
        ].join("\n"),
      );
      services.start(["/usr/sbin/sshd", "-D", "-e", "-f", `${dir}/sshd_config`], net.ns);
    } else missing.push("sshd/ssh (SSH, scp)");
    if (hasTool("iperf3")) services.start(["iperf3", "-s", "-B", net.nsIp], net.ns);
    else missing.push("iperf3");

    const ssh = [
      "-i",
      `${dir}/client_key`,
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
    ];
    const inNs = (argv: string[]) => ["ip", "netns", "exec", net.ns, ...argv];
    if (hasTool("curl") && hasTool("python3")) {
      kinds.push(
        {
          name: "http lo",
          weight: 6,
          argv: () => ["curl", "-s", "-o", "/dev/null", `http://127.0.0.1:${loHttp}/index.html`],
        },
        {
          name: "http lo keep-alive",
          weight: 2,
          argv: () => [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            `http://127.0.0.1:${loHttp}/index.html`,
            `http://127.0.0.1:${loHttp}/medium.bin`,
            `http://127.0.0.1:${loHttp}/nothing-here`,
          ],
        },
        {
          name: "http ns",
          weight: 4,
          argv: () => ["curl", "-s", "-o", "/dev/null", `http://${net.nsIp}:8080/medium.bin`],
        },
        {
          name: "http ns download",
          weight: 1,
          argv: () => ["curl", "-s", "-o", "/dev/null", `http://${net.nsIp}:8080/large.bin`],
        },
        {
          name: "http ns to host",
          weight: 2,
          argv: () =>
            inNs(["curl", "-s", "-o", "/dev/null", `http://${net.hostIp}:${hostHttp}/index.html`]),
        },
      );
    } else missing.push("curl (HTTP clients)");
    if (hasTool("curl") && hasTool("openssl")) {
      kinds.push(
        {
          name: "https lo",
          weight: 4,
          argv: () => ["curl", "-s", "-k", "-o", "/dev/null", `https://127.0.0.1:${loHttps}/`],
        },
        {
          name: "https ns",
          weight: 3,
          argv: () => ["curl", "-s", "-k", "-o", "/dev/null", `https://${net.nsIp}:8443/`],
        },
      );
    }
    if (hasTool("dig") && hasTool("dnsmasq")) {
      const names = ["www.live.test", "mail.live.test", "db.live.test", "nothing.live.test"];
      const types = ["A", "AAAA", "MX"];
      let n = 0;
      kinds.push(
        {
          name: "dns lo",
          weight: 6,
          argv: () => [
            "dig",
            "+short",
            "+tries=1",
            "+time=2",
            "-p",
            String(loDns),
            "@127.0.0.1",
            names[n++ % 4],
            types[n % 3],
          ],
        },
        {
          name: "dns ns",
          weight: 5,
          argv: () => [
            "dig",
            "+short",
            "+tries=1",
            "+time=2",
            `@${net.nsIp}`,
            names[n++ % 4],
            types[n % 3],
          ],
        },
      );
    } else missing.push("dig (DNS clients)");
    if (sshOk) {
      kinds.push(
        { name: "ssh ns", weight: 2, argv: () => ["ssh", ...ssh, `root@${net.nsIp}`, "uptime"] },
        {
          name: "scp ns",
          weight: 1,
          argv: () => ["scp", "-q", ...ssh, `${www}/large.bin`, `root@${net.nsIp}:/dev/null`],
        },
      );
    }
    if (hasTool("iperf3")) {
      kinds.push({
        name: "iperf3 ns",
        weight: 0.3,
        argv: () => ["iperf3", "-c", net.nsIp, "-t", "3"],
        timeoutMs: 20_000,
      });
    }
    if (hasTool("ping")) {
      kinds.push({
        name: "ping ns",
        weight: 1,
        argv: () => ["ping", "-q", "-n", "-c", "3", "-i", "0.5", net.nsIp],
      });
    }

    const { program: server, ingestUrl } = await startServer(
      dir,
      { DATABASE_URL: pg.url, LOG_LEVEL: "warning" },
      true,
    );
    const serverPort = new URL(ingestUrl).port;
    const agent = spawnProgram(dir, "agent", "agent/main.ts", [], {
      SERVER_URL: ingestUrl,
      AGENT_TOKEN: BENCH_TOKEN,
      INTERFACE: `lo,${net.hostIf}`,
      // The check's own delivery and database would feed the agent its own output.
      CAPTURE_FILTER: `not (tcp port ${serverPort} or tcp port ${pg.port})`,
      BATCH_TIMEOUT: "5s",
      DATA_DIR: `${dir}/agent`,
      LOG_LEVEL: "warning",
    });
    // Services listening before the first request.
    await new Promise((r) => setTimeout(r, 3000));

    console.log(
      `live check: ${seconds} s on lo and ${net.hostIf} (namespace ${net.ns}); kinds: ` +
        kinds.map((k) => k.name).join(", ") +
        (missing.length ? `; missing: ${missing.join(", ")}` : ""),
    );
    const prng = createPrng(Number(values.seed));
    const totalWeight = kinds.reduce((s, k) => s + k.weight, 0);
    const counts: Record<string, { ran: number; failed: number }> = {};
    const deadline = Date.now() + seconds * 1000;
    const running = new Set<Promise<void>>();
    while (Date.now() < deadline && kinds.length > 0) {
      let pick = prng.next() * totalWeight;
      const kind = kinds.find((k) => (pick -= k.weight) < 0) ?? kinds[kinds.length - 1];
      const task = run(kind.argv(), kind.timeoutMs ?? 30_000).then((ok) => {
        counts[kind.name] ??= { ran: 0, failed: 0 };
        counts[kind.name].ran++;
        if (!ok) counts[kind.name].failed++;
      });
      running.add(task);
      task.finally(() => running.delete(task));
      // At most a few clients at once, like a person or two at work.
      if (running.size >= 3) await Promise.race(running);
      await new Promise((r) => setTimeout(r, 200 + prng.next() * 1800));
    }
    await Promise.all(running);
    console.log("traffic made (runs, failed):", JSON.stringify(counts));

    // The agent's last batch, then the aggregator takes everything stored.
    await new Promise((r) => setTimeout(r, 8000));
    await agent.kill("SIGTERM");
    const db = await openDatabase({ databaseUrl: pg.url });
    try {
      await waitAggregated(db.sql, 180_000);
      await server.kill("SIGTERM");
      // An hour later every flow has ended, as the running aggregator would see it.
      const loadAtEnd = await loadAverage();
      const scorer = await loadFlowScorer({
        modelPath: new URL("../models/flow_classifier.onnx", import.meta.url).pathname,
        expectedFeatureNames: FEATURE_NAMES,
        expectedFeatureVersion: FEATURE_VERSION,
      });
      const modelVersion = scorer.modelVersion;
      try {
        const nowMs = Date.now() + 3_600_000;
        for (let more = true; more;) {
          more = (await runAggregationPass({
            sql: db.sql,
            scorer,
            nowMs,
            copyNewFlows: true,
            alertMinScore: minScore,
          })).more;
        }
      } finally {
        await scorer.close();
      }
      const summary = await summarize(db.sql, minScore);
      const incidents = await db.sql<
        { label: string; key_kind: string; key_ip: string; flow_count: number }[]
      >`select label, key_kind, host(key_ip) as key_ip, flow_count::int from incidents order by id`;
      const alerts = await db.sql<Record<string, unknown>[]>`
        select interface, host(orig_ip) as orig, orig_port, host(resp_ip) as resp, resp_port,
          protocol, conn_state, orig_packets::int, resp_packets::int, orig_bytes::int,
          resp_bytes::int, round((last_seen - first_seen)::numeric, 3) as seconds, label, score
        from traffic_data where label <> 'benign' and score >= ${minScore}::real
        order by score desc, id limit 40`;
      const pct = summary.flows === 0 ? 0 : (100 * summary.alerting) / summary.flows;
      console.log(
        `flows ${summary.flows}, alerting ${summary.alerting} (${
          pct.toFixed(2)
        } %) at ALERT_MIN_SCORE ${minScore}`,
      );
      console.log("by label (flows, alerting):", JSON.stringify(summary.byLabel));
      console.log("by interface (flows, alerting):", JSON.stringify(summary.byInterface));
      console.log(`incidents opened: ${incidents.length}`, JSON.stringify(incidents));
      for (const a of alerts) console.log("  alert", JSON.stringify(a));
      const record: LiveCheckRecord = {
        date: new Date().toISOString(),
        seconds,
        modelVersion,
        alertMinScore: minScore,
        loadAverage: [loadAtStart, loadAtEnd],
        ...summary,
        incidents: incidents.length,
        traffic: counts,
        missing,
      };
      console.log(`LIVE_CHECK ${JSON.stringify(record)}`);
      if (values.record !== undefined) {
        await Deno.writeTextFile(values.record, JSON.stringify(record, null, 2) + "\n");
      }
      return pct > maxAlertPct || incidents.length > 0 ? 1 : 0;
    } finally {
      await db.close();
    }
  } finally {
    await killAllPrograms();
    await services.stop();
    await net.remove();
    await pg.destroy();
    if (!values["keep-dir"]) await Deno.remove(tmp, { recursive: true }).catch(() => {});
    else console.log(`kept ${tmp}`);
  }
}

if (import.meta.main) {
  const stop = () => {
    killAllPrograms().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  Deno.exit(await main(Deno.args));
}
