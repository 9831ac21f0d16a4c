/**
 * The project's programs as the bench runs them: `deno run` of the real
 * entry points with the tasks' permissions, each writing its output to a
 * file; a server started and answering; and what a run stored in
 * `raw_packets`, counted. Shared by bench/e2e.ts and bench/live.ts.
 *
 * @module
 */
import type { Sql } from "@traffic-analyzer/shared/db";
import { freePort } from "@traffic-analyzer/shared/testing";
import type { ThrowawayPostgres } from "@traffic-analyzer/shared/testing/throwaway_postgres";
import { Program, waitFor } from "../faults/fault_world.ts";

const ROOT = new URL("../", import.meta.url);
/** The bearer token the bench's servers accept and its agents send. */
export const BENCH_TOKEN = "bench-e2e-token";

/** Raised when a program fails or a run loses or duplicates packets. */
export class BenchRunError extends Error {
  /** @param message what went wrong */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "BenchRunError";
  }
}

let spawned = 0;
/** Everything started, so a SIGTERM (the harness's timeout) or SIGINT still cleans up. */
const started: Program[] = [];

/** Kills (SIGKILL) every program started here that still runs. */
export async function killAllPrograms(): Promise<void> {
  for (const program of started) await program.kill("SIGKILL");
}

/** Options for {@link spawnProgram}. */
export interface SpawnProgramOptions {
  /** Flags for `deno run` before the script, e.g. `--cpu-prof`. @default none */
  denoFlags?: string[];
}

/** Starts a project program as `deno run` with the task's permissions, its output to a file. */
export function spawnProgram(
  dir: string,
  name: string,
  script: string,
  args: string[],
  env: Record<string, string>,
  options: SpawnProgramOptions = {},
): Program {
  const logPath = `${dir}/${++spawned}-${name}.out`;
  const log = Deno.openSync(logPath, { write: true, create: true, truncate: true });
  const base: Record<string, string> = { NO_COLOR: "1", LOG_DIR: `${dir}/logs-${spawned}` };
  for (const key of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
    const value = Deno.env.get(key);
    if (value !== undefined) base[key] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      new URL("deno.json", ROOT).pathname,
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "--allow-read",
      // The folder, and the temporary one (the embedded database's socket folder).
      `--allow-write=${dir},${Deno.env.get("TMPDIR") ?? "/tmp"}`,
      "--allow-ffi",
      "--allow-run",
      ...(options.denoFlags ?? []),
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
  const program = new Program(name, logPath, child, log);
  started.push(program);
  return program;
}

export async function startServer(
  dir: string,
  env: Record<string, string>,
  aggregate: boolean,
  options: SpawnProgramOptions = {},
): Promise<{ program: Program; ingestUrl: string }> {
  const port = freePort();
  const program = spawnProgram(
    dir,
    "server",
    "start.ts",
    ["--role", "serve", ...(aggregate ? [] : ["--no-aggregate"])],
    {
      PORT: String(port),
      DATA_DIR: `${dir}/server`,
      INGEST_TOKENS: BENCH_TOKEN,
      LOG_LEVEL: "warning",
      ...env,
    },
    options,
  );
  await waitFor(
    "the server to answer",
    async () => {
      if (!program.running) throw new BenchRunError(`server exited:\n${await program.output()}`);
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      await res.body?.cancel();
      return res.ok;
    },
    180_000,
    program,
  );
  return { program, ingestUrl: `http://127.0.0.1:${port}/ingest_packets` };
}

/** `count(*)` and `count(distinct …)` over what identifies a packet, in raw_packets. */
export async function packetCounts(sql: Sql): Promise<{ rows: number; distinct: number }> {
  const [row]: [{ rows: number; distinct: number }] = await sql`
    select count(*)::int as rows,
      count(distinct ("timestamp", interface, src_ip, src_port, dst_ip, dst_port, length,
        ip_id, tcp_seq, tcp_ack, tcp_flags, md5(data)))::int as distinct
    from raw_packets`;
  return row;
}

/** Runs psql on database `name` of the cluster (ThrowawayPostgres.psql is bound to `postgres`). */
export async function runPsql(pg: ThrowawayPostgres, name: string, command: string): Promise<void> {
  const bin = Deno.env.get("PG_BIN") ?? pgBinDir();
  const out = await new Deno.Command(`${bin}/psql`, {
    args: ["-h", "127.0.0.1", "-p", String(pg.port), "-U", "postgres", "-d", name, "-X", "-q"]
      .concat(["-v", "ON_ERROR_STOP=1", "-c", command]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new BenchRunError(`psql ${command}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

function pgBinDir(): string {
  const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => Number(e.name))
    .filter((n) => Number.isFinite(n)).sort((a, b) => b - a);
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/**
 * Moves this process's temporary folder (TMPDIR) into a folder of its own,
 * where throwaway clusters are made: other test processes on the machine
 * sweep `ta-pg-*` folders in /tmp whose owner pid they cannot see (another
 * pid namespace), and removed one of the bench's clusters mid-run. Returns
 * the folder, for the caller to remove at the end.
 */
export async function privateTmpDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ta-bench-tmp-" });
  // The postgres user creates its cluster in it.
  await Deno.chmod(dir, 0o755);
  Deno.env.set("TMPDIR", dir);
  return dir;
}
