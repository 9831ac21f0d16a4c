import assert from "node:assert/strict";
import { freePort } from "@traffic-analyzer/shared/testing";
import {
  serverDatabase,
  storedCount,
  type TestServer,
  waitFor,
  writeUniqueCapture,
} from "./_test_support.ts";
import { runProgram, spawnAgent, startTestServer } from "./_process_test_support.ts";
import { Outbox } from "./outbox.ts";
import type { OutboxStatus } from "./outbox.ts";
import { unaccountedRecords } from "./agent_counters.ts";
import { identifyFile } from "./file_identity.ts";
import type { ReadProgress } from "./file_read_session.ts";

const TOKEN = "main-read-test-token";

/** The outbox of an agent that has exited (or is still running: KV allows both). */
async function outboxStatus(dataDir: string): Promise<OutboxStatus> {
  const kv = await Deno.openKv(`${dataDir}/agent.kv`);
  try {
    return await new Outbox({ kv, maxBytes: 1 << 30 }).status();
  } finally {
    kv.close();
  }
}

async function readProgress(
  dataDir: string,
  target: string,
  agentId: string,
  fileId: string,
): Promise<ReadProgress | null> {
  const kv = await Deno.openKv(`${dataDir}/agent.kv`);
  try {
    return (await kv.get<ReadProgress>(["progress", target, agentId, fileId])).value;
  } finally {
    kv.close();
  }
}

function summaryLine(stdout: string): string {
  const line = stdout.split("\n").find((l) => /^agent: (read|captured) /.test(l));
  assert.ok(line, `no summary line in:\n${stdout}`);
  return line;
}

Deno.test({
  name: "agent --read is exactly-once across outages, full outboxes, kills and reruns",
  // The server subprocess and the KV stores outlive single steps by design.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ta-agent-read-" });
    const database = await serverDatabase();
    const port = freePort();
    const baseEnv = {
      LOG_DIR: `${dir}/logs`,
      SERVER_URL: `http://127.0.0.1:${port}/ingest_packets`,
      AGENT_TOKEN: TOKEN,
      MAX_RETRIES: "0",
      RETRY_DELAY: "100ms",
      PAYLOAD_CAPTURE: "headers",
    };
    let server: TestServer | null = null;
    const startServer = async () => {
      server = await startTestServer({
        port,
        dataDir: `${dir}/server`,
        database,
        tokens: [TOKEN],
      });
      return server;
    };
    try {
      const downDir = `${dir}/down`;
      // No replay during the read (RETRY_DELAY 1h): each stored batch keeps the reason it was stored for.
      const downEnv = {
        ...baseEnv,
        DATA_DIR: downDir,
        AGENT_ID: "read-down",
        BATCH_SIZE: "20",
        RETRY_DELAY: "1h",
      };
      await t.step("server down: --read runs into the outbox without waiting for it", async () => {
        const capture = `${dir}/down.pcap`;
        await writeUniqueCapture(capture, 2_000, 1_750_000_000);
        const out = await runProgram("main.ts", ["--read", capture], downEnv);
        assert.equal(out.code, 3, out.stderr);
        assert.match(
          summaryLine(out.stdout),
          /^agent: read 2000 packets from down\.pcap in [\d.]+ s: 0 batches sent, 100 stored in the outbox, 0 dead letters$/,
        );
        assert.match(
          out.stderr.trim().split("\n").at(-1)!,
          /^agent: 100 batches wait in the outbox/,
        );
        const status = await outboxStatus(downDir);
        assert.equal(status.pendingBatches, 100);
        assert.equal(status.pendingRecords, 2_000);
        assert.equal(status.counters.captured, 2_000);
        assert.equal(unaccountedRecords(status.counters), 0);
        // Only the first uploads (one per slot) were tried; the rest went straight to the outbox.
        const kv = await Deno.openKv(`${downDir}/agent.kv`);
        try {
          const pending = await Array.fromAsync(new Outbox({ kv, maxBytes: 1 << 30 }).pending());
          const tried = pending.filter((b) => !b.lastReason.includes("without an attempt"));
          assert.ok(tried.length <= 4, `${tried.length} batches waited for an attempt`);
        } finally {
          kv.close();
        }
      });

      await t.step(
        "outbox full: --read pauses, drops nothing, and finishes once the server is back",
        async () => {
          const fullDir = `${dir}/full`;
          const env = {
            ...baseEnv,
            DATA_DIR: fullDir,
            AGENT_ID: "read-full",
            BATCH_SIZE: "20",
            OUTBOX_MAX_BYTES: "65536",
          };
          const capture = `${dir}/full.pcap`;
          await writeUniqueCapture(capture, 3_000, 1_760_000_000);
          const agent = spawnAgent(["--read", capture], env);
          let exited = false;
          const finished = agent.finished().then((status) => {
            exited = true;
            return status;
          });
          try {
            await waitFor("the read to pause on the full outbox", () => {
              assert.equal(exited, false, agent.output);
              return agent.stderr.includes("Outbox full");
            }, 120_000);
            const paused = await outboxStatus(fullDir);
            assert.ok(paused.pendingBytes <= 65_536);
            assert.ok(paused.pendingRecords < 3_000, "the read stopped before the end of the file");
            assert.equal(paused.counters.dropped, 0);
            await startServer();
            const status = await finished;
            // 0, or 3 when its last replays were still due when the read ended.
            assert.ok(status.code === 0 || status.code === 3, agent.output);
          } finally {
            if (!exited) agent.child.kill("SIGKILL");
            await finished;
          }
          const replay = await runProgram("replay_main.ts", [], env);
          assert.equal(replay.code, 0, replay.stderr);
          const stored = await storedCount(server!, database, "read-full");
          assert.deepEqual(stored, { rows: 3_000, distinct: 3_000 });
          const status = await outboxStatus(fullDir);
          assert.equal(status.counters.dropped, 0);
          assert.equal(status.counters.sent, 3_000);
          assert.equal(unaccountedRecords(status.counters), 0);
        },
      );

      await t.step(
        "server back: replay delivers what --read stored, each packet once",
        async () => {
          const replay = await runProgram("replay_main.ts", [], downEnv);
          assert.equal(replay.code, 0, replay.stderr);
          assert.match(replay.stdout, /sent 100 batches \(2000 records\), still stored 0/);
          assert.deepEqual(await storedCount(server!, database, "read-down"), {
            rows: 2_000,
            distinct: 2_000,
          });
          const status = await outboxStatus(downDir);
          assert.equal(status.pendingBatches, 0);
          assert.equal(status.counters.sent, 2_000);
          assert.equal(status.counters.replayed, 2_000);
          assert.equal(unaccountedRecords(status.counters), 0);
          // The file was filed whole (stored): it is not read again.
          const again = await runProgram("main.ts", ["--read", `${dir}/down.pcap`], downEnv);
          assert.equal(again.code, 0, again.stderr);
          assert.match(again.stdout, /was read completely before \(2000 packets/);
        },
      );

      const killDir = `${dir}/kill`;
      const killCapture = `${dir}/kill.pcap`;
      // Small batches, one upload at a time: the read takes long enough to be killed mid-file.
      const killEnv = {
        ...baseEnv,
        DATA_DIR: killDir,
        AGENT_ID: "read-kill",
        BATCH_SIZE: "10",
        MAX_IN_FLIGHT: "1",
      };
      const total = 4_000;
      await t.step(
        "kill -9 mid-file, then the same command: every packet stored once",
        async () => {
          await writeUniqueCapture(killCapture, total, 1_770_000_000);
          const { id } = await identifyFile(killCapture, { kv: null });
          await Deno.mkdir(killDir);
          const kv = await Deno.openKv(`${killDir}/agent.kv`);
          const agent = spawnAgent(["--read", killCapture], killEnv);
          let killedAt = 0;
          try {
            await waitFor("the read to make progress", async () => {
              const progress = await kv.get<ReadProgress>([
                "progress",
                baseEnv.SERVER_URL,
                "read-kill",
                id,
              ]);
              killedAt = progress.value?.nextIndex ?? 0;
              return killedAt >= 200;
            }, 120_000);
          } finally {
            kv.close();
            agent.child.kill("SIGKILL");
          }
          const killed = await agent.finished();
          assert.equal(killed.signal, "SIGKILL", agent.output);
          const progress = await readProgress(killDir, baseEnv.SERVER_URL, "read-kill", id);
          assert.ok(progress !== null && !progress.complete, "killed before the end of the file");
          assert.ok(progress.nextIndex < total, "killed mid-file");
          // Progress only covers batches the server acknowledged or the outbox holds (a slow
          // server's backlog goes there too).
          const before = await storedCount(server!, database, "read-kill");
          const held = before.rows + (await outboxStatus(killDir)).pendingRecords;
          assert.ok(held >= progress.nextIndex && before.rows < total, JSON.stringify(before));

          const rerun = await runProgram("main.ts", ["--read", killCapture], killEnv, 600_000);
          assert.ok(rerun.code === 0 || rerun.code === 3, rerun.stderr);
          const resumedAt = Number(/resumed at packet (\d+)/.exec(summaryLine(rerun.stdout))?.[1]);
          assert.ok(resumedAt >= killedAt && resumedAt <= held, summaryLine(rerun.stdout));
          // What a slow server left in the outbox goes now.
          const replay = await runProgram("replay_main.ts", [], killEnv, 600_000);
          assert.equal(replay.code, 0, replay.stderr);
          assert.deepEqual(await storedCount(server!, database, "read-kill"), {
            rows: total,
            distinct: total,
          });
          const status = await outboxStatus(killDir);
          // What was in flight at the kill was sent again, found stored (HTTP 200), counted once.
          assert.equal(status.counters.captured, total);
          assert.equal(status.counters.sent, total);
          assert.equal(status.counters.stored, 0);
          assert.equal(unaccountedRecords(status.counters), 0);
          const done = await readProgress(killDir, baseEnv.SERVER_URL, "read-kill", id);
          assert.deepEqual([done?.complete, done?.packets, done?.nextIndex], [true, total, total]);
        },
      );

      await t.step("the same file read twice, or a copy of it, is stored once", async () => {
        const again = await runProgram("main.ts", ["--read", killCapture], killEnv, 600_000);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, /was read completely before \(4000 packets/);
        const copy = `${dir}/copy-of-kill.pcap`;
        await Deno.copyFile(killCapture, copy);
        const fromCopy = await runProgram("main.ts", ["--read", copy], killEnv);
        assert.equal(fromCopy.code, 0, fromCopy.stderr);
        assert.match(fromCopy.stdout, /was read completely before/);

        // --restart reads it all again: the server recognises every key and stores nothing twice.
        const restart = await runProgram("main.ts", ["--read", copy, "--restart"], {
          ...killEnv,
          MAX_IN_FLIGHT: "4",
        }, 600_000);
        assert.ok(restart.code === 0 || restart.code === 3, restart.stderr);
        const replay = await runProgram("replay_main.ts", [], killEnv, 600_000);
        assert.equal(replay.code, 0, replay.stderr);
        assert.match(
          summaryLine(restart.stdout),
          /^agent: read 4000 packets from copy-of-kill\.pcap in [\d.]+ s: \d+ batch(es)? sent, \d+ stored/,
        );
        assert.deepEqual(await storedCount(server!, database, "read-kill"), {
          rows: total,
          distinct: total,
        });
        const status = await outboxStatus(killDir);
        assert.equal(status.counters.sent, 2 * total, "--restart counts the file again");
        assert.equal(unaccountedRecords(status.counters), 0);
      });

      await t.step("a partly read file resumes only with the same BATCH_SIZE", async () => {
        const capture = `${dir}/partial.pcap`;
        await writeUniqueCapture(capture, 100, 1_780_000_000);
        const env = { ...baseEnv, DATA_DIR: `${dir}/partial`, AGENT_ID: "read-partial" };
        const { id } = await identifyFile(capture, { kv: null });
        await Deno.mkdir(`${dir}/partial`);
        const kv = await Deno.openKv(`${dir}/partial/agent.kv`);
        try {
          // As a run of an agent older than per-server progress, killed after 40 packets of
          // batches of 20, would have left it: the next read takes it over.
          await kv.set(
            ["read", "read-partial", id, "progress"],
            {
              nextIndex: 40,
              complete: false,
              packets: null,
              batchSize: 20,
              payloadCapture: "headers",
              path: capture,
              updatedAtMs: Date.now(),
            } satisfies ReadProgress,
          );
        } finally {
          kv.close();
        }
        const other = await runProgram("main.ts", ["--read", capture, "--batch-size", "30"], env);
        assert.equal(other.code, 2);
        assert.match(other.stderr, /partly read \(to packet 40\) with BATCH_SIZE=20 \(now 30\)/);
        const same = await runProgram("main.ts", ["--read", capture, "--batch-size", "20"], env);
        assert.equal(same.code, 0, same.stderr);
        assert.match(summaryLine(same.stdout), /read 60 packets .* \(resumed at packet 40\)/);
        assert.equal((await storedCount(server!, database, "read-partial")).rows, 60);
      });

      await t.step("a wrong or missing token: --read exits 1 and says why", async () => {
        const capture = `${dir}/token.pcap`;
        await writeUniqueCapture(capture, 30, 1_790_000_000);
        const wrong = await runProgram("main.ts", ["--read", capture], {
          ...baseEnv,
          DATA_DIR: `${dir}/wrong-token`,
          AGENT_ID: "read-wrong-token",
          AGENT_TOKEN: "not-the-token",
        });
        assert.equal(wrong.code, 1, wrong.stderr);
        assert.match(
          wrong.stderr.trim().split("\n").at(-1)!,
          /^agent: nothing was delivered: the server refused the token \(HTTP 401.*\); set AGENT_TOKEN/,
        );
        const { AGENT_TOKEN: _, ...noTokenEnv } = baseEnv;
        const missing = await runProgram("main.ts", ["--read", capture], {
          ...noTokenEnv,
          DATA_DIR: `${dir}/no-token`,
          AGENT_ID: "read-no-token",
        });
        assert.equal(missing.code, 1, missing.stderr);
        assert.match(
          missing.stderr.trim().split("\n").at(-1)!,
          /^agent: nothing was delivered: there is no token \(set AGENT_TOKEN/,
        );
        assert.equal((await storedCount(server!, database, "read-wrong-token")).rows, 0);
      });
    } finally {
      await (server as TestServer | null)?.stop();
      await database.drop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
