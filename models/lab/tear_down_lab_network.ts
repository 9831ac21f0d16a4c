import type { LabNetwork } from "./lab_network.ts";
import { runCommand } from "./run_command.ts";

/** Options for {@link tearDownLabNetwork}. */
export interface TearDownLabNetworkOptions {
  /** Called with a line for each namespace removed and each leftover process killed. */
  log?: (line: string) => void;
}

/**
 * Removes every namespace whose name starts with the lab prefix, after
 * killing the processes still inside them (services, forked server children,
 * a tool left over by an interrupted run). Deleting a host namespace also
 * deletes its veth pair. Safe to call when nothing is set up, and meant to be
 * called from `finally` and signal handlers; it never throws.
 */
export async function tearDownLabNetwork(
  network: LabNetwork,
  options: TearDownLabNetworkOptions = {},
): Promise<void> {
  const log = options.log ?? (() => {});
  const list = await runCommand(["ip", "netns", "list"], { timeoutMs: 10_000 });
  const names = list.stdout.split("\n")
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name) => name !== undefined && name.startsWith(network.namespacePrefix));
  for (const ns of names) {
    const pids = (await runCommand(["ip", "netns", "pids", ns], { timeoutMs: 10_000 })).stdout
      .split(/\s+/).filter((p) => /^\d+$/.test(p));
    if (pids.length > 0) {
      log(`killing ${pids.length} leftover process(es) in ${ns}: ${pids.join(" ")}`);
      // The pids come from `ip netns pids`, so only processes living in a lab namespace are named.
      await runCommand(["kill", "-KILL", ...pids], { netns: ns, timeoutMs: 10_000 });
    }
  }
  // Host namespaces first: their veth peers vanish with them, then the bridge.
  const ordered = [...names].sort((a, b) =>
    Number(a === network.bridgeNamespace) - Number(b === network.bridgeNamespace)
  );
  for (const ns of ordered) {
    const r = await runCommand(["ip", "netns", "del", ns], { timeoutMs: 10_000 });
    log(
      r.code === 0
        ? `removed namespace ${ns}`
        : `could not remove namespace ${ns}: ${r.stderr.trim()}`,
    );
  }
}
