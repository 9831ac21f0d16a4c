/**
 * The whole pipeline on a lab capture: the agent (`--read`) sends it to a
 * real server, the aggregator turns it into scored flows, and the flows must
 * match tshark's conversation table for the same capture: the same
 * conversations with the same frames and bytes in each direction. Every
 * program runs as its own process, as in production. On PGlite the
 * aggregator runs inside the server (PGlite belongs to one process); on
 * PostgreSQL it runs standalone.
 */
import assert from "node:assert/strict";
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import { freePort } from "@traffic-analyzer/shared/testing";
import {
  type ConvRow,
  parseConversations,
  tsharkConversations,
} from "@traffic-analyzer/shared/testing/tshark_conversations";
import { missingToolsReason, needs, TSHARK } from "@traffic-analyzer/shared/testing/test_tools";
import { readCaptureBatches } from "@traffic-analyzer/shared/pcap";

const ROOT = new URL("../", import.meta.url);
const CAPTURE = new URL("models/captures/demo.pcap", ROOT);
const TOKEN = "e2e-token";

function deno(script: string, args: string[], env: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      new URL("deno.json", ROOT).pathname,
      "--allow-all",
      new URL(script, ROOT).pathname,
      ...args,
    ],
    env: { LOG_LEVEL: "warning", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

async function countFrames(path: URL): Promise<number> {
  let n = 0;
  for await (const batch of readCaptureBatches(path)) n += batch.length;
  return n;
}

async function waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== null) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

interface ApiFlow {
  orig_ip: string | null;
  orig_port: number | null;
  resp_ip: string | null;
  resp_port: number | null;
  protocol: string;
  orig_packets: number;
  resp_packets: number;
  orig_bytes: number;
  resp_bytes: number;
  label: string | null;
  score: number | null;
  model_version: string | null;
}

async function allFlows(baseUrl: string): Promise<ApiFlow[]> {
  const flows: ApiFlow[] = [];
  let cursor: number | null = null;
  do {
    const res: Response = await fetch(
      `${baseUrl}api/alltraffic?limit=1000${cursor ? `&cursor=${cursor}` : ""}`,
    );
    const page: { flows: ApiFlow[]; next_cursor: number | null } = await res.json();
    flows.push(...page.flows);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return flows;
}

/** Endpoint "ip|port" → frames and bytes it sent, summed per conversation key. */
type Sent = Map<string, Map<string, { frames: number; bytes: number }>>;

function conversationKey(proto: string, a: string, aPort: number, b: string, bPort: number) {
  const x = `${a}|${aPort}`;
  const y = `${b}|${bPort}`;
  return `${proto} ${x < y ? `${x} ${y}` : `${y} ${x}`}`;
}

function add(sent: Sent, key: string, endpoint: string, frames: number, bytes: number) {
  let ends = sent.get(key);
  if (!ends) sent.set(key, ends = new Map());
  const e = ends.get(endpoint) ?? { frames: 0, bytes: 0 };
  ends.set(endpoint, { frames: e.frames + frames, bytes: e.bytes + bytes });
}

Deno.test({
  ...needs(
    missingToolsReason([TSHARK]),
    "a lab capture sent by the agent becomes the flows tshark sees, each scored",
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const text = await tsharkConversations(CAPTURE);
    if (text === null) throw new Error("tshark is needed for this test: apt-get install tshark");
    const rows: ConvRow[] = parseConversations(text);
    assert.ok(rows.length > 50, "the demo capture has many TCP/UDP conversations");
    const frames = await countFrames(CAPTURE);

    const dir = await Deno.makeTempDir({ prefix: "ta-e2e-" });
    const port = freePort();
    const baseUrl = `http://127.0.0.1:${port}/`;
    const databaseUrl = Deno.env.get("DATABASE_URL") || null;
    const schema = databaseUrl ? await createTestSchema(databaseUrl) : null;
    const common: Record<string, string> = {
      DATA_DIR: `${dir}/server`,
      LOG_DIR: `${dir}/logs`,
      INGEST_TOKENS: TOKEN,
      AGGREGATE_INTERVAL: "500ms",
      ...(schema ? { DATABASE_URL: schema.url } : {}),
    };
    const children: Deno.ChildProcess[] = [];
    try {
      children.push(
        deno("start.ts", ["--role", "serve"], { ...common, PORT: String(port) }).spawn(),
      );
      if (schema) children.push(deno("aggregator/main.ts", [], common).spawn());
      await waitFor("the server", async () => {
        const res = await fetch(`${baseUrl}health`);
        await res.body?.cancel();
        return res.ok ? true : null;
        // Generous: opening PGlite alone has taken 42 s on a loaded 2-core box.
      }, 300_000);

      const agent = await deno("agent/main.ts", ["--read", CAPTURE.pathname], {
        SERVER_URL: `${baseUrl}ingest_packets`,
        AGENT_TOKEN: TOKEN,
        DATA_DIR: `${dir}/agent`,
        LOG_DIR: `${dir}/logs`,
        BATCH_SIZE: "250",
        BATCH_TIMEOUT: "1s",
      }).output();
      assert.equal(agent.code, 0, new TextDecoder().decode(agent.stderr));

      let lastHealth: unknown = null;
      await waitFor(`the aggregator to take all ${frames} packets`, async () => {
        const health = await (await fetch(`${baseUrl}health`)).json();
        lastHealth = health.aggregator;
        const a = health.aggregator;
        return a && a.lag_packets === 0 && a.packets_aggregated === frames ? a : null;
      }, 300_000).catch((error) => {
        throw new Error(`${error.message}; last status ${JSON.stringify(lastHealth)}`);
      });

      const flows = await allFlows(baseUrl);
      for (const f of flows) {
        assert.ok(f.label !== null && f.score !== null && f.model_version !== null, "scored");
        assert.ok(f.score >= 0 && f.score <= 1);
      }

      // tshark keys conversations by address and port pair; the flow table
      // may split one pair into several flows (port reuse, timeouts), so both
      // sides are summed per pair and direction before comparing.
      const ours: Sent = new Map();
      for (const f of flows) {
        if ((f.protocol !== "TCP" && f.protocol !== "UDP") || f.orig_port === null) continue;
        const key = conversationKey(f.protocol, f.orig_ip!, f.orig_port, f.resp_ip!, f.resp_port!);
        add(ours, key, `${f.orig_ip}|${f.orig_port}`, f.orig_packets, f.orig_bytes);
        add(ours, key, `${f.resp_ip}|${f.resp_port}`, f.resp_packets, f.resp_bytes);
      }
      const theirs: Sent = new Map();
      const exact = new Map<string, boolean>();
      for (const r of rows) {
        const key = conversationKey(r.protocol, r.a, r.aPort, r.b, r.bPort);
        add(theirs, key, `${r.a}|${r.aPort}`, r.toB.frames, r.toB.bytes);
        add(theirs, key, `${r.b}|${r.bPort}`, r.toA.frames, r.toA.bytes);
        exact.set(key, (exact.get(key) ?? true) && r.toA.exact && r.toB.exact);
      }
      assert.deepEqual(
        [...ours.keys()].sort(),
        [...theirs.keys()].sort(),
        "the same conversations",
      );
      for (const [key, ends] of theirs) {
        for (const [endpoint, want] of ends) {
          const got = ours.get(key)!.get(endpoint) ?? { frames: 0, bytes: 0 };
          assert.equal(got.frames, want.frames, `${key}: frames from ${endpoint}`);
          if (exact.get(key)) assert.equal(got.bytes, want.bytes, `${key}: bytes from ${endpoint}`);
          else {
            assert.ok(
              Math.abs(got.bytes - want.bytes) <= want.bytes * 0.05 + 1000,
              `${key}: bytes from ${endpoint}: ${got.bytes} ~ ${want.bytes}`,
            );
          }
        }
      }
    } finally {
      for (const child of children) {
        try {
          child.kill("SIGTERM");
        } catch { /* exited */ }
        const { stderr } = await child.output();
        const text = new TextDecoder().decode(stderr).trim();
        if (text) console.error(text);
      }
      await schema?.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
