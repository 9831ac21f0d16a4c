import type { LabNetwork } from "./lab_network.ts";
import { runCommand } from "./run_command.ts";
import type { PlannedService } from "./scenario_plan.ts";

/** Options for {@link startLabServices}. */
export interface StartLabServicesOptions {
  /**
   * How long each service may take to listen on its port.
   * @default {10000}
   */
  readyTimeoutMs?: number;
  /**
   * Grace between SIGTERM and SIGKILL when stopping.
   * @default {2000}
   */
  stopTimeoutMs?: number;
}

/** Running services. */
export interface RunningServices {
  /** Stops every service: SIGTERM, then SIGKILL after the grace period. */
  stop(): Promise<void>;
}

/** Raised when a service exits early or never listens. */
export class ServiceError extends Error {
  /** Creates the error; `cause` carries the underlying error, if any. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "ServiceError";
  }
}

/**
 * Starts the server-side processes of a run (web servers, DNS, SSH, iperf3)
 * inside their host namespaces and waits until each listens on its port, so
 * the first client request of a run is answered instead of refused.
 */
export async function startLabServices(
  services: readonly PlannedService[],
  network: LabNetwork,
  options: StartLabServicesOptions = {},
): Promise<RunningServices> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 2000;
  const running: { name: string; child: Deno.ChildProcess; stderr: () => string }[] = [];
  const stop = async () => {
    for (const r of running) {
      try {
        r.child.kill("SIGTERM");
      } catch {
        // Exited already.
      }
    }
    await Promise.all(running.map(async (r) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = await Promise.race([
        r.child.status.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), stopTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (killed) {
        try {
          r.child.kill("SIGKILL");
        } catch {
          // Exited in the meantime.
        }
        await r.child.status;
      }
    }));
  };
  try {
    for (const s of services) {
      const ns = network.hosts[s.host].namespace;
      const child = new Deno.Command("ip", {
        args: ["netns", "exec", ns, ...s.argv],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let stderr = "";
      const decoder = new TextDecoder();
      (async () => {
        for await (const chunk of child.stderr) {
          // Only the start matters for errors; the rest (request logs) is dropped.
          if (stderr.length < 4000) stderr += decoder.decode(chunk, { stream: true });
        }
      })();
      const entry = { name: s.name, child, stderr: () => stderr };
      running.push(entry);
      let exited = false;
      child.status.then(() => (exited = true));
      const deadline = Date.now() + readyTimeoutMs;
      for (;;) {
        const probe = await runCommand(
          [
            "ss",
            "-H",
            "-l",
            "-n",
            s.readyProtocol === "tcp" ? "-t" : "-u",
            "sport",
            "=",
            `:${s.readyPort}`,
          ],
          { netns: ns, timeoutMs: 5000 },
        );
        if (probe.code === 0 && probe.stdout.trim() !== "") break;
        if (exited) {
          throw new ServiceError(`Cannot start service ${s.name}: it exited: ${stderr.trim()}`);
        }
        if (Date.now() > deadline) {
          throw new ServiceError(
            `Cannot start service ${s.name}: not listening on ${s.readyProtocol}/${s.readyPort} after ${readyTimeoutMs} ms`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (cause) {
    await stop();
    throw cause;
  }
  return { stop };
}
