/** Options for {@link startCapture}. */
export interface StartCaptureOptions {
  /** Namespace tcpdump runs in. */
  netns: string;
  /** Interface to listen on. */
  interface: string;
  /**
   * Bytes kept of each packet. Headers are all the features need, and the
   * wire length stays in each record either way.
   * @default {128}
   */
  snaplen?: number;
  /**
   * How long to wait for tcpdump to say it is listening.
   * @default {10000}
   */
  readyTimeoutMs?: number;
}

/** What tcpdump reported when it stopped. */
export interface CaptureStats {
  /** "packets captured", or null when tcpdump did not say. */
  captured: number | null;
  /** "packets dropped by kernel", or null when tcpdump did not say. */
  dropped: number | null;
}

/** A running capture. */
export interface RunningCapture {
  /** Stops tcpdump (SIGINT, so it flushes the file) and returns its counters. */
  stop(): Promise<CaptureStats>;
}

/** Raised when tcpdump does not start listening. */
export class TcpdumpStartError extends Error {
  /** Creates the error; `cause` carries the underlying error, if any. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "TcpdumpStartError";
  }
}

/**
 * Starts tcpdump writing a pcap file and resolves once it listens, so no
 * traffic sent afterwards is missed. `-U` flushes each packet, so even a
 * killed capture leaves a readable file; `-Z root` keeps tcpdump from
 * dropping to a user that could not write the file.
 */
export async function startCapture(
  path: string,
  options: StartCaptureOptions,
): Promise<RunningCapture> {
  const snaplen = options.snaplen ?? 128;
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  if (!Number.isInteger(snaplen) || snaplen < 64 || snaplen > 262144) {
    throw new RangeError(
      `Cannot start capture as 'snaplen' must be 64..262144: current value is ${snaplen}`,
    );
  }
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      options.netns,
      "tcpdump",
      "-i",
      options.interface,
      "-n",
      "-U",
      "-s",
      String(snaplen),
      "-Z",
      "root",
      "-w",
      path,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let stderr = "";
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const drained = (async () => {
    for await (const chunk of child.stderr) {
      stderr += decoder.decode(chunk, { stream: true });
      if (stderr.includes("listening on")) resolveReady();
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    ready.then(() => "ready" as const),
    child.status.then(() => "exited" as const),
    new Promise<"timeout">((
      resolve,
    ) => (timer = setTimeout(() => resolve("timeout"), readyTimeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome !== "ready") {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited already.
    }
    await child.status;
    await drained;
    throw new TcpdumpStartError(
      `Cannot start capture on ${options.netns}/${options.interface}: ${stderr.trim()}`,
    );
  }
  return {
    async stop(): Promise<CaptureStats> {
      try {
        child.kill("SIGINT");
      } catch {
        // It has exited already; its counters are still in stderr.
      }
      await child.status;
      await drained;
      const num = (re: RegExp) => {
        const m = re.exec(stderr);
        return m ? Number(m[1]) : null;
      };
      return {
        captured: num(/(\d+) packets? captured/),
        dropped: num(/(\d+) packets? dropped by kernel/),
      };
    },
  };
}
