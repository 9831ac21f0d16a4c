import assert from "node:assert/strict";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import type { PacketBatch } from "./batcher.ts";
import type { BatchSink } from "./delivery.ts";
import { FileReadError, FileReadSession, type ReadProgress } from "./file_read_session.ts";
import { identifyFile } from "./file_identity.ts";
import { columnsOf, waitFor, writeUniqueCapture } from "./_test_support.ts";

async function withKv(fn: (kv: Deno.Kv, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ta-read-session-" });
  const kv = await Deno.openKv(`${dir}/agent.kv`);
  try {
    await fn(kv, dir);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Batches of `size` from `first`, keyed by the session, as the pipeline would cut them. */
function batches(session: FileReadSession, first: number, sizes: number[]): PacketBatch[] {
  const out: PacketBatch[] = [];
  let index = first;
  for (const size of sizes) {
    out.push({
      key: session.keyOf(index, size),
      firstIndex: index,
      count: size,
      columns: columnsOf(sampleRecords(size, { seed: index + 1 })),
      openedAtMs: 0,
      createdAtMs: 0,
    });
    index += size;
  }
  return out;
}

const accepting: BatchSink = { submit: () => Promise.resolve() };
const A = "http://127.0.0.1:8000/ingest_packets";
const B = "http://127.0.0.1:9000/ingest_packets";

async function progressOf(kv: Deno.Kv, session: FileReadSession): Promise<ReadProgress | null> {
  return (await kv.get<ReadProgress>(["progress", A, "a1", session.identity.id])).value;
}

Deno.test("identifyFile() names a file by its content, wherever it lies, and caches the hash", async () => {
  await withKv(async (kv, dir) => {
    await writeUniqueCapture(`${dir}/a.pcap`, 50);
    await Deno.copyFile(`${dir}/a.pcap`, `${dir}/b.pcap`);
    await writeUniqueCapture(`${dir}/c.pcap`, 50, 1_760_000_000);
    const a = await identifyFile(`${dir}/a.pcap`, { kv });
    assert.equal(a.hashed, true);
    assert.match(a.id, /^[0-9a-f]{32}$/);
    assert.equal(a.sha256.slice(0, 32), a.id);
    const sha = await new Deno.Command("sha256sum", { args: [`${dir}/a.pcap`], stdout: "piped" })
      .output();
    assert.equal(a.sha256, new TextDecoder().decode(sha.stdout).split(" ")[0]);
    assert.equal((await identifyFile(`${dir}/a.pcap`, { kv })).hashed, false, "cached");
    assert.equal((await identifyFile(`${dir}/b.pcap`, { kv })).id, a.id, "a copy is the same file");
    assert.notEqual((await identifyFile(`${dir}/c.pcap`, { kv })).id, a.id);
  });
});

Deno.test("FileReadSession advances its progress only over batches all filed, in any order", async () => {
  await withKv(async (kv, dir) => {
    const path = `${dir}/a.pcap`;
    await writeUniqueCapture(path, 50);
    const open = () =>
      FileReadSession.open({
        kv,
        path,
        agentId: "a1",
        target: A,
        batchSize: 10,
        payloadCapture: "headers",
        saveIntervalMs: 0,
      });
    const session = await open();
    assert.equal(session.startIndex, 0);
    assert.equal(session.sourceName, "a.pcap");
    assert.equal(session.keyOf(20, 10), `a1:${session.identity.id}:20+10`);
    const sink = session.sink(accepting);
    const [b0, b1, b2] = batches(session, 0, [10, 10, 10]);
    for (const b of [b0, b1, b2]) await sink.submit(b);

    // Acknowledged out of order: b1 and b2 first, then half of b0 (split by a 413), then the rest.
    assert.deepEqual(session.guardKey(b1.key), ["filed", A, "a1", session.identity.id, 10, b1.key]);
    assert.deepEqual(session.guardKey(`${b0.key}/1`), [
      "filed",
      A,
      "a1",
      session.identity.id,
      0,
      `${b0.key}/1`,
    ]);
    assert.equal(session.guardKey("someone-else:1+1"), null);
    session.filed(b1.key, 10);
    session.filed(b2.key, 10);
    assert.equal(session.nextIndex, 0);
    session.filed(`${b0.key}/1`, 5);
    assert.equal(session.nextIndex, 0);
    session.filed(`${b0.key}/0`, 5);
    assert.equal(session.nextIndex, 30);
    await waitFor(
      "the progress to be saved",
      async () => (await progressOf(kv, session))?.nextIndex === 30,
    );

    // A guard below the saved progress is removed with the save.
    await kv.set(["filed", A, "a1", session.identity.id, 20, b2.key], 10);
    const [b3] = batches(session, 30, [10]);
    await sink.submit(b3);
    session.filed(b3.key, 10);
    const saved = await session.finish({ complete: false, packets: 40 });
    assert.deepEqual([saved.nextIndex, saved.complete, saved.packets], [40, false, null]);
    assert.deepEqual(
      await Array.fromAsync(kv.list({ prefix: ["filed", A, "a1", session.identity.id] })),
      [],
    );

    const resumed = await open();
    assert.equal(resumed.startIndex, 40);
    assert.equal(resumed.alreadyComplete, false);
    const [b4] = batches(resumed, 40, [10]);
    await resumed.sink(accepting).submit(b4);
    resumed.filed(b4.key, 10);
    const done = await resumed.finish({ complete: true, packets: 50 });
    assert.deepEqual([done.nextIndex, done.complete, done.packets], [50, true, 50]);
    assert.equal((await open()).alreadyComplete, true);

    const restarted = await FileReadSession.open({
      kv,
      path,
      agentId: "a1",
      target: A,
      batchSize: 10,
      payloadCapture: "headers",
      restart: true,
    });
    assert.equal(restarted.startIndex, 0);
    assert.equal(restarted.alreadyComplete, false);

    // A copy read under another name makes the same records: it keeps the first name.
    await Deno.copyFile(path, `${dir}/renamed.pcap`);
    const copy = await FileReadSession.open({
      kv,
      path: `${dir}/renamed.pcap`,
      agentId: "a1",
      target: A,
      batchSize: 10,
      payloadCapture: "headers",
    });
    assert.equal(copy.identity.id, session.identity.id);
    assert.equal(copy.sourceName, "a.pcap");
  });
});

Deno.test("FileReadSession refuses to resume a partly read file with other batch settings", async () => {
  await withKv(async (kv, dir) => {
    const path = `${dir}/a.pcap`;
    await writeUniqueCapture(path, 30);
    const first = await FileReadSession.open({
      kv,
      path,
      agentId: "a1",
      target: A,
      batchSize: 10,
      payloadCapture: "headers",
    });
    const [b0] = batches(first, 0, [10]);
    await first.sink(accepting).submit(b0);
    first.filed(b0.key, 10);
    await first.finish({ complete: false, packets: 10 });
    for (
      const [batchSize, payloadCapture, appMetadata, name] of [
        [20, "headers", true, "BATCH_SIZE=10 (now 20)"],
        [10, "full", true, "PAYLOAD_CAPTURE=headers (now full)"],
        [10, "headers", false, "APP_METADATA=on (now off)"],
      ] as const
    ) {
      await assert.rejects(
        FileReadSession.open({
          kv,
          path,
          agentId: "a1",
          target: A,
          batchSize,
          payloadCapture,
          appMetadata,
        }),
        (error: unknown) => {
          assert.ok(error instanceof FileReadError);
          assert.match(
            error.message,
            new RegExp(`partly read \\(to packet 10\\) with ${name.replace(/[()]/g, "\\$&")}`),
          );
          return true;
        },
      );
    }
    // Another agent reads the file for itself.
    const other = await FileReadSession.open({
      kv,
      path,
      agentId: "a2",
      target: A,
      batchSize: 20,
      payloadCapture: "full",
    });
    assert.equal(other.startIndex, 0);
    // BATCH_SIZE not set (the default for --read): the resume keeps the size it was cut with.
    const resumed = await FileReadSession.open({
      kv,
      path,
      agentId: "a1",
      target: A,
      batchSize: 5000,
      batchSizeIsDefault: true,
      payloadCapture: "headers",
    });
    assert.equal(resumed.startIndex, 10);
    assert.equal(resumed.batchSize, 10);
    // A fresh read takes the default.
    assert.equal(other.batchSize, 20);
  });
});

/** Agent a1's read of `path` into `target` with batches of 10 (`--restart` with `restart`). */
function openInto(
  kv: Deno.Kv,
  path: string,
  target: string,
  restart = false,
): Promise<FileReadSession> {
  return FileReadSession.open({
    kv,
    path,
    agentId: "a1",
    target,
    batchSize: 10,
    payloadCapture: "headers",
    restart,
  });
}

Deno.test("FileReadSession keeps progress per server: a file read to its end into A is read again into B", async () => {
  await withKv(async (kv, dir) => {
    const path = `${dir}/a.pcap`;
    await writeUniqueCapture(path, 20);
    const open = (target: string, restart = false) => openInto(kv, path, target, restart);
    const intoA = await open(A);
    for (const b of batches(intoA, 0, [10, 10])) {
      await intoA.sink(accepting).submit(b);
      intoA.filed(b.key, 10);
    }
    await intoA.finish({ complete: true, packets: 20 });
    assert.equal((await open(A)).alreadyComplete, true);

    const intoB = await open(B);
    assert.equal(intoB.alreadyComplete, false);
    assert.equal(intoB.startIndex, 0);
    const [b0] = batches(intoB, 0, [10]);
    await intoB.sink(accepting).submit(b0);
    assert.deepEqual(intoB.guardKey(b0.key), ["filed", B, "a1", intoB.identity.id, 0, b0.key]);
    intoB.filed(b0.key, 10);
    await intoB.finish({ complete: false, packets: 10 });

    // --restart into A forgets A's progress only.
    assert.equal((await open(A, true)).startIndex, 0);
    assert.equal((await open(B)).startIndex, 10);
  });
});

Deno.test("FileReadSession takes over the progress an agent older than per-server progress kept, once", async () => {
  await withKv(async (kv, dir) => {
    const path = `${dir}/a.pcap`;
    await writeUniqueCapture(path, 30);
    const { id } = await identifyFile(path, { kv });
    const legacy = ["read", "a1", id];
    await kv.set(
      [...legacy, "progress"],
      {
        nextIndex: 10,
        complete: false,
        packets: null,
        batchSize: 10,
        payloadCapture: "headers",
        path,
        updatedAtMs: 0,
      } satisfies ReadProgress,
    );
    // A batch filed past the saved progress before the old agent was stopped.
    await kv.set([...legacy, "filed", 10, `a1:${id}:10+10`], 10);
    const open = (target: string, restart = false) => openInto(kv, path, target, restart);

    // A --restart starts over and leaves it for the next read.
    assert.equal((await open(B, true)).startIndex, 0);
    assert.ok((await kv.get([...legacy, "progress"])).value !== null);

    const intoA = await open(A);
    assert.equal(intoA.startIndex, 10);
    assert.equal((await kv.get([...legacy, "progress"])).value, null);
    assert.equal((await kv.get(["filed", A, "a1", id, 10, `a1:${id}:10+10`])).value, 10);
    // Only the name records carry stays per agent and file.
    assert.deepEqual((await Array.fromAsync(kv.list({ prefix: legacy }))).map((e) => e.key), [
      [...legacy, "name"],
    ]);
    // It went to A alone: another server starts at the first packet.
    assert.equal((await open("http://127.0.0.1:7000/ingest_packets")).startIndex, 0);
  });
});
