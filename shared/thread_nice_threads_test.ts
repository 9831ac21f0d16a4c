import assert from "node:assert/strict";
import { threadNiceValues } from "./testing/thread_nice_values.ts";

Deno.test({
  name:
    "setThreadNice sets the calling thread; a worker started after inherits, the runtime's keep",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // A child process, so the test runner keeps its priority. Raising a nice value needs no
    // privilege. It reports its own thread id and its worker's, and waits to be looked at.
    const script = `
      import { setThreadNice } from ${JSON.stringify(import.meta.resolve("./thread_nice.ts"))};
      const outcome = setThreadNice({ nice: 7, setting: "TEST_NICE" });
      new Worker(
        "data:application/javascript," + encodeURIComponent("setTimeout(() => close(), 60000);"),
        { type: "module" },
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      console.log(JSON.stringify(outcome));
      await new Promise((resolve) => setTimeout(resolve, 60000));
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const { value } = await reader.read();
      const outcome = JSON.parse(value!.trim());
      assert.deepEqual(outcome, { before: 0, after: 7, problem: null });
      const nices = await threadNiceValues(child.pid);
      assert.equal(nices.get(child.pid), 7, "the thread that set it");
      const at7 = [...nices.values()].filter((nice) => nice === 7).length;
      assert.ok(at7 >= 2, `and the worker started after: ${JSON.stringify([...nices])}`);
      assert.ok(at7 < nices.size, `not the runtime's threads: ${JSON.stringify([...nices])}`);
      reader.releaseLock();
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
  },
});
