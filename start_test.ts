/**
 * `deno task start` as a newcomer runs it: one command, default settings,
 * embedded PGlite, and scored flows on the page within a minute. Live capture is made unavailable (an
 * interface that does not exist), so the agent replays the bundled demo
 * capture and says so.
 */
import assert from "node:assert/strict";
import { freePort } from "@traffic-analyzer/shared/testing";

const ROOT = new URL("./", import.meta.url);

Deno.test({
  name: "start.ts runs server, aggregator and agent, and the page shows scored flows",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ta-start-" });
    const port = freePort();
    const env: Record<string, string> = {
      PORT: String(port),
      DATA_DIR: `${dir}/data`,
      LOG_DIR: `${dir}/logs`,
      INTERFACE: "no-such-iface0",
      LOG_LEVEL: "warning",
    };
    // The embedded default is the point of this test, whatever the suite runs
    // on, so DATABASE_URL is not passed down.
    for (const name of ["PATH", "HOME", "DENO_DIR", "TMPDIR", "NO_COLOR"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", new URL("deno.json", ROOT).pathname, "--allow-all", "start.ts"],
      cwd: ROOT.pathname,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    const process = child.spawn();
    const output: string[] = [];
    const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const reading = (async () => {
      for (let step = await reader.read(); !step.done; step = await reader.read()) {
        output.push(step.value);
      }
    })();
    try {
      const deadline = Date.now() + 60_000;
      let flows: { label: string | null; score: number | null; model_version: string | null }[] =
        [];
      while (Date.now() < deadline) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/last10`);
          if (res.ok) flows = await res.json();
          else await res.body?.cancel();
        } catch { /* not up yet */ }
        if (flows.length === 10) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const text = output.join("");
      assert.match(text, new RegExp(`open http://127\\.0\\.0\\.1:${port}/`));
      assert.match(text, /Live capture unavailable .*replaying the bundled demo capture/);
      assert.equal(flows.length, 10, "ten flows on the page within a minute");
      for (const f of flows) {
        assert.ok(f.label && f.score !== null && f.model_version, "each flow is scored");
      }
      const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      assert.match(page, /<table>/);
    } finally {
      process.kill("SIGTERM");
      await process.status;
      await reading.catch(() => {});
      await process.stderr.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
