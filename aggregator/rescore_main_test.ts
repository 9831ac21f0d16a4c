import assert from "node:assert/strict";
import { migrate, openDatabase } from "@traffic-analyzer/shared/db";

const ROOT = new URL("../", import.meta.url).pathname;
const MAIN = new URL("./rescore_main.ts", import.meta.url).pathname;

/** Runs `deno task rescore`'s program with `args` on the PGlite in `dataDir` (DATABASE_URL unset). */
async function rescore(args: string[], dataDir: string) {
  const env: Record<string, string> = { ...Deno.env.toObject(), DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "--allow-read",
      `--allow-write=${dataDir}`,
      "--allow-ffi",
      MAIN,
      ...args,
    ],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test({
  name: "deno task rescore names a bad flag and runs a dry run on the embedded database",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dataDir = await Deno.makeTempDir({ prefix: "rescore_main_test_" });
    try {
      await t.step("a bad --since value", async () => {
        const r = await rescore(["--since", "last week"], dataDir);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--since must be an ISO 8601 time .* current value is "last week"/);
        assert.match(r.stderr, /usage: deno task rescore/);
      });
      await t.step("an unknown flag", async () => {
        const r = await rescore(["--dryrun"], dataDir);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /Unknown flag --dryrun/);
      });
      await t.step("a bad --batch-size", async () => {
        const r = await rescore(["--batch-size", "0"], dataDir);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--batch-size must be an integer/);
      });
      await t.step("a dry run on an empty database reports nothing to do", async () => {
        // A dry run writes nothing, schema included: migrate the embedded
        // database first, as the server would have, then let it go.
        const db = await openDatabase({ pgliteDir: `${dataDir}/pglite` });
        try {
          await migrate(db.sql);
        } finally {
          await db.close();
        }
        const r = await rescore(["--dry-run", "--since", "2026-01-01T00:00:00Z"], dataDir);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /would rescore 0 of 0 flows with model flow-rf-/);
        assert.match(r.stdout, /dry run: nothing written/);
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
