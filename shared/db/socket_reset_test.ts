/**
 * A connection reset (a socket error, as when PostgreSQL restarts under a
 * busy client) must not leave a statement of the lost session queued on the
 * pool's connection. postgres.js 3.4.9 failed such statements only when the
 * socket closed cleanly: after an error, a transaction's ROLLBACK written
 * between the error and the close stayed queued, became the current query of
 * the next session, and every later response then settled the statement before
 * it. The next transaction's statement waited forever (its session idle in
 * transaction, or active on ClientRead after a describe-first Parse).
 *
 * A TCP proxy in front of the test database resets the client's side of the
 * connection while a statement runs; the next transactions on the same
 * one-connection pool must complete. PostgreSQL only (PGlite has no socket).
 */
import assert from "node:assert/strict";
import net from "node:net";
import postgres from "postgres";

const databaseUrl = Deno.env.get("DATABASE_URL");
const ignore = !databaseUrl;

/** A loopback proxy to `target` that can reset every client connection. */
async function startResettingProxy(target: { host: string; port: number }) {
  const clients = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => {});
    upstream.on("error", () => {});
    upstream.on("close", () => client.destroy());
    client.on("close", () => {
      clients.delete(client);
      upstream.destroy();
    });
    clients.add(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** Sends a TCP RST to every client: they see ECONNRESET, not a clean close. */
    resetClients() {
      for (const client of clients) client.resetAndDestroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Resolves once `condition` holds, polling every 20 ms; fails naming `what` after `ms`. */
async function waitUntil(what: string, condition: () => Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `promise`, or a rejection naming `what` if it is still pending after `ms`. */
async function settlesWithin<T>(
  what: string,
  promise: Promise<T>,
  ms: number,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} still pending after ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name: "transactions after a connection reset get their own answers",
  ignore,
  async fn() {
    const url = new URL(databaseUrl!);
    const proxy = await startResettingProxy({
      host: url.hostname,
      port: Number(url.port || 5432),
    });
    // A name of its own, so the session can be found in pg_stat_activity
    // while other test runs share the server.
    const applicationName = `socket_reset_test-${crypto.randomUUID()}`;
    const sql = postgres(databaseUrl!, {
      host: "127.0.0.1",
      port: proxy.port,
      max: 1,
      onnotice: () => {},
      connection: { application_name: applicationName },
    });
    // Straight to the server, not through the proxy.
    const observer = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
    try {
      await sql`select 1`;
      let running!: () => void;
      const statementRunning = new Promise<void>((resolve) => running = resolve);
      const lost = sql.begin(async (tx) => {
        await tx`select 1`;
        const sleep = tx`select pg_sleep(30)`;
        sleep.execute();
        running();
        await sleep;
      });
      await statementRunning;
      // The reset must come while the server runs the statement.
      await waitUntil("the session's pg_sleep running on the server", async () => {
        const [{ running }] = await observer<{ running: number }[]>`
          select count(*)::int as running from pg_stat_activity
          where application_name = ${applicationName} and state = 'active'
            and query like '%pg_sleep%'`;
        return running > 0;
      }, 30_000);
      proxy.resetClients();
      await assert.rejects(
        settlesWithin("the reset transaction", lost, 30_000),
      );

      // Plain statements, then a parameterized one (describe-first).
      const plainFirst = sql.begin(async (tx) => {
        await tx`select 1`;
        const [row]: [{ x: number }?] = await tx`select ${2}::int as x`;
        return row!.x;
      });
      assert.equal(
        await settlesWithin("the next transaction", plainFirst, 30_000),
        2,
      );

      // A parameterized first statement.
      const parameterizedFirst = sql.begin(async (tx) => {
        const [row]: [{ x: number }?] = await tx`select ${3}::int as x`;
        return row!.x;
      });
      assert.equal(
        await settlesWithin("a later transaction", parameterizedFirst, 30_000),
        3,
      );
    } finally {
      await sql.end({ timeout: 5 });
      await observer.end({ timeout: 5 });
      await proxy.close();
    }
  },
});
