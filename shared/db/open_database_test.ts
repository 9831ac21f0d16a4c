import assert from "node:assert/strict";
import { freePort } from "../testing/free_port.ts";
import {
  DatabaseOpenError,
  MAX_RECONNECT_DELAY_SEC,
  openDatabase,
  reconnectDelaySec,
} from "./open_database.ts";

const serverUrl = Deno.env.get("DATABASE_URL");

Deno.test({
  name: "a second process on an open PGlite folder is refused in one line",
  // PGlite whatever the backend; once is enough.
  ignore: !!serverUrl,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ta-lock-" });
    try {
      const first = await openDatabase({ pgliteDir: `${dir}/pglite` });
      try {
        // The lock is the kernel's (flock), so a second open in this process
        // stands for a second process.
        const error = await openDatabase({ pgliteDir: `${dir}/pglite` }).then(() => null, (e) => e);
        assert.ok(error instanceof DatabaseOpenError, `refused, got ${error}`);
        assert.match(error.message, /is in use by another process \(pid \d+\)/);
        assert.match(error.message, new RegExp(`${dir}/pglite`));
        assert.doesNotMatch(error.message, /\n/);
      } finally {
        await first.close();
      }
      // Closed: the folder opens again.
      const again = await openDatabase({ pgliteDir: `${dir}/pglite` });
      await again.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("openDatabase() opens lazily unless asked to verify", async () => {
  const url = `postgres://ta@127.0.0.1:${freePort()}/traffic`;
  const lazy = await openDatabase({ databaseUrl: url });
  await assert.rejects(lazy.sql`select 1`);
  await lazy.close();
});

Deno.test("an unreachable PostgreSQL fails at open, in one line naming what to check", async () => {
  const url = `postgres://ta@127.0.0.1:${freePort()}/traffic`;
  const error = await openDatabase({ databaseUrl: url, verify: true }).then(() => null, (e) => e);
  assert.ok(error instanceof DatabaseOpenError, `refused, got ${error}`);
  assert.match(error.message, /^cannot reach PostgreSQL at ta@127\.0\.0\.1:\d+\/traffic/);
  assert.match(error.message, /ECONNREFUSED.*check the host and port in DATABASE_URL/);
  assert.doesNotMatch(error.message, /\n/);
});

Deno.test({
  name: "a wrong database or user fails at open, in one line naming what to check",
  ignore: !serverUrl,
  async fn() {
    const url = new URL(serverUrl!);
    url.pathname = "/no_such_database_faults10";
    let error = await openDatabase({ databaseUrl: url.href, verify: true }).then(
      () => null,
      (e) => e,
    );
    assert.ok(error instanceof DatabaseOpenError);
    assert.match(error.message, /has no such database .*check the database name in DATABASE_URL/);
    const wrongUser = new URL(serverUrl!);
    wrongUser.username = "no_such_user_faults10";
    wrongUser.password = "secret-password";
    error = await openDatabase({ databaseUrl: wrongUser.href, verify: true }).then(
      () => null,
      (e) => e,
    );
    assert.ok(error instanceof DatabaseOpenError);
    assert.match(error.message, /refused the login .*check the user and password in DATABASE_URL/);
    assert.doesNotMatch(error.message, /secret-password/);
  },
});

Deno.test("reconnectDelaySec() grows from 25-50 ms and never waits past MAX_RECONNECT_DELAY_SEC", () => {
  for (let retries = 0; retries < 40; retries++) {
    for (let i = 0; i < 20; i++) {
      const delay = reconnectDelaySec(retries);
      assert.ok(delay > 0 && delay <= MAX_RECONNECT_DELAY_SEC, `${retries}: ${delay}`);
      if (retries === 0) assert.ok(delay >= 0.025 && delay <= 0.05, `${delay}`);
    }
  }
});
