/**
 * pcap export end to end, with tcpdump and tshark as the oracle: the whole
 * system (`start.ts`: agent, server, aggregator) ingests the bundled lab
 * capture through the real path, then each flow's pcap must hold exactly
 * the flow's `orig_packets + resp_packets` packets as tcpdump and tshark count
 * them, every one byte for byte as captured, oldest first; and a time-range
 * export must give back the whole capture.
 */
import assert from "node:assert/strict";
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import { readCaptureBytes } from "@traffic-analyzer/shared/pcap";
import { freePort } from "@traffic-analyzer/shared/testing";
import {
  missingToolsReason,
  needs,
  TCPDUMP,
  TSHARK,
} from "@traffic-analyzer/shared/testing/test_tools";

const ROOT = new URL("./", import.meta.url);
const CAPTURE = new URL("./models/captures/demo.pcap", ROOT).pathname;

async function run(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  assert.ok(out.success, `${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** Packets in a file as tcpdump counts them (one line each). */
async function tcpdumpCount(file: string): Promise<number> {
  const text = await run("tcpdump", ["-n", "-r", file]);
  return text.split("\n").filter((line) => line.trim() !== "").length;
}

/** Packets in a file as tshark counts them. */
async function tsharkCount(file: string): Promise<number> {
  const text = await run("tshark", ["-n", "-r", file, "-T", "fields", "-e", "frame.number"]);
  return text.split("\n").filter((line) => line.trim() !== "").length;
}

/** `<µs timestamp> <hex bytes>` of every frame: what must survive the round trip. */
function frameKeys(bytes: Uint8Array): string[] {
  return [...readCaptureBytes(bytes)].map((f) =>
    `${f.timestampNs / 1000n} ${f.wireLength} ${
      Array.from(f.data, (b) => b.toString(16).padStart(2, "0")).join("")
    }`
  );
}

Deno.test({
  ...needs(
    missingToolsReason([TCPDUMP, TSHARK]),
    "a flow's pcap holds its packets as captured, by tcpdump's and tshark's count",
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ta-pcap-export-" });
    const port = freePort();
    const env: Record<string, string> = {
      PORT: String(port),
      DATA_DIR: `${dir}/data`,
      LOG_DIR: `${dir}/logs`,
      INTERFACE: "no-such-iface0", // no live capture: the agent replays the lab capture
      AGGREGATE_INTERVAL: "1s",
      BATCH_TIMEOUT: "200ms",
      LOG_LEVEL: "warning",
    };
    for (const name of ["PATH", "HOME", "DENO_DIR", "TMPDIR", "NO_COLOR"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    const url = Deno.env.get("DATABASE_URL");
    const schema = url ? await createTestSchema(url) : null;
    if (schema) env.DATABASE_URL = schema.url;
    const process = new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", new URL("deno.json", ROOT).pathname, "--allow-all", "start.ts"],
      cwd: ROOT.pathname,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const base = `http://127.0.0.1:${port}`;
    const original = await Deno.readFile(CAPTURE);
    const originalFrames = frameKeys(original);
    try {
      // Wait for the event (every packet aggregated), with a generous outer bound.
      const deadline = Date.now() + 240_000;
      let aggregated = 0;
      while (Date.now() < deadline) {
        try {
          const health = await (await fetch(`${base}/health`)).json();
          aggregated = health.aggregator?.packets_aggregated ?? 0;
          if (aggregated >= originalFrames.length && health.aggregator.lag_packets === 0) break;
        } catch { /* not up yet */ }
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(aggregated, originalFrames.length, "every packet of the capture aggregated");

      const { flows } = await (await fetch(`${base}/api/alltraffic?limit=1000&sort=packets`))
        .json();
      // The largest flows of each protocol, and a few one-packet ones.
      const chosen: typeof flows = [];
      for (const protocol of new Set<string>(flows.map((f: { protocol: string }) => f.protocol))) {
        chosen.push(
          ...flows.filter((f: { protocol: string }) => f.protocol === protocol).slice(0, 4),
        );
      }
      chosen.push(...flows.slice(-3));
      const originalSet = new Map<string, number>();
      for (const key of originalFrames) originalSet.set(key, (originalSet.get(key) ?? 0) + 1);

      for (const flow of chosen) {
        await t.step(
          `flow ${flow.id}: ${flow.protocol} ${flow.orig_ip}:${flow.orig_port} → ${flow.resp_ip}:${flow.resp_port}`,
          async () => {
            const res = await fetch(`${base}/api/flows/${flow.id}/pcap`);
            assert.equal(res.status, 200);
            assert.equal(res.headers.get("content-type"), "application/vnd.tcpdump.pcap");
            const expected = flow.orig_packets + flow.resp_packets;
            assert.equal(res.headers.get("x-flow-packets"), String(expected));
            assert.equal(res.headers.get("x-pcap-packets"), String(expected));
            assert.equal(res.headers.get("x-pcap-rebuilt"), "0");
            const bytes = new Uint8Array(await res.arrayBuffer());
            const file = `${dir}/flow-${flow.id}.pcap`;
            await Deno.writeFile(file, bytes);
            assert.equal(await tcpdumpCount(file), expected, "tcpdump's count");
            assert.equal(await tsharkCount(file), expected, "tshark's count");
            const exported = frameKeys(bytes);
            for (const key of exported) {
              assert.ok(originalSet.has(key), "a frame exactly as captured");
            }
            const times = exported.map((key) => BigInt(key.split(" ")[0]));
            assert.deepEqual(
              times,
              [...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
              "oldest first",
            );
          },
        );
      }

      await t.step(
        "every flow's pcap holds exactly its packets (counted by our reader)",
        async () => {
          const wrong: string[] = [];
          let total = 0;
          for (const flow of flows) {
            const bytes = new Uint8Array(
              await (await fetch(`${base}/api/flows/${flow.id}/pcap`)).arrayBuffer(),
            );
            const exported = frameKeys(bytes);
            total += exported.length;
            if (exported.length !== flow.orig_packets + flow.resp_packets) {
              wrong.push(
                `${flow.id} ${flow.protocol}: ${exported.length} of ${
                  flow.orig_packets + flow.resp_packets
                }`,
              );
            }
          }
          assert.deepEqual(wrong, []);
          assert.equal(total, originalFrames.length, "the flows' pcaps together hold the capture");
        },
      );

      await t.step("/api/pcap over the capture's time range gives back every packet", async () => {
        const frames = [...readCaptureBytes(original)];
        const from = Math.floor(frames[0].timestampSec);
        const to = Math.ceil(frames.at(-1)!.timestampSec);
        const res = await fetch(`${base}/api/pcap?from=${from}&to=${to}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-pcap-truncated"), "false");
        const bytes = new Uint8Array(await res.arrayBuffer());
        const file = `${dir}/range.pcap`;
        await Deno.writeFile(file, bytes);
        assert.equal(await tcpdumpCount(file), frames.length);
        assert.equal(await tsharkCount(file), frames.length);
        assert.deepEqual(frameKeys(bytes).sort(), [...originalFrames].sort());
      });

      await t.step("/api/pcap with a flow filter gives that flow's packets", async () => {
        const flow = chosen[0];
        const res = await fetch(
          `${base}/api/pcap?from=0&to=4000000000&community_id=${
            encodeURIComponent(flow.community_id)
          }`,
        );
        assert.equal(res.status, 200);
        const file = `${dir}/by-cid.pcap`;
        await Deno.writeFile(file, new Uint8Array(await res.arrayBuffer()));
        const sameCid = flows.filter((f: { community_id: string }) =>
          f.community_id === flow.community_id
        );
        const expected = sameCid.reduce(
          (n: number, f: { orig_packets: number; resp_packets: number }) =>
            n + f.orig_packets + f.resp_packets,
          0,
        );
        assert.equal(await tcpdumpCount(file), expected);
      });
    } finally {
      process.kill("SIGTERM");
      await process.status;
      await process.stderr.cancel().catch(() => {});
      await schema?.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
