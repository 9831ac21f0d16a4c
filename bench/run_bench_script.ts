/**
 * Runs a wing's bench script in its own Deno process, with only the
 * permissions it is given, echoing its output and returning its stdout (read
 * the metrics from it with `parseBenchMetrics`).
 * The harness never imports the agent, server or aggregator; it runs their
 * scripts, the way those programs run in production.
 *
 * @module
 */
import { BENCH_METRICS_PREFIX } from "./bench_metrics.ts";

/** Options for {@linkcode runBenchScript}. */
export interface RunBenchScriptOptions {
  /** Arguments after the script path. @default {[]} */
  args?: string[];
  /** Deno permission flags, e.g. `["--allow-read"]`; never `-A`. */
  permissions: string[];
  /** CPU to pin the process (and its children) to with `taskset`; null leaves it free. @default {null} */
  cpu?: number | null;
  /** Seconds before the script is stopped with SIGTERM. @default {600} */
  timeoutSec?: number;
  /** V8 flags, e.g. `["--max-old-space-size=8192"]`. @default {[]} */
  v8Flags?: string[];
  /** Extra environment variables. @default {{}} */
  env?: Record<string, string>;
  /** Where the script's lines are echoed (without the metrics line). @default console.log with an indent */
  echo?: (line: string) => void;
}

/** Raised when a bench script fails or times out. */
export class BenchScriptError extends Error {
  /** @param message what failed, with the script's last lines */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "BenchScriptError";
  }
}

/** The command line that runs `script` under Deno (and `taskset` when pinned). */
export function benchScriptCommand(
  script: string,
  options: RunBenchScriptOptions,
): { command: string; args: string[] } {
  if (options.permissions.some((flag) => flag === "-A" || flag === "--allow-all")) {
    throw new RangeError(
      `Cannot run ${script} as 'permissions' must list permissions, not -A: current value is ${
        options.permissions.join(" ")
      }`,
    );
  }
  const v8 = options.v8Flags?.length ? [`--v8-flags=${options.v8Flags.join(",")}`] : [];
  const denoArgs = [
    "run",
    "--no-prompt",
    ...options.permissions,
    ...v8,
    script,
    ...(options.args ?? []),
  ];
  const cpu = options.cpu ?? null;
  return cpu === null
    ? { command: Deno.execPath(), args: denoArgs }
    : { command: "taskset", args: ["-c", String(cpu), Deno.execPath(), ...denoArgs] };
}

const TAIL_LINES = 15;

/**
 * Runs a bench script to its end and returns its stdout.
 *
 * @throws {BenchScriptError} when it exits with an error or times out.
 */
export async function runBenchScript(
  script: string,
  options: RunBenchScriptOptions,
): Promise<string> {
  const timeoutSec = options.timeoutSec ?? 600;
  const echo = options.echo ?? ((line: string) => console.log(`  ${line}`));
  const { command, args } = benchScriptCommand(script, options);
  const timeout = AbortSignal.timeout(timeoutSec * 1000);
  const child = new Deno.Command(command, {
    args,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: timeout,
  }).spawn();
  const stdout: string[] = [];
  const tail: string[] = [];
  const take = (line: string, fromStdout: boolean) => {
    if (fromStdout) stdout.push(line);
    if (fromStdout && line.startsWith(BENCH_METRICS_PREFIX)) return;
    echo(line);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  const pump = async (stream: ReadableStream<Uint8Array>, fromStdout: boolean) => {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const line of parts) take(line, fromStdout);
    }
    if (pending !== "") take(pending, fromStdout);
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, true),
    pump(child.stderr, false),
  ]);
  const name = script.split("/").slice(-2).join("/");
  if (timeout.aborted) {
    throw new BenchScriptError(`${name} did not finish within ${timeoutSec} s`);
  }
  if (!status.success) {
    throw new BenchScriptError(`${name} exited with code ${status.code}:\n${tail.join("\n")}`);
  }
  return stdout.join("\n");
}
