/**
 * Live capture under faults (issue 10, cases 6 and 8), on a veth pair to a
 * network namespace of the suite's own (`faults10-<pid>`): `ping` in the
 * namespace sends echo requests to the host side, whose kernel answers; the
 * agent captures both on the host side. Every echo packet is unique (type,
 * id, sequence), so a packet stored twice shows, and so does the hole the
 * outbox cap leaves.
 *
 * - 8: the server restarts while the agent captures: the kernel's drops are
 *   reported, and every captured packet arrives exactly once.
 * - 6: the server is down for the whole capture and the outbox reaches its
 *   byte cap: the oldest batches are dropped, and the counters say exactly
 *   how many packets.
 */
import assert from "node:assert/strict";
import type { Sql } from "@traffic-analyzer/shared/db";
import { FaultWorld, type Program, type Sensor, waitFor } from "./fault_world.ts";
import { createVeth, type Veth } from "./veth.ts";

const PING_COUNT = 3000;

function skipReason(): string | null {
  if (Deno.build.os !== "linux") return "needs Linux network namespaces";
  if (Deno.uid() !== 0) return "needs root for namespaces and capture";
  for (const path of ["/usr/bin/ping", "/bin/ping"]) {
    try {
      Deno.statSync(path);
      return null;
    } catch { /* next */ }
  }
  return "needs ping (iputils-ping)";
}

/** Echo packets stored, and how many are distinct. */
async function echoCounts(sql: Sql): Promise<{ rows: number; distinct: number }> {
  const [row]: [{ rows: number; distinct: number }] = await sql`
    select count(*)::int as rows,
      count(distinct (src_ip, dst_ip, icmp_type, icmp_id, icmp_seq))::int as distinct
    from raw_packets where protocol = 'ICMP'`;
  return row;
}

/**
 * Waits until the agent has delivered what it will: all `sent` packets, or
 * a count that holds still for 3 s (some were dropped: the test says which).
 * Stopping the agent earlier would leave packets unread in the kernel.
 */
async function allCaptured(sql: Sql, sent: number): Promise<void> {
  let last = -1;
  let since = Date.now();
  await waitFor("the agent to deliver what it captured", async () => {
    const { rows } = await echoCounts(sql);
    if (rows !== last) [last, since] = [rows, Date.now()];
    return rows >= sent || Date.now() - since >= 3_000;
  });
}

/** Starts a live agent on `veth` and waits until it captures. */
async function liveAgent(
  sensor: Sensor,
  veth: Veth,
  serverUrl: string,
  env: Record<string, string> = {},
): Promise<Program> {
  const agent = sensor.agent([], {
    serverUrl,
    env: { INTERFACE: veth.hostIf, CAPTURE_FILTER: "icmp", ...env },
  });
  await waitFor(
    "the agent to capture",
    async () => /Capturing on/.test(await agent.output()),
    60_000,
    agent,
  );
  return agent;
}

Deno.test({
  name: "live capture under faults: every captured packet exactly once, the outbox cap exact",
  ignore: skipReason() !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const world = await FaultWorld.create();
    const veth = await createVeth();
    try {
      let cases = 0;
      const fresh = async () => {
        const url = await world.database(`live${++cases}`);
        return { url, sql: await world.client(url) };
      };

      await t.step("8. the server restarts during the capture", async () => {
        const { url, sql } = await fresh();
        let server = await world.server({ url, aggregate: false });
        const sensor = world.sensor("live");
        const agent = await liveAgent(sensor, veth, server.ingestUrl);
        const pinging = veth.ping(PING_COUNT, "0.002");
        await waitFor("batches stored", async () => (await echoCounts(sql)).rows >= 500);
        await server.kill("SIGTERM");
        const downAt = Date.now();
        await waitFor("3 s of outage", () => Date.now() - downAt >= 3_000, 10_000);
        server = await world.server({ url, port: server.port, aggregate: false });
        const sent = await pinging;
        await allCaptured(sql, sent);
        await agent.kill("SIGTERM");
        assert.equal((await agent.status).code, 0, await agent.output());
        await sensor.drain(server.ingestUrl, server);
        const counters = await sensor.counters();
        const counts = await echoCounts(sql);
        assert.equal(counts.rows, counts.distinct, "no packet stored twice");
        assert.equal(counters.dropped, 0, "the outbox cap was not reached");
        assert.equal(counts.rows, counters.captured, "every captured packet stored");
        assert.equal(
          counters.captured + counters.kernel_dropped,
          sent,
          "what ping sent and received was captured or reported dropped by the kernel",
        );
        await server.kill();
      });

      await t.step("6. the outbox reaches its cap while the server is down", async () => {
        const { url, sql } = await fresh();
        const port = (await world.server({ url, aggregate: false }).then(async (s) => {
          await s.kill();
          return s;
        })).port;
        // The smallest cap the agent takes: a few stored batches of 100 packets fit.
        const sensor = world.sensor("live");
        const agent = await liveAgent(sensor, veth, `http://127.0.0.1:${port}/ingest_packets`, {
          OUTBOX_MAX_BYTES: "65536",
        });
        const sent = await veth.ping(PING_COUNT, "0.002");
        const server = await world.server({ url, port, aggregate: false });
        await allCaptured(sql, sent);
        await agent.kill("SIGTERM");
        assert.equal((await agent.status).code, 0, await agent.output());
        await sensor.drain(server.ingestUrl, server);
        const counters = await sensor.counters();
        const counts = await echoCounts(sql);
        assert.equal(counts.rows, counts.distinct, "no packet stored twice");
        assert.ok(counters.dropped > 0, "the cap was reached and batches were dropped");
        assert.equal(counters.captured + counters.kernel_dropped, sent);
        assert.equal(counts.rows, counters.captured - counters.dropped, "dropped counted exactly");
        // Drop-oldest: the packets missing are the first ones of the outage. The
        // kernel may drop a few anywhere (counted apart), so only that many may
        // be missing after the first stored one.
        const [{ first_stored, missing_before, missing_after }]: [
          { first_stored: number; missing_before: number; missing_after: number },
        ] = await sql`
          with stored as (
            select icmp_seq from raw_packets where protocol = 'ICMP' and icmp_type = 8
          ), missing as (
            select s from generate_series(1, ${PING_COUNT}) s
            where s not in (select icmp_seq from stored)
          )
          select (select min(icmp_seq) from stored)::int as first_stored,
            (select count(*) from missing where s < (select min(icmp_seq) from stored))::int
              as missing_before,
            (select count(*) from missing where s > (select min(icmp_seq) from stored))::int
              as missing_after`;
        assert.ok(missing_before > 0, `the oldest were dropped (first stored: ${first_stored})`);
        assert.ok(
          missing_after <= counters.kernel_dropped,
          `only the oldest were dropped: ${missing_after} missing after the first stored, ` +
            `${counters.kernel_dropped} dropped by the kernel`,
        );
        assert.equal(
          counters.captured,
          counters.sent + counters.stored + counters.dropped + counters.dead_lettered,
          "captured = sent + stored + dropped + dead_lettered",
        );
        await server.kill();
      });
    } finally {
      await world.destroy();
      await veth.remove();
    }
  },
});
