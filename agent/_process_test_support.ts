/**
 * Test support for the agent's tests that run programs: the real server as a
 * subprocess (the agent may not import `server/`), the agent's own programs,
 * and tshark as the oracle for capture times. Kept apart from
 * `_test_support.ts` so that the fast unit tests (`deno task test:unit`) can
 * use that without importing code that spawns processes. Private to this
 * folder.
 *
 * @module
 */
import { ROOT, type ServerDatabase, type TestServer } from "./_test_support.ts";

/** Options for {@link startTestServer}. */
export interface StartTestServerOptions {
  /** Port to listen on. */
  port: number;
  /** DATA_DIR (PGlite lives here on the embedded default; the generated token too). */
  dataDir: string;
  /** The database. */
  database: ServerDatabase;
  /** INGEST_TOKENS; null lets the server generate DATA_DIR/ingest_token. */
  tokens: string[] | null;
  /** More environment (e.g. MAX_BATCH_RECORDS). */
  env?: Record<string, string>;
}

/** Starts `server/main.ts --no-aggregate` and waits until `/health` answers 200. */
export async function startTestServer(options: StartTestServerOptions): Promise<TestServer> {
  const env: Record<string, string> = {
    ...options.database.env,
    PORT: String(options.port),
    HOST: "127.0.0.1",
    DATA_DIR: options.dataDir,
    LOG_DIR: `${options.dataDir}/server-logs`,
    LOG_LEVEL: "warning",
    ...options.env,
  };
  if (options.tokens !== null) env.INGEST_TOKENS = options.tokens.join(",");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}server/main.ts`, "--no-aggregate"],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (!exited) child.kill("SIGKILL");
    }, 15_000);
    await status;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 90_000;
  while (true) {
    if (exited) throw new Error(`server exited early with ${(await status).code}`);
    try {
      const response = await fetch(`${baseUrl}/health`);
      await response.body?.cancel();
      if (response.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server on ${baseUrl} did not become healthy`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { baseUrl, ingestUrl: `${baseUrl}/ingest_packets`, stop };
}

/** A running agent program whose output is collected as it comes. */
export interface SpawnedAgent {
  /** The process. */
  child: Deno.ChildProcess;
  /** stdout and stderr so far, interleaved. */
  readonly output: string;
  /** stderr so far. */
  readonly stderr: string;
  /** Waits for the exit (killed with SIGKILL after `timeoutMs` from the start). */
  finished(): Promise<Deno.CommandStatus>;
}

/** Starts `agent/main.ts` with `args`; killed after `timeoutMs` if still running. */
export function spawnAgent(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 180_000,
): SpawnedAgent {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}agent/main.ts`, ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let stderr = "";
  const collect = async (stream: ReadableStream<Uint8Array>, isErr: boolean) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      if (isErr) stderr += text;
    }
  };
  const collected = Promise.all([collect(child.stdout, false), collect(child.stderr, true)]);
  const watchdog = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return {
    child,
    get output() {
      return output;
    },
    get stderr() {
      return stderr;
    },
    async finished() {
      const status = await child.status;
      await collected;
      clearTimeout(watchdog);
      return status;
    },
  };
}

/** Output of an agent program run. */
export interface ProgramOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `agent/<program>` to completion (killed after `timeoutMs`). */
export async function runProgram(
  program: "main.ts" | "replay_main.ts",
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<ProgramOutput> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}agent/${program}`, ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Capture times of every frame as tshark reads them (the oracle), as the
 * decimal strings it prints (`frame.time_epoch`, nanosecond digits). tshark
 * also reads pcapng files with several link types, which tcpdump refuses.
 */
export async function tsharkTimestamps(path: string): Promise<string[]> {
  const out = await new Deno.Command("tshark", {
    args: ["-r", path, "-T", "fields", "-e", "frame.time_epoch"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim()).filter((l) =>
    l !== ""
  );
}
