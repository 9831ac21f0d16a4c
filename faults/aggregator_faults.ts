/**
 * The aggregator survives any database fault (issue 10): a PostgreSQL
 * restart and a terminated session while a pass is running, a statement
 * timeout, and a full disk. The process logs the failure once, backs off,
 * resumes, and ends with the same traffic_data as a clean run. The server's
 * in-process aggregator does the same, and the server answers again within
 * seconds of a restart, without being restarted itself.
 *
 * Each case clones a database that holds the ingested capture and no flows
 * yet, and holds a lock on traffic_data so the pass is caught mid-way.
 */
import assert from "node:assert/strict";
import type { Sql } from "@traffic-analyzer/shared/db";
import {
  assertExactlyOnce,
  FaultWorld,
  type Program,
  READ_DONE,
  TOKEN,
  trafficData,
  waitAggregated,
  waitFor,
} from "./fault_world.ts";
import { writeUniqueCapture } from "./unique_capture.ts";

const isRoot = Deno.uid() === 0;

/**
 * Holds an exclusive lock on traffic_data until released (or its session is
 * lost), so that a pass started meanwhile waits mid-way.
 */
async function lockFlows(sql: Sql): Promise<{ release(): void }> {
  const released = Promise.withResolvers<void>();
  const locked = Promise.withResolvers<void>();
  sql.begin(async (tx) => {
    await tx`lock table traffic_data in access exclusive mode`;
    locked.resolve();
    await released.promise;
  }).catch((error) => locked.reject(error));
  await locked.promise;
  return { release: () => released.resolve() };
}

/** Waits until a session of `application` waits for a lock: its pass is mid-way. */
function passWaiting(sql: Sql, application: string): Promise<void> {
  return waitFor(`a pass of ${application} waiting on traffic_data`, async () => {
    const [row]: [{ n: number }] = await sql`
      select count(*)::int as n from pg_stat_activity
      where application_name = ${application} and wait_event_type = 'Lock'`;
    return row.n > 0;
  });
}

/** Asserts the program is alive and logged the pass failure once, then its recovery. */
async function assertSurvived(program: Program, reason: RegExp): Promise<void> {
  assert.ok(program.running, `${program.name} must still run:\n${await program.output()}`);
  await waitFor(
    `${program.name} to say passes work again`,
    async () => /Aggregation passes work again/.test(await program.output()),
  );
  const output = await program.output();
  const failures = output.match(/Aggregation pass failed:/g) ?? [];
  assert.equal(failures.length, 1, `the failure is logged once:\n${output}`);
  assert.match(output, reason);
  assert.doesNotMatch(output, /Uncaught|TypeError/);
}

Deno.test({
  name: "the aggregator survives any database fault",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const world = await FaultWorld.create();
    try {
      const capture = await writeUniqueCapture(`${world.dir}/unique.pcap`, { flows: 1000 });

      // The capture stored once, not aggregated: the template of every case.
      const rawUrl = await world.database("raw");
      {
        const server = await world.server({ url: rawUrl, aggregate: false });
        const sensor = world.sensor("a1");
        await sensor.agent(["--read", capture.path], { serverUrl: server.ingestUrl }).exits(
          READ_DONE,
        );
        await sensor.drain(server.ingestUrl, server);
        await server.kill();
      }
      let cases = 0;
      const clone = async () => {
        const name = `case${++cases}`;
        await world.pg.psql(`create database ${name} template raw`);
        const url = rawUrl.replace(/\/raw$/, `/${name}`);
        return { url, sql: await world.client(url) };
      };

      const clean = await clone();
      const expected = {
        packets: capture.packets,
        flows: await (async () => {
          const aggregator = world.aggregator(clean.url);
          assert.ok(await waitAggregated(clean.sql), "the clean run ends every flow");
          await aggregator.kill();
          return await trafficData(clean.sql);
        })(),
      };
      assert.equal(expected.flows.length, capture.flows);

      await t.step("a PostgreSQL restart during a pass", async () => {
        const { url, sql } = await clone();
        await lockFlows(sql);
        const aggregator = world.aggregator(url);
        await passWaiting(sql, "traffic-analyzer-aggregator");
        await world.pg.restart();
        await assertSurvived(aggregator, /CONNECTION_CLOSED|57P01|ECONNRESET/);
        await assertExactlyOnce(sql, expected);
        await aggregator.kill();
        assert.equal((await aggregator.status).code, 0);
      });

      await t.step("its session terminated during a pass", async () => {
        const { url, sql } = await clone();
        const lock = await lockFlows(sql);
        const aggregator = world.aggregator(url);
        await passWaiting(sql, "traffic-analyzer-aggregator");
        await sql`
          select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = 'traffic-analyzer-aggregator'`;
        lock.release();
        await assertSurvived(aggregator, /CONNECTION_CLOSED|57P01|ECONNRESET/);
        await assertExactlyOnce(sql, expected);
        await aggregator.kill();
      });

      await t.step("a statement timeout", async () => {
        const { url, sql } = await clone();
        await world.pg.psql(
          `alter database ${new URL(url).pathname.slice(1)} set statement_timeout = '1s'`,
        );
        const lock = await lockFlows(sql);
        const aggregator = world.aggregator(url);
        await waitFor(
          "the pass to time out",
          async () => /Aggregation pass failed:.*57014/.test(await aggregator.output()),
        );
        lock.release();
        await assertSurvived(aggregator, /57014/);
        await assertExactlyOnce(sql, expected);
        await aggregator.kill();
      });

      await t.step({
        name: "a full disk",
        // A tablespace on a small tmpfs stands for the full disk: mounting needs root.
        ignore: !isRoot,
        fn: async () => {
          const { url, sql } = await clone();
          // Beside the cluster's data: a folder the postgres user can reach.
          const disk = world.pg.dataDir.replace(/\/data$/, "/small-disk");
          await Deno.mkdir(disk);
          await run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", disk]);
          const aggregator = world.aggregator(url);
          try {
            await run("chown", ["postgres:postgres", disk]);
            await sql.unsafe(`create tablespace small location '${disk}'`);
            await moveFlows(sql, "small");
            await waitFor(
              "a pass to fail for lack of space",
              async () => /Aggregation pass failed:.*53100/.test(await aggregator.output()),
              120_000,
              aggregator,
            );
            await run("mount", ["-o", "remount,size=64m", disk]);
            await assertSurvived(aggregator, /53100/);
            await assertExactlyOnce(sql, expected);
          } finally {
            await aggregator.kill();
            await moveFlows(sql, "pg_default").catch(() => {});
            await sql`drop tablespace if exists small`.catch(() => {});
            await run("umount", [disk]);
          }
        },
      });

      await t.step(
        "the server's in-process aggregator, and its pool, across a restart",
        async () => {
          const { url, sql } = await clone();
          await lockFlows(sql);
          const server = await world.server({ url });
          await passWaiting(sql, "traffic-analyzer-server");
          await world.pg.restart();
          const restarted = Date.now();
          await waitFor("the server to answer /api/last10 again", async () => {
            const res = await fetch(`http://127.0.0.1:${server.port}/api/last10`);
            await res.body?.cancel();
            return res.status === 200;
          }, 30_000);
          assert.ok(Date.now() - restarted < 15_000, "the pool recovers within seconds");
          const posted = await fetch(server.ingestUrl, {
            method: "POST",
            headers: {
              "Authorization": `Bearer ${TOKEN}`,
              "Content-Type": "application/json",
              "Idempotency-Key": "after-restart",
              "X-Agent-Id": "faults",
            },
            body: "[]",
          });
          await posted.body?.cancel();
          assert.ok(posted.status < 500, `ingest answers after the restart: ${posted.status}`);
          await assertSurvived(server, /CONNECTION_CLOSED|57P01|ECONNRESET/);
          await assertExactlyOnce(sql, expected);
          await server.kill();
          assert.equal((await server.status).code, 0);
        },
      );
    } finally {
      await world.destroy();
    }
  },
});

/** Moves traffic_data's table (not its indexes) to a tablespace. */
async function moveFlows(sql: Sql, tablespace: string): Promise<void> {
  // The table only: its empty indexes alone (a score of them, hash ones of
  // several pages) no longer fit the small disk, and the heap filling up is
  // what the case needs.
  await sql`alter table traffic_data set tablespace ${sql(tablespace)}`;
}

async function run(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}
