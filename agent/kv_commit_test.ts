import assert from "node:assert/strict";
import { commitKv, isKvLocked, MAX_LOCKED_ATTEMPTS } from "./kv_commit.ts";

const noWait = () => Promise.resolve();

/** An operation whose commit throws each of `errors` in turn, then succeeds. */
function failingOp(errors: Error[]): { op: Deno.AtomicOperation; calls: () => number } {
  let calls = 0;
  const op = {
    commit() {
      const error = errors[calls++];
      return error ? Promise.reject(error) : Promise.resolve({ ok: true, versionstamp: "1" });
    },
  } as unknown as Deno.AtomicOperation;
  return { op, calls: () => calls };
}

Deno.test("commitKv() commits again while the store is locked", async () => {
  const { op, calls } = failingOp([
    new TypeError("database is locked"),
    new TypeError("database is locked"),
  ]);
  assert.deepEqual(await commitKv(op, noWait), { ok: true, versionstamp: "1" });
  assert.equal(calls(), 3);
});

Deno.test("commitKv() passes any other error on at once, and a lock that lasts", async () => {
  const other = failingOp([new TypeError("Value too large")]);
  await assert.rejects(commitKv(other.op, noWait), /Value too large/);
  assert.equal(other.calls(), 1);
  const locked = failingOp(
    Array.from({ length: MAX_LOCKED_ATTEMPTS }, () => new TypeError("database is locked")),
  );
  await assert.rejects(commitKv(locked.op, noWait), (e) => isKvLocked(e));
  assert.equal(locked.calls(), MAX_LOCKED_ATTEMPTS);
});

Deno.test("commitKv() outlasts another connection writing the same store", async () => {
  // Two handles are two SQLite connections, as `deno task start`'s agent and an
  // `agent --read` beside it: plain commits here failed with "database is locked".
  const dir = await Deno.makeTempDir({ prefix: "ta-kv-commit-" });
  const a = await Deno.openKv(`${dir}/agent.kv`);
  const b = await Deno.openKv(`${dir}/agent.kv`);
  try {
    let committed = 0;
    const writer = async (kv: Deno.Kv, name: string) => {
      for (let i = 0; i < 100; i++) {
        // The check reads inside the write, as the outbox's commits do: that read is what
        // SQLite refuses to turn into a write once the other connection has written.
        const op = kv.atomic().check({ key: [name, i], versionstamp: null })
          .set([name, i], new Uint8Array(20_000)).sum(["n"], 1n);
        if ((await commitKv(op)).ok) committed++;
      }
    };
    await Promise.all([writer(a, "a"), writer(b, "b"), writer(a, "c"), writer(b, "d")]);
    assert.equal(committed, 400);
    assert.equal((await a.get<Deno.KvU64>(["n"])).value?.value, 400n);
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
