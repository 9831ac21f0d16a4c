/**
 * `deno task serve`, `deno task aggregate` and `deno task migrate` as a
 * newcomer meets them: on PostgreSQL the server aggregates in-process (the
 * README's PostgreSQL steps show flows), its records go to server.log and
 * aggregator.log, and a wrong setting prints one line and exits 1, without a
 * stack trace.
 */
import assert from "node:assert/strict";
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import { freePort, sampleRecords } from "@traffic-analyzer/shared/testing";

const ROOT = new URL("./", import.meta.url);
const serverUrl = Deno.env.get("DATABASE_URL");

/** The environment a user's shell would pass, plus `extra`. */
function userEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", ...extra };
  for (const name of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Runs a task's program to its end and returns its exit code and output. */
async function runToEnd(script: string, args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", new URL("deno.json", ROOT).pathname, "--allow-all", script, ...args],
    cwd: ROOT.pathname,
    env: userEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Asserts a one-line failure: exit 1, one line on stderr, no stack trace. */
function assertOneLine(result: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${result.stderr}`);
  assert.match(lines[0], pattern);
}

Deno.test({
  name:
    "serve, aggregate and migrate with an unreachable DATABASE_URL say so in one line and exit 1",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ta-serve-" });
    try {
      const env = {
        DATABASE_URL: `postgres://ta@127.0.0.1:${freePort()}/traffic`,
        // A port of its own: a system already running on 8000 (a developer's
        // `deno task start`) must not make serve fail on the port first.
        PORT: String(freePort()),
        DATA_DIR: `${dir}/data`,
        LOG_DIR: `${dir}/logs`,
      };
      const pattern = /: cannot reach PostgreSQL at ta@127\.0\.0\.1:\d+\/traffic \(ECONNREFUSED\)/;
      assertOneLine(await runToEnd("start.ts", ["--role", "serve"], env), pattern);
      assertOneLine(await runToEnd("aggregator/main.ts", [], env), pattern);
      assertOneLine(await runToEnd("shared/db/migrate_main.ts", [], env), pattern);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("serve names itself, not start, when a setting is wrong", async () => {
  for (const args of [["--role", "serve"], ["--role=serve"]]) {
    const result = await runToEnd("start.ts", args, { PORT: "99999" });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr.trim(),
      'serve: Invalid PORT: "99999" is not an integer from 0 to 65535',
    );
  }
  const start = await runToEnd("start.ts", [], { PORT: "99999" });
  assert.match(start.stderr.trim(), /^start: Invalid PORT/);
  // A bad flag after `deno task serve`'s own `--role serve` is serve's too; a bad role is start's.
  const unknown = await runToEnd("start.ts", ["--role", "serve", "--bogus"], {});
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr.trim(), /^serve: Unknown flag --bogus\. Known flags: /);
  const role = await runToEnd("start.ts", ["--role", "nope"], {});
  assert.equal(role.code, 2, role.stderr);
  assert.equal(role.stderr.trim(), 'start: Invalid --role: "nope" is not one of all, serve');
});

Deno.test({
  name: "serve on PostgreSQL aggregates in-process, logs by component, and names PORT when taken",
  ignore: !serverUrl,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const schema = await createTestSchema(serverUrl!);
    const dir = await Deno.makeTempDir({ prefix: "ta-serve-" });
    const port = freePort();
    const env = {
      DATABASE_URL: schema.url,
      DATA_DIR: `${dir}/data`,
      LOG_DIR: `${dir}/logs`,
      PORT: String(port),
      INGEST_TOKENS: "serve-test-token",
      AGGREGATE_INTERVAL: "1s",
    };
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        new URL("deno.json", ROOT).pathname,
        "--allow-all",
        "start.ts",
        "--role",
        "serve",
      ],
      cwd: ROOT.pathname,
      env: userEnv(env),
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 120_000;
      const until = async (what: string, check: () => Promise<boolean>) => {
        while (!await check().catch(() => false)) {
          assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      };
      await until("the server", async () => {
        await (await fetch(`${base}/health`)).body?.cancel();
        return true;
      });
      const posted = await fetch(`${base}/ingest_packets`, {
        method: "POST",
        headers: {
          "Authorization": "Bearer serve-test-token",
          "Content-Type": "application/json",
          "Idempotency-Key": "serve-test-1",
          "X-Agent-Id": "serve-test",
        },
        body: JSON.stringify(sampleRecords(300)),
      });
      assert.equal(posted.status, 201, await posted.text());
      await until("flows from the in-process aggregator", async () => {
        const flows = await (await fetch(`${base}/api/last10`)).json();
        return Array.isArray(flows) && flows.length > 0;
      });

      // A second server on the same port is refused in one line naming PORT.
      const second = await runToEnd("start.ts", ["--role", "serve", "--no-aggregate"], {
        ...env,
        DATA_DIR: `${dir}/data2`,
      });
      assertOneLine(second, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}.*set PORT`));

      const logs = (await Array.fromAsync(Deno.readDir(`${dir}/logs`))).map((e) => e.name);
      assert.deepEqual(logs.sort(), ["aggregator.log", "server.log"]);
      assert.match(await Deno.readTextFile(`${dir}/logs/aggregator.log`), /Pass: \d+ packets/);
      assert.match(await Deno.readTextFile(`${dir}/logs/server.log`), /listening on/);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await schema.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
