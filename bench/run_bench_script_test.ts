import assert from "node:assert/strict";
import { parseBenchMetrics } from "./bench_metrics.ts";
import { benchScriptCommand, BenchScriptError, runBenchScript } from "./run_bench_script.ts";

Deno.test("benchScriptCommand() lists the permissions and pins with taskset when asked", async (t) => {
  await t.step("unpinned", () => {
    const { command, args } = benchScriptCommand("/x/bench.ts", {
      permissions: ["--allow-read"],
      args: ["--case", "decode"],
      v8Flags: ["--max-old-space-size=8192"],
    });
    assert.equal(command, Deno.execPath());
    assert.deepEqual(args, [
      "run",
      "--no-prompt",
      "--allow-read",
      "--v8-flags=--max-old-space-size=8192",
      "/x/bench.ts",
      "--case",
      "decode",
    ]);
  });
  await t.step("pinned", () => {
    const { command, args } = benchScriptCommand("/x/bench.ts", { permissions: [], cpu: 1 });
    assert.equal(command, "taskset");
    assert.deepEqual(args.slice(0, 3), ["-c", "1", Deno.execPath()]);
  });
  await t.step("never with every permission", () => {
    assert.throws(() => benchScriptCommand("/x/bench.ts", { permissions: ["-A"] }), /not -A/);
    assert.throws(
      () => benchScriptCommand("/x/bench.ts", { permissions: ["--allow-all"] }),
      /not -A/,
    );
  });
});

Deno.test("runBenchScript() echoes a script's lines and returns its stdout", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "bench-script-test-" });
  try {
    const ok = `${dir}/ok.ts`;
    await Deno.writeTextFile(
      ok,
      'console.log("working");\nconsole.error("a warning");\n' +
        'console.log("BENCH_METRICS " + JSON.stringify({ rate: 42 }));\n',
    );
    const failing = `${dir}/failing.ts`;
    await Deno.writeTextFile(failing, 'console.log("about to fail");\nDeno.exit(4);\n');
    const reading = `${dir}/reading.ts`;
    await Deno.writeTextFile(reading, 'await Deno.readTextFile("/etc/hostname");\n');

    await t.step("its metrics line is returned, not echoed", async () => {
      const echoed: string[] = [];
      const stdout = await runBenchScript(ok, { permissions: [], echo: (l) => echoed.push(l) });
      assert.deepEqual(parseBenchMetrics(stdout), { rate: 42 });
      assert.deepEqual(echoed.sort(), ["a warning", "working"]);
    });
    await t.step("a failure carries the exit code and the last lines", async () => {
      await assert.rejects(
        () => runBenchScript(failing, { permissions: [], echo: () => {} }),
        (error: Error) => {
          assert.ok(error instanceof BenchScriptError);
          assert.match(error.message, /exited with code 4:\nabout to fail/);
          return true;
        },
      );
    });
    await t.step("only the given permissions apply, without prompting", async () => {
      await assert.rejects(
        () => runBenchScript(reading, { permissions: [], echo: () => {} }),
        BenchScriptError,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
