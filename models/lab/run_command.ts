/** Options for {@link runCommand}. */
export interface RunCommandOptions {
  /** Run inside this network namespace (`ip netns exec <ns> …`); omit to run `argv` as is. */
  netns?: string;
  /**
   * Hard limit; the process gets SIGKILL when it runs longer.
   * @default {60000}
   */
  timeoutMs?: number;
  /** Working directory. */
  cwd?: string;
  /** Aborting kills the process (SIGKILL) and the call resolves. */
  signal?: AbortSignal;
  /**
   * How many trailing characters of stdout and stderr to keep.
   * @default {4000}
   */
  keepChars?: number;
}

/** What a finished command left behind. */
export interface CommandResult {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** True when the time limit killed it. */
  timedOut: boolean;
  /** True when the abort signal killed it. */
  aborted: boolean;
  /** The tail of stdout. */
  stdout: string;
  /** The tail of stderr. */
  stderr: string;
}

/** Raised when a command that must succeed does not. */
export class LabCommandError extends Error {
  /** The failed command line. */
  argv: string[];
  /** What it left behind. */
  result: CommandResult | null;
  /** Creates the error; `cause` carries a spawn failure, if any. */
  constructor(
    message: string,
    options: { argv: string[]; result?: CommandResult | null; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "LabCommandError";
    this.argv = options.argv;
    this.result = options.result ?? null;
  }
}

/**
 * Runs one program to its end under a hard time limit, optionally inside a
 * lab network namespace. Everything the lab runs goes through `ip`, so the
 * lab needs only `--allow-run=ip`. A non-zero exit is reported, not thrown:
 * tools such as hydra exit non-zero on normal outcomes.
 *
 * @example
 * ```ts
 * const r = await runCommand(["dig", "@10.77.0.10", "www.lab.test"], { netns: "talab-c1" });
 * ```
 */
export async function runCommand(
  argv: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const keepChars = options.keepChars ?? 4000;
  if (argv.length === 0) {
    throw new RangeError("Cannot run a command as 'argv' is empty");
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(
      `Cannot run a command as 'timeoutMs' must be > 0: current value is ${timeoutMs}`,
    );
  }
  const full = options.netns === undefined
    ? [...argv]
    : ["ip", "netns", "exec", options.netns, ...argv];
  if (full[0] !== "ip") {
    throw new RangeError(
      `Cannot run a command as the lab runs everything through 'ip': current program is ${full[0]}`,
    );
  }
  if (options.signal?.aborted) {
    return { code: null, timedOut: false, aborted: true, stdout: "", stderr: "" };
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("ip", {
      args: full.slice(1),
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (cause) {
    throw new LabCommandError(`Cannot start ${argv.join(" ")}`, { argv: [...argv], cause });
  }
  let timedOut = false;
  let aborted = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited between the check and the kill: nothing to do.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);
  const onAbort = () => {
    aborted = true;
    kill();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const [stdout, stderr, status] = await Promise.all([
      tail(child.stdout, keepChars),
      tail(child.stderr, keepChars),
      child.status,
    ]);
    return { code: status.signal === null ? status.code : null, timedOut, aborted, stdout, stderr };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

async function tail(stream: ReadableStream<Uint8Array>, keepChars: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length > keepChars * 2) text = text.slice(-keepChars);
  }
  text += decoder.decode();
  return text.slice(-keepChars);
}
