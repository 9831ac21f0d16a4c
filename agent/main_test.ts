import assert from "node:assert/strict";
import { threadNiceValues } from "@traffic-analyzer/shared/testing/thread_nice_values";
import { freePort } from "@traffic-analyzer/shared/testing";
import {
  firstSkipReason,
  missingToolsReason,
  needs,
  stepNeeding,
  TSHARK,
} from "@traffic-analyzer/shared/testing/test_tools";
import {
  assertSameTimes,
  ROOT,
  serverDatabase,
  storedRows,
  type TestServer,
  waitFor,
} from "./_test_support.ts";
import {
  runProgram,
  spawnAgent,
  startTestServer,
  tsharkTimestamps,
} from "./_process_test_support.ts";
import { unaccountedRecords } from "./agent_counters.ts";
import type { OutboxStatus } from "./outbox.ts";
import { libpcapSkipReason } from "./capture/_test_support.ts";

const FIXTURES = `${ROOT}shared/testdata`;
/** The `--read` steps check stored timestamps against tshark's. */
const noTshark = missingToolsReason([TSHARK]);
const noLibpcap = libpcapSkipReason();
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
      // The kill -9 and outage cases of --read live in main_read_test.ts.
      // The server runs for every step here.
      server = await startTestServer({ port, dataDir, database, tokens: null });
      for (const name of ["ipv4_tcp_udp_icmp.pcap", "dumpcap_multi.pcapng", "nanoseconds.pcap"]) {
        const step = `--read ${name} stores every packet with the file's timestamps`;
        await stepNeeding(t, noTshark, step, async () => {
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

      await stepNeeding(
        t,
        noTshark,
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
          const notPcap = `${dir}/not_a_capture.pcap`;
          await Deno.writeTextFile(notPcap, "garbage\n");
          const none = await runProgram("main.ts", ["--read", notPcap], env);
          assert.equal(none.code, 1);
          assert.equal(
            none.stderr.trim().split("\n").at(-1),
            `agent: cannot read ${notPcap}: Cannot read capture: unknown magic 0x67617262 ` +
              "(not pcap or pcapng)",
          );
          // The summary counts what was read and sent before the damage, not 0.
          const batches = Math.ceil(oracle.length / 7);
          assert.match(
            out.stdout,
            new RegExp(
              `^agent: read ${oracle.length} packets from damaged\\.pcap in [\\d.]+ s: ` +
                `${batches} batch(es)? sent, 0 stored in the outbox, 0 dead letters$`,
              "m",
            ),
          );
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
        // Opening an interface needs root (or CAP_NET_RAW) and libpcap.
        ...needs(
          firstSkipReason(Deno.uid() === 0 ? null : "live capture needs root", noLibpcap),
          "live capture: SIGINT flushes the open batch before exit",
        ),
        fn: async () => {
          const closedPort = freePort();
          const env = {
            ...baseEnv,
            AGENT_ID: "e2e-live",
            BATCH_SIZE: "10",
            BATCH_TIMEOUT: "1h",
            INTERFACE: "lo",
            CAPTURE_FILTER: `tcp dst port ${closedPort} and tcp[tcpflags] & tcp-syn != 0`,
            CAPTURE_NICE: "-3",
          };
          const agent = spawnAgent([], env, 120_000);
          try {
            await waitFor("capture to start", () => agent.output.includes("Capturing on"), 60_000);
            // The thread that reads libpcap, and the encoding worker it started, run at
            // CAPTURE_NICE.
            assert.match(agent.output, /Capturing at nice -3/);
            const nices = await threadNiceValues(agent.child.pid);
            assert.equal(nices.get(agent.child.pid), -3, "the capturing thread");
            assert.ok(
              [...nices.values()].filter((nice) => nice === -3).length >= 2,
              `and the encoding worker: ${JSON.stringify([...nices])}`,
            );
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
            // The other five are in the kernel's ring (or the open batch): SIGINT reads the ring
            // to its end and flushes the open batch.
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

      await stepNeeding(
        t,
        noLibpcap,
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
          // A read of its own, so there are records to account for even where the
          // steps above were skipped (no tshark).
          const read = await runProgram(
            "main.ts",
            ["--read", `${FIXTURES}/ipv4_tcp_udp_icmp.pcap`],
            {
              ...baseEnv,
              AGENT_ID: "e2e-status",
            },
          );
          assert.equal(read.code, 0, read.stderr);
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
          assert.match(out.stdout, /^ {2}captured = sent \+ stored \+ dropped \+ dead_lettered$/m);
          const status = await agentStatus(baseEnv);
          // Every record this agent's store ever filed is somewhere: sent, stored, dropped or
          // dead-lettered.
          assert.ok(status.counters.captured > 0);
          assert.equal(unaccountedRecords(status.counters), 0, JSON.stringify(status.counters));
        },
      );
    } finally {
      await (server as TestServer | null)?.stop();
      await database.drop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
