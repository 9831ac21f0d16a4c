/**
 * The fault suite's world: a PostgreSQL cluster of its own (so it may be
 * restarted, filled and cut off freely), a temporary folder, and the real
 * programs (`start.ts --role serve`, `aggregator/main.ts`, `agent/main.ts`,
 * `agent/replay_main.ts`) started as the tasks start them, each writing its
 * output to a file the failure message points at.
 *
 * @module
 */
import assert from "node:assert/strict";
import { openDatabase, type Sql } from "@traffic-analyzer/shared/db";
import { freePort } from "@traffic-analyzer/shared/testing";
import {
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from "@traffic-analyzer/shared/testing/throwaway_postgres";

const ROOT = new URL("../", import.meta.url);
const CONFIG = new URL("deno.json", ROOT).pathname;
/**
 * REORDER_WAIT of the suite's aggregators: longer than any pause a case
 * makes in a capture's delivery (an agent killed and run again, uploads in
 * flight), shorter than the default so the last flows end within the
 * suite's waits (packet time follows the wall clock only this long after
 * the last packets).
 */
const REORDER_WAIT = "15s";

/** The bearer token every server of the suite accepts. */
export const TOKEN = "faults10-token";

/**
 * Polls `check` until it returns true, failing after `timeoutMs` with `what`
 * and, when given, the output of `program` (what a reader needs to see why).
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 120_000,
  program?: Program,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) {
      const output = program ? `\n--- ${program.name}:\n${await program.output()}` : "";
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A program of the project running as a child process. */
export class Program {
  readonly name: string;
  readonly logPath: string;
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<void>;
  #exit: Deno.CommandStatus | null = null;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(name: string, logPath: string, child: Deno.ChildProcess, log: Deno.FsFile) {
    this.name = name;
    this.logPath = logPath;
    this.#child = child;
    const copy = async (stream: ReadableStream<Uint8Array>) => {
      // Written as it comes, so a test can read the output of a program that still runs.
      for await (const chunk of stream) log.writeSync(chunk);
    };
    this.#output = Promise.all([copy(child.stdout), copy(child.stderr)]).then(() => log.close());
    this.status = child.status.then(async (status) => {
      this.#exit = status;
      await this.#output.catch(() => {});
      return status;
    });
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** True until the process exits. */
  get running(): boolean {
    return this.#exit === null;
  }

  /** Its output so far. */
  async output(): Promise<string> {
    return await Deno.readTextFile(this.logPath).catch(() => "");
  }

  /** Sends a signal (SIGKILL for `kill -9`) and waits for the exit. */
  async kill(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    if (this.running) {
      try {
        this.#child.kill(signal);
      } catch { /* exited meanwhile */ }
    }
    return await this.status;
  }

  /** Waits for the exit and asserts its code is one of `codes`. */
  async exits(codes: number | number[], timeoutMs = 180_000): Promise<void> {
    await waitFor(`${this.name} to exit`, () => !this.running, timeoutMs, this);
    const status = await this.status;
    const allowed = typeof codes === "number" ? [codes] : codes;
    assert.ok(
      allowed.includes(status.code),
      `${this.name} exited ${status.code}, not ${allowed.join(" or ")}; its output:\n${await this
        .output()}`,
    );
  }
}

/**
 * Exit codes of `agent --read` that end a read: 0 everything delivered, or
 * 3 some batches wait in the outbox (the server was unreachable), for
 * `deno task replay` or the next run.
 */
export const READ_DONE = [0, 3];

/** Options for a server. */
export interface ServerOptions {
  /** Database URL. */
  url: string;
  /** Port; a free one when absent (reuse it to restart "the same" server). */
  port?: number;
  /** Run the aggregator in-process. @default true */
  aggregate?: boolean;
  /** Extra environment. */
  env?: Record<string, string>;
}

/** A running server and where it listens. */
export interface ServerProgram extends Program {
  port: number;
  /** Its ingest URL. */
  ingestUrl: string;
}

/** An agent id with a data folder of its own (see {@link FaultWorld.sensor}). */
export interface Sensor {
  agentId: string;
  dataDir: string;
  /** Starts `deno task agent` with `args`, delivering to `serverUrl`. */
  agent(args: string[], options: { serverUrl: string; env?: Record<string, string> }): Program;
  /**
   * Runs `deno task replay` until nothing is left stored; on a timeout the
   * error carries `server`'s output, when given, to show why it refused.
   */
  drain(serverUrl: string, server?: Program): Promise<void>;
  /** The persisted counters (`deno task agent --status --json`). */
  counters(): Promise<Record<string, number>>;
}

/** The world of one fault test file. */
export class FaultWorld {
  readonly pg: ThrowawayPostgres;
  readonly dir: string;
  readonly #programs: Program[] = [];
  readonly #databases: { sql: Sql; close(): Promise<void> }[] = [];
  #count = 0;

  private constructor(pg: ThrowawayPostgres, dir: string) {
    this.pg = pg;
    this.dir = dir;
  }

  /** Starts the cluster and makes the folder. */
  static async create(): Promise<FaultWorld> {
    const pg = await startThrowawayPostgres();
    const dir = await Deno.makeTempDir({ prefix: "ta-faults-" });
    return new FaultWorld(pg, dir);
  }

  /** A new empty database on the cluster; returns its URL. */
  async database(name: string): Promise<string> {
    await this.pg.psql(`create database ${name}`);
    return this.pg.url.replace(/\/postgres$/, `/${name}`);
  }

  /** A client of `url` for the test's own queries (closed by {@link destroy}). */
  async client(url: string): Promise<Sql> {
    const db = await openDatabase({ databaseUrl: url, poolSize: 2, applicationName: "faults" });
    this.#databases.push(db);
    return db.sql;
  }

  #spawn(name: string, script: string, args: string[], env: Record<string, string>, write: string) {
    const id = `${++this.#count}-${name}`;
    const logPath = `${this.dir}/${id}.out`;
    const log = Deno.openSync(logPath, { write: true, create: true, truncate: true });
    const base: Record<string, string> = { NO_COLOR: "1", LOG_DIR: `${this.dir}/logs/${id}` };
    for (const key of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
      const value = Deno.env.get(key);
      if (value !== undefined) base[key] = value;
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        CONFIG,
        "--allow-net",
        "--allow-env",
        "--allow-sys",
        "--allow-read",
        `--allow-write=${write}`,
        "--allow-ffi",
        "--allow-run",
        new URL(script, ROOT).pathname,
        ...args,
      ],
      cwd: ROOT.pathname,
      env: { ...base, ...env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const program = new Program(id, logPath, child, log);
    this.#programs.push(program);
    return program;
  }

  /** Starts `deno task serve` and waits until it answers. */
  async server(options: ServerOptions): Promise<ServerProgram> {
    const port = options.port ?? freePort();
    const dataDir = `${this.dir}/server-${port}`;
    const program = this.#spawn(
      `server-${port}`,
      "start.ts",
      ["--role", "serve", ...(options.aggregate === false ? ["--no-aggregate"] : [])],
      {
        DATABASE_URL: options.url,
        PORT: String(port),
        DATA_DIR: dataDir,
        INGEST_TOKENS: TOKEN,
        AGGREGATE_INTERVAL: "1s",
        REORDER_WAIT: REORDER_WAIT,
        ...options.env,
      },
      this.dir,
    );
    await waitFor(`${program.name} to answer (see ${program.logPath})`, async () => {
      assert.ok(program.running, `${program.name} exited:\n${await program.output()}`);
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      await res.body?.cancel();
      return true;
    });
    return Object.assign(program, {
      port,
      ingestUrl: `http://127.0.0.1:${port}/ingest_packets`,
    });
  }

  /** Starts `deno task aggregate` (every second). */
  aggregator(url: string, env: Record<string, string> = {}): Program {
    return this.#spawn("aggregator", "aggregator/main.ts", [], {
      DATABASE_URL: url,
      AGGREGATE_INTERVAL: "1s",
      REORDER_WAIT: REORDER_WAIT,
      ...env,
    }, this.dir);
  }

  /**
   * A capture point: an agent id with a data folder (outbox, progress,
   * counters) of its own. Running it again is the same machine running the
   * agent again; another sensor is another machine.
   */
  sensor(agentId: string): Sensor {
    const dataDir = `${this.dir}/sensor-${++this.#count}-${agentId}`;
    const spawn = (name: string, script: string, args: string[], env: Record<string, string>) =>
      this.#spawn(`${name}-${agentId}`, script, args, { DATA_DIR: dataDir, ...env }, this.dir);
    return {
      agentId,
      dataDir,
      agent: (args, options) =>
        spawn("agent", "agent/main.ts", args, {
          SERVER_URL: options.serverUrl,
          AGENT_TOKEN: TOKEN,
          AGENT_ID: agentId,
          BATCH_SIZE: "100",
          BATCH_TIMEOUT: "1s",
          MAX_RETRIES: "1",
          RETRY_DELAY: "200ms",
          ...options.env,
        }),
      drain: (serverUrl, server) =>
        waitFor(
          `agent ${agentId}'s outbox to drain`,
          async () => {
            const replay = spawn("replay", "agent/replay_main.ts", [], {
              SERVER_URL: serverUrl,
              AGENT_TOKEN: TOKEN,
              AGENT_ID: agentId,
            });
            return (await replay.status).code === 0;
          },
          120_000,
          server,
        ),
      async counters() {
        const status = spawn("status", "agent/main.ts", ["--status", "--json"], {
          LOG_LEVEL: "error",
        });
        await status.exits(0);
        const text = await status.output();
        return JSON.parse(text.slice(text.indexOf("{"))).counters;
      },
    };
  }

  /**
   * Stops every program still running, the clients and the cluster; removes
   * the folder, unless `FAULT_KEEP=1`, which keeps every program's output
   * (and the cluster's log) there to read after a failure.
   */
  async destroy(): Promise<void> {
    for (const program of this.#programs) await program.kill("SIGKILL");
    for (const db of this.#databases) await db.close().catch(() => {});
    const keep = Deno.env.get("FAULT_KEEP") === "1";
    if (keep) {
      await Deno.copyFile(`${this.pg.dataDir}/../server.log`, `${this.dir}/postgres.log`)
        .catch(() => {});
    }
    await this.pg.destroy();
    if (keep) console.error(`FAULT_KEEP: the programs' output is in ${this.dir}`);
    else await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** `count(*)` and `count(distinct packet)` in `raw_packets`. */
export async function packetCounts(sql: Sql): Promise<{ rows: number; distinct: number }> {
  const [row]: [{ rows: number; distinct: number }] = await sql`
    select count(*)::int as rows,
      count(distinct (agent_id, "timestamp", src_ip, src_port, dst_ip, dst_port, tcp_seq,
        tcp_ack, tcp_flags))::int as distinct
    from raw_packets`;
  return row;
}

/**
 * Every flow, as one comparable line each, in uid order: what it is and
 * counts first, then `|`-separated what it was scored with (the feature
 * vector, label, score and model), after a ` # `.
 */
export async function trafficData(sql: Sql): Promise<string[]> {
  const rows = await sql<{ row: string }[]>`
    select concat_ws('|', flow_uid, community_id, interface, host(orig_ip), orig_port,
      host(resp_ip), resp_port, protocol, first_seen, last_seen, orig_packets, resp_packets,
      orig_bytes, resp_bytes, state, close_reason, conn_state) || ' # ' ||
      concat_ws('|', encode(features, 'hex'), label, score, model_version) as row
    from traffic_data order by flow_uid`;
  return rows.map((r) => r.row);
}

/**
 * Waits until the aggregator has taken every stored batch and every flow has
 * ended (the captures' conversations all close), so traffic_data is final.
 * Returns false when that did not happen within `timeoutMs`: flows that stay
 * active then are the finding, for the caller to report.
 */
export async function waitAggregated(sql: Sql, timeoutMs = 120_000): Promise<boolean> {
  try {
    await waitFor("every batch aggregated and every flow ended", async () => {
      const [row]: [{ behind: number; active: number; flows: number }] = await sql`
        select
          (select count(*) from ingest_batches
            where id > (select last_batch_id from aggregator_progress)
              and not aggregated)::int as behind,
          (select count(*) from traffic_data where state = 'active')::int as active,
          (select count(*) from traffic_data)::int as flows`;
      return row.behind === 0 && row.active === 0 && row.flows > 0;
    }, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

/**
 * Batches an agent stored after one of its later batches (by capture time):
 * the aggregator merges them in capture order all the same (unless it
 * stopped waiting for them, which `late_batches` and `skipped_gaps` count).
 */
export async function batchesOutOfOrder(sql: Sql): Promise<number> {
  const [{ late }]: [{ late: number }] = await sql`
    with b as (
      select agent_id, batch_id, min("timestamp") as t from raw_packets group by 1, 2
    )
    select count(*) filter (where t < previous)::int as late
    from (select t, lag(t) over (partition by agent_id order by batch_id) as previous from b) x`;
  return late;
}

/** What differs between two traffic_data snapshots, in a few lines. */
async function describeDifference(
  sql: Sql,
  what: string,
  flows: string[],
  clean: string[],
): Promise<string> {
  const cleanSet = new Set(clean);
  const got = new Set(flows);
  const extra = flows.filter((f) => !cleanSet.has(f));
  const missing = clean.filter((f) => !got.has(f));
  const byState = await sql<{ state: string; close_reason: string | null; n: number }[]>`
    select state, close_reason, count(*)::int as n from traffic_data group by 1, 2 order by 1, 2`;
  const late = await batchesOutOfOrder(sql);
  const [merged]: [{ late_batches: number; skipped_gaps: number }] = await sql`
    select late_batches::int, skipped_gaps::int from aggregator_progress`;
  const cut = (line: string | undefined) => line === undefined ? "-" : line.slice(0, 300);
  return [
    `${what} differ from a clean run's: ${flows.length} flows, the clean run ${clean.length}`,
    `  here by state: ${byState.map((r) => `${r.state}/${r.close_reason}: ${r.n}`).join(", ")}`,
    `  ${extra.length} not in the clean run, e.g. ${cut(extra[0])}`,
    `  ${missing.length} of the clean run's not here, e.g. ${cut(missing[0])}`,
    `  batches stored out of capture order: ${late}; merged out of capture order: ` +
    `${merged.late_batches} late, ${merged.skipped_gaps} gaps not waited for (REORDER_WAIT)`,
  ].join("\n");
}

/** Packets and bytes over all flows, from `trafficData()` lines. */
function flowTotals(lines: string[]): { packets: number; bytes: number } {
  let packets = 0;
  let bytes = 0;
  for (const line of lines) {
    const f = line.split(" # ")[0].split("|");
    packets += Number(f[10]) + Number(f[11]);
    bytes += Number(f[12]) + Number(f[13]);
  }
  return { packets, bytes };
}

/**
 * Asserts the promises of the suite (the README's Guarantees): every packet
 * of the captures stored exactly once and counted in exactly one flow, and
 * traffic_data equal to a clean run's, flows, counts, features and scores,
 * whatever order the batches were stored in (the aggregator merges each
 * agent's batches in capture order, and each agent's flows have a clock and
 * context windows of their own, so several agents' batches may interleave).
 */
export async function assertExactlyOnce(
  sql: Sql,
  expected: { packets: number; flows: string[] },
): Promise<void> {
  const counts = await packetCounts(sql);
  assert.equal(counts.rows, counts.distinct, "no packet stored twice in raw_packets");
  assert.equal(counts.rows, expected.packets, "every captured packet stored");
  // A clean run's flows all end within seconds; a minute is plenty.
  await waitAggregated(sql, 60_000);
  const flows = await trafficData(sql);
  assert.deepEqual(
    flowTotals(flows),
    flowTotals(expected.flows),
    "every packet and byte counted in exactly one flow, as in the clean run",
  );
  const counters = (lines: string[]) => lines.map((line) => line.split(" # ")[0]);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(counters(flows), counters(expected.flows))) {
    assert.fail(await describeDifference(sql, "flows", counters(flows), counters(expected.flows)));
  }
  if (!same(flows, expected.flows)) {
    assert.fail(await describeDifference(sql, "features or scores", flows, expected.flows));
  }
}

/** Holds the ingest lock of a database from a session of its own until released. */
export async function holdIngestLock(url: string): Promise<{ release(): Promise<void> }> {
  const db = await openDatabase({ databaseUrl: url, poolSize: 1, applicationName: "faults-lock" });
  await db.sql`select pg_advisory_lock(hashtext('traffic_analyzer_ingest:' || current_schema()))`;
  return {
    async release() {
      await db.close();
    },
  };
}
