/**
 * The traffic lab: builds a namespace network, runs real benign and attack
 * tools inside it, and writes labelled captures to models/captures/.
 *
 * Run as root: `deno task lab --seed 1 --runs 7`, or `deno task lab --demo`.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { findMissingTools } from "./find_missing_tools.ts";
import { LAB_NETWORK } from "./lab_network.ts";
import { LAB_USAGE, LabArgsError, parseLabArgs } from "./parse_lab_args.ts";
import { runLabOnce } from "./run_lab_once.ts";
import { deriveRunSettings } from "./run_settings.ts";
import { tearDownLabNetwork } from "./tear_down_lab_network.ts";

/** Seed of the demo capture, kept fixed so the committed demo can be remade. */
const DEMO_SEED = 900;

/**
 * Runs the lab from command-line arguments and returns the process exit
 * code: 0 done, 1 failed, 2 bad usage or missing tools, 130 interrupted.
 */
export async function main(args: readonly string[]): Promise<number> {
  const log = (line: string) => console.error(`[lab] ${line}`);
  let parsed;
  try {
    parsed = parseLabArgs(args);
  } catch (error) {
    if (error instanceof LabArgsError) {
      console.error(`${error.message}\n\n${LAB_USAGE}`);
      return 2;
    }
    throw error;
  }
  if (parsed.help) {
    console.log(LAB_USAGE);
    return 0;
  }
  const { installCommand } = await findMissingTools();
  if (installCommand !== null) {
    console.error(`[lab] missing tools; install them with: ${installCommand}`);
    return 2;
  }
  if (Deno.uid() !== 0) {
    console.error("[lab] the lab creates network namespaces and must run as root");
    return 2;
  }
  const outDir = parsed.outDir ?? fileURLToPath(new URL("../captures/", import.meta.url));
  const controller = new AbortController();
  const onSignal = () => {
    log("interrupted; stopping tools and tearing the lab down");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    // A run killed outright may have left namespaces behind.
    await tearDownLabNetwork(LAB_NETWORK, { log: (l) => log(`stale: ${l}`) });
    const jobs = parsed.demo
      ? [{
        runId: "demo",
        settings: deriveRunSettings(parsed.seed ?? DEMO_SEED, { profile: "demo" }),
      }]
      : Array.from({ length: parsed.runs }, (_, i) => {
        const seed = (parsed.seed ?? 1) + i;
        return {
          runId: `run_s${String(seed).padStart(3, "0")}`,
          settings: deriveRunSettings(seed),
        };
      });
    for (const job of jobs) {
      if (controller.signal.aborted) break;
      await runLabOnce(job.settings, {
        outDir,
        runId: job.runId,
        network: LAB_NETWORK,
        snaplen: parsed.snaplen,
        signal: controller.signal,
        log,
      });
    }
    return controller.signal.aborted ? 130 : 0;
  } catch (error) {
    if (controller.signal.aborted) return 130;
    log(`failed: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof Error && error.cause) log(`cause: ${String(error.cause)}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
