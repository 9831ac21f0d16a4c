/**
 * A throwaway cluster lives as long as the process that owns it: starting
 * another one, from any process and with the permissions the test tasks give
 * (no `--allow-all`), leaves it running, and only a cluster whose owner died
 * is swept away. Before this held, every test process took every live cluster
 * on the machine for an orphan and stopped it (issue 10's intermittent fault
 * step 4: PostgreSQL gone for good right after a restart).
 *
 * They run PostgreSQL's own binaries, so only in the PostgreSQL run of the
 * suite, like `shared/db/connection_loss_test.ts`.
 */
import assert from "node:assert/strict";
import { startThrowawayPostgres } from "./throwaway_postgres.ts";
import { TEST_TASK_PERMISSIONS } from "./test_permissions.ts";

const ignore = !Deno.env.get("DATABASE_URL");

/**
 * Starts another process that starts a cluster, prints its data folder, and
 * then either destroys it and exits (`"destroy"`) or waits to be killed
 * (`"wait"`).
 */
async function otherOwner(dir: string, then: "destroy" | "wait") {
  const script = `${dir}/owner_${then}.ts`;
  const module = new URL("./throwaway_postgres.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { startThrowawayPostgres } from ${JSON.stringify(module)};
const pg = await startThrowawayPostgres();
console.log(pg.dataDir);
if (${JSON.stringify(then)} === "destroy") await pg.destroy();
else await new Promise(() => setInterval(() => {}, 1000));
`,
  );
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", ...TEST_TASK_PERMISSIONS, script],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads the first line a child prints. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    if (text.includes("\n")) break;
  }
  return text.split("\n")[0].trim();
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test({
  name: "a throwaway cluster lives as long as its owner, whoever starts another",
  ignore,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ta-throwaway-test-" });
    const mine = await startThrowawayPostgres();
    try {
      await t.step("another process starting and destroying one leaves it running", async () => {
        const other = await otherOwner(dir, "destroy");
        const { code, stderr } = await other.output();
        assert.equal(code, 0, new TextDecoder().decode(stderr));
        assert.ok(await exists(mine.dataDir), "its folder is still there");
        assert.equal((await mine.psql("select 1")).trim(), "1", "it still answers");
      });

      await t.step("a cluster whose owner was killed is removed by the next start", async () => {
        const other = await otherOwner(dir, "wait");
        const orphanDir = await firstLine(other.stdout);
        assert.ok(orphanDir && await exists(orphanDir), `the other process started ${orphanDir}`);
        other.kill("SIGKILL");
        await other.status;
        await other.stderr.cancel();
        const next = await startThrowawayPostgres();
        try {
          assert.ok(!await exists(orphanDir), "the orphan's folder is gone");
          assert.ok(await exists(mine.dataDir), "the live cluster's folder stays");
          assert.equal((await mine.psql("select 1")).trim(), "1", "the live cluster answers");
        } finally {
          await next.destroy();
        }
      });
    } finally {
      await mine.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
