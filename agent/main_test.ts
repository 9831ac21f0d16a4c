import assert from "node:assert/strict";
import { freePort } from "@traffic-analyzer/shared/testing";
import { PcapWriter, readCapture } from "@traffic-analyzer/shared/pcap";
import {
  assertSameTimes,
  ROOT,
  runProgram,
  serverDatabase,
  startTestServer,
  storedBatchKeys,
  storedRows,
  type TestServer,
  tsharkTimestamps,
  waitFor,
} from "./_test_support.ts";
import type { OutboxStatus } from "./outbox.ts";
import { isLibpcapAvailable } from "./capture/mod.ts";

const FIXTURES = `${ROOT}shared/testdata`;
const TOKEN = "main-test-token";
const PCAP_FILE_HEADER_BYTES = 24;
const PCAP_RECORD_HEADER_BYTES = 16;

/** Byte offset of the first pcap record that does not fit in the file (little-endian pcap). */
function firstIncompleteRecord(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = PCAP_FILE_HEADER_BYTES;
  while (offset + PCAP_RECORD_HEADER_BYTES <= bytes.length) {
    const captured = view.getUint32(offset + 8, true);
    if (offset + PCAP_RECORD_HEADER_BYTES + captured > bytes.length) return offset;
    offset += PCAP_RECORD_HEADER_BYTES + captured;
  }
  return offset;
}

/** A capture of `count` real frames (the fixture's, repeated) 1 ms apart, so every timestamp is distinct. */
async function writeLongCapture(path: string, count: number): Promise<void> {
  const frames = await Array.fromAsync(readCapture(`${FIXTURES}/ipv4_tcp_udp_icmp.pcap`));
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = new PcapWriter(file, { linkType: frames[0].linkType });
  const startNs = 1_750_000_000_000_000_000n;
  for (let i = 0; i < count; i++) {
    const frame = frames[i % frames.length];
    await writer.write({
      data: frame.data,
      wireLength: frame.wireLength,
      timestampNs: startNs + BigInt(i) * 1_000_000n,
    });
  }
  await writer.flush();
}

/** Runs the agent until it logs that it stored a batch, then kills it with SIGKILL. */
async function runAgentAndKill(
  args: string[],
  env: Record<string, string>,
): Promise<Deno.CommandStatus> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}agent/main.ts`, ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const watchdog = setTimeout(() => child.kill("SIGKILL"), 120_000);
  try {
    let seen = "";
    const decoder = new TextDecoder();
    // Warnings (such as "Stored batch") go to stderr.
    for await (const chunk of child.stderr) {
      seen += decoder.decode(chunk, { stream: true });
      if (seen.includes("Stored batch")) {
        child.kill("SIGKILL");
        break;
      }
    }
    return await child.status;
  } finally {
    clearTimeout(watchdog);
  }
}

/** A running agent whose output is collected as it comes. */
function spawnAgent(args: string[], env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}agent/main.ts`, ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const collected = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const watchdog = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return {
    child,
    get output() {
      return output;
    },
    async finished() {
      const status = await child.status;
      await collected;
      clearTimeout(watchdog);
      return status;
    },
  };
}

async function agentStatus(env: Record<string, string>): Promise<OutboxStatus> {
  const out = await runProgram("main.ts", ["--status", "--json"], env);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout) as OutboxStatus;
}

Deno.test({
  name: "agent/main.ts and replay_main.ts against the real server",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ta-agent-main-" });
    // Agent and server share DATA_DIR, as on the embedded default: the agent reads the
    // server's token file (written here first, so the agent has it before the server runs).
    const dataDir = `${dir}/data`;
    await Deno.mkdir(dataDir, { recursive: true });
    await Deno.writeTextFile(`${dataDir}/ingest_token`, TOKEN + "\n");
    const database = await serverDatabase();
    const port = freePort();
    const baseEnv = {
      DATA_DIR: dataDir,
      LOG_DIR: `${dir}/logs`,
      SERVER_URL: `http://127.0.0.1:${port}/ingest_packets`,
      MAX_RETRIES: "0",
      RETRY_DELAY: "10ms",
      PAYLOAD_CAPTURE: "headers",
    };
    let server: TestServer | null = null;
    try {
      let killedRecords = 0;
      let killedBatches = 0;
      let afterKill: OutboxStatus["counters"] | null = null;
      await t.step(
        "kill -9 while batches wait in KV: after a restart each arrives once",
        async () => {
          const capture = `${dir}/long.pcap`;
          await writeLongCapture(capture, 20_000);
          const env = { ...baseEnv, AGENT_ID: "e2e-kill", BATCH_SIZE: "10" };
          const status = await runAgentAndKill(["--read", capture], env);
          assert.equal(status.signal, "SIGKILL", "the agent was still running when killed");

          const stored = await agentStatus(env);
          assert.ok(stored.pendingBatches > 0, "batches were stored before the kill");
          killedRecords = stored.pendingRecords;
          killedBatches = stored.pendingBatches;
          assert.equal(stored.counters.sent, 0);

          server = await startTestServer({ port, dataDir, database, tokens: null });
          const replay = await runProgram("replay_main.ts", [], env);
          assert.equal(replay.code, 0, replay.stderr);
          assert.match(
            replay.stdout,
            new RegExp(
              `sent ${killedBatches} batches \\(${killedRecords} records\\), still stored 0`,
            ),
          );
          const rows = await storedRows(server, database, "e2e-kill");
          assert.equal(rows.length, killedRecords);
          assert.equal(new Set(rows.map((r) => r.timestamp)).size, killedRecords, "none twice");
          const keys = await storedBatchKeys(database, "e2e-kill");
          if (keys !== null) assert.equal(new Set(keys).size, killedBatches);

          const again = await runProgram("replay_main.ts", ["--json"], env);
          assert.equal(again.code, 0, again.stderr);
          assert.equal(JSON.parse(again.stdout).sent.batches, 0);
          assert.equal((await storedRows(server, database, "e2e-kill")).length, killedRecords);

          const after = await agentStatus(env);
          assert.equal(after.pendingBatches, 0);
          assert.equal(after.counters.sent, killedRecords);
          assert.equal(after.counters.replayed, killedRecords);
          afterKill = after.counters;
        },
      );

      for (const name of ["ipv4_tcp_udp_icmp.pcap", "dumpcap_multi.pcapng", "nanoseconds.pcap"]) {
        await t.step(`--read ${name} stores every packet with the file's timestamps`, async () => {
          const agentId = `e2e-read-${name.replace(/\W/g, "-")}`;
          const env = { ...baseEnv, AGENT_ID: agentId, BATCH_SIZE: "7", MAX_RETRIES: "3" };
          const path = `${FIXTURES}/${name}`;
          const out = await runProgram("main.ts", ["--read", path], env);
          assert.equal(out.code, 0, out.stderr);
          const oracle = await tsharkTimestamps(path);
          assert.ok(oracle.length > 0);
          const rows = await storedRows(server!, database, agentId);
          assert.equal(rows.length, oracle.length);
          assertSameTimes(rows.map((r) => r.timestamp), oracle);
        });
      }

      await t.step(
        "--read of a damaged file sends what precedes the damage and names the offset",
        async () => {
          const bytes = await Deno.readFile(`${FIXTURES}/ipv4_tcp_udp_icmp.pcap`);
          const damaged = `${dir}/damaged.pcap`;
          await Deno.writeFile(damaged, bytes.subarray(0, bytes.length - 30));
          const env = { ...baseEnv, AGENT_ID: "e2e-damaged", BATCH_SIZE: "7" };
          const out = await runProgram("main.ts", ["--read", damaged], env);
          assert.equal(out.code, 1);
          const lines = out.stderr.trim().split("\n");
          const message = lines.at(-1)!;
          assert.match(
            message,
            new RegExp(
              `^agent: cannot read ${damaged} past byte offset ${
                firstIncompleteRecord(bytes.subarray(0, bytes.length - 30))
              }:`,
            ),
          );
          const oracle = await tsharkTimestamps(damaged);
          assert.ok(oracle.length > 0);
          const rows = await storedRows(server!, database, "e2e-damaged");
          assertSameTimes(rows.map((r) => r.timestamp), oracle);
        },
      );

      await t.step("--read of an unreadable file exits 1 with one line naming it", async () => {
        const missing = `${dir}/missing.pcap`;
        const out = await runProgram("main.ts", ["--read", missing], { ...baseEnv, AGENT_ID: "x" });
        assert.equal(out.code, 1);
        assert.equal(out.stderr.trim().split("\n").length, 1);
        assert.match(out.stderr, new RegExp(`^agent: cannot read ${missing}: `));
      });

      await t.step("a bad setting exits 2 naming it", async () => {
        const out = await runProgram("main.ts", ["--batch-size", "0"], baseEnv);
        assert.equal(out.code, 2);
        assert.match(out.stderr, /--batch-size/);
      });

      await t.step({
        name: "live capture: SIGINT flushes the open batch before exit",
        // Opening an interface needs root (or CAP_NET_RAW) and libpcap.
        ignore: Deno.uid() !== 0 || !isLibpcapAvailable(),
        fn: async () => {
          const closedPort = freePort();
          const env = {
            ...baseEnv,
            AGENT_ID: "e2e-live",
            BATCH_SIZE: "10",
            BATCH_TIMEOUT: "1h",
            INTERFACE: "lo",
            CAPTURE_FILTER: `tcp dst port ${closedPort} and tcp[tcpflags] & tcp-syn != 0`,
          };
          const agent = spawnAgent([], env);
          try {
            await waitFor("capture to start", () => agent.output.includes("Capturing on"), 60_000);
            // 15 refused connections: one SYN each. Ten fill a batch; five wait in the open one.
            for (let i = 0; i < 15; i++) {
              await Deno.connect({ hostname: "127.0.0.1", port: closedPort }).then(
                (conn) => conn.close(),
                () => {},
              );
            }
            await waitFor(
              "the full batch to arrive",
              async () => (await storedRows(server!, database, "e2e-live")).length >= 10,
              60_000,
            );
            // The other five were captured with the first ten; give the poll loop a moment.
            await new Promise((resolve) => setTimeout(resolve, 500));
            agent.child.kill("SIGINT");
            const status = await agent.finished();
            assert.equal(status.code, 0, agent.output);
          } finally {
            try {
              agent.child.kill("SIGKILL");
            } catch {
              // Already exited.
            }
            await agent.finished();
          }
          const rows = await storedRows(server!, database, "e2e-live");
          assert.equal(rows.length, 15, "the open batch was flushed and sent on SIGINT");
        },
      });

      await t.step(
        "an unknown interface prints the capture layer's one-line error and exits 1",
        async () => {
          const out = await runProgram("main.ts", ["--interface", "nosuchif0"], {
            ...baseEnv,
            AGENT_ID: "x",
          });
          assert.equal(out.code, 1);
          const lines = out.stderr.trim().split("\n");
          assert.match(lines.at(-1)!, /^agent: .*nosuchif0/);
        },
      );

      await t.step(
        "--status prints queue depth, stored bytes, dead letters and counters",
        async () => {
          const out = await runProgram("main.ts", ["--status"], baseEnv);
          assert.equal(out.code, 0, out.stderr);
          assert.match(out.stdout, /queue depth: +0 batches, 0 records/);
          assert.match(out.stdout, /stored bytes: +0 /);
          assert.match(out.stdout, /dead letters: +0 batches/);
          for (
            const name of [
              "captured",
              "kernel_dropped",
              "sent",
              "stored",
              "replayed",
              "dropped",
              "dead_lettered",
            ]
          ) {
            assert.match(out.stdout, new RegExp(`^  ${name} +\\d+$`, "m"));
          }
          const status = await agentStatus(baseEnv);
          // Since the kill (which lost what was in memory), every record the agent captured
          // was sent, dropped, dead-lettered or is still stored.
          const delta = (name: keyof OutboxStatus["counters"]) =>
            status.counters[name] - afterKill![name];
          assert.ok(delta("captured") > 0);
          assert.equal(
            delta("captured"),
            delta("sent") + delta("dropped") + delta("dead_lettered") + status.pendingRecords,
          );
        },
      );
    } finally {
      await (server as TestServer | null)?.stop();
      await database.drop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
