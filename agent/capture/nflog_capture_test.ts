/**
 * Live capture of a netfilter log group (`--interface nflog:N`), the way a
 * Linux firewall hands packets over: libpcap lists the device bare, cannot
 * filter it, and reports an empty queue as EAGAIN. The agent runs in a
 * network namespace made here, whose iptables/ip6tables log every outgoing
 * packet to the group, and pings its own loopback.
 */
import assert from "node:assert/strict";
import { isRoot, libpcapSkipReason, needs, waitUntil } from "./_test_support.ts";

const ROOT = new URL("../../", import.meta.url);
const GROUP = 7;

function commandExists(name: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const skipReason = !isRoot()
  ? "needs root for a network namespace"
  : !commandExists("iptables") || !commandExists("ip6tables")
  ? "needs iptables and ip6tables"
  : libpcapSkipReason();

async function run(args: string[]): Promise<void> {
  const output = await new Deno.Command(args[0], { args: args.slice(1), stderr: "piped" })
    .output();
  assert.ok(output.success, `${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
}

Deno.test({
  ...needs(skipReason, "the agent captures a netfilter log group live and decodes every packet"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const ns = `ta_nflog_${Deno.pid}`;
    const dir = await Deno.makeTempDir({ prefix: "ta-nflog-" });
    await run(["ip", "netns", "add", ns]);
    try {
      const inNs = (...args: string[]) => run(["ip", "netns", "exec", ns, ...args]);
      await inNs("ip", "link", "set", "lo", "up");
      for (const table of ["iptables", "ip6tables"]) {
        await inNs(table, "-A", "OUTPUT", "-j", "NFLOG", "--nflog-group", String(GROUP));
      }
      const agent = new Deno.Command("ip", {
        args: [
          ...["netns", "exec", ns, Deno.execPath(), "run", "--allow-all"],
          ...["--config", new URL("deno.json", ROOT).pathname],
          new URL("agent/main.ts", ROOT).pathname,
          ...["--interface", `nflog:${GROUP}`, "--dry-run"],
          ...["--data-dir", `${dir}/data`, "--log-dir", `${dir}/logs`],
        ],
        env: { LOG_LEVEL: "info" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let text = "";
      const decoder = new TextDecoder();
      const drain = (stream: ReadableStream<Uint8Array>) =>
        stream.pipeTo(
          new WritableStream({ write: (chunk) => void (text += decoder.decode(chunk)) }),
        );
      const drained = Promise.all([drain(agent.stdout), drain(agent.stderr)]);
      try {
        const started = await waitUntil(() => text.includes("Capturing on"), 120_000, 100);
        assert.ok(started, `the agent did not start capturing:\n${text}`);
        await inNs("ping", "-c", "2", "-i", "0.2", "-W", "1", "127.0.0.1");
        await inNs("ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", "::1");
        // Let a burst or two pass: an empty queue must not end the capture.
        await new Promise((resolve) => setTimeout(resolve, 1500));
      } finally {
        agent.kill("SIGINT");
        await agent.status;
        await drained;
      }
      assert.match(text, /capture filter not applied on nflog:7/);
      assert.doesNotMatch(text, /failed/);
      // Two pings each way over IPv4 and IPv6: requests and replies, all logged.
      assert.match(text, /dry run: 8 records/, text);
    } finally {
      await run(["ip", "netns", "del", ns]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
