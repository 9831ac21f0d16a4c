/**
 * A network namespace of the suite's own with a veth pair to the host: the
 * host side is where an agent captures, the namespace side where traffic is
 * made (`ping`, `tcpreplay`). Named `faults10-…`; removed by `remove()`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createVethNamespace } from "@traffic-analyzer/shared/testing/veth_namespace";

async function run(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr) || text}`,
    );
  }
  return text;
}

/** A veth pair from the host to a namespace of the suite's own. */
export interface Veth {
  /** The host-side interface, where the agent captures. */
  hostIf: string;
  /** The namespace. */
  ns: string;
  /** The namespace side's interface. */
  nsIf: string;
  /**
   * Sends `count` echo requests from the namespace to the host side, one
   * every `intervalSec`; resolves to transmitted + received.
   */
  ping(count: number, intervalSec: string): Promise<number>;
  /** Runs a command in the namespace. */
  exec(command: string, args: string[]): Deno.ChildProcess;
  remove(): Promise<void>;
}

/**
 * Creates a namespace `faults10-<tag>` and a veth pair from the host into it,
 * on a /30 of 10.254.0.0/16 that only these two ends use.
 */
export async function createVeth(): Promise<Veth> {
  const tag = (Deno.pid % 100000).toString(36);
  const ns = `faults10-${tag}`;
  const hostIf = `f10h${tag}`;
  const nsIf = `f10n${tag}`;
  const octet = 1 + (Deno.pid % 250);
  const hostIp = `10.254.${octet}.1`;
  const nsIp = `10.254.${octet}.2`;
  const net = await createVethNamespace({
    namespace: ns,
    hostInterface: hostIf,
    namespaceInterface: nsIf,
    hostIp,
    namespaceIp: nsIp,
  });
  return {
    hostIf,
    nsIf,
    ns,
    exec: (command, args) =>
      new Deno.Command("ip", {
        args: ["netns", "exec", ns, command, ...args],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn(),
    async ping(count, intervalSec) {
      const text = await run("ip", [
        "netns",
        "exec",
        ns,
        "ping",
        "-q",
        "-n",
        "-c",
        String(count),
        "-i",
        intervalSec,
        hostIp,
      ]);
      const match = text.match(/(\d+) packets transmitted, (\d+) received/);
      assert.ok(match, `ping's summary: ${text}`);
      return Number(match[1]) + Number(match[2]);
    },
    remove: net.remove,
  };
}
