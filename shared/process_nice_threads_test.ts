import assert from "node:assert/strict";

Deno.test({
  name: "setProcessNice sets every thread of a real process, and a worker started after inherits",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // A child process, so the test runner keeps its priority. Raising a nice value needs no
    // privilege.
    const script = `
      import { setProcessNice } from ${JSON.stringify(import.meta.resolve("./process_nice.ts"))};
      const outcome = setProcessNice({ nice: 7, setting: "TEST_NICE" });
      const worker = new Worker(
        "data:application/javascript," +
          encodeURIComponent("postMessage(Deno.gettid?.() ?? 0); setTimeout(() => close(), 60000);"),
        { type: "module" },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const nices = [];
      for (const entry of Deno.readDirSync("/proc/self/task")) {
        const stat = Deno.readTextFileSync("/proc/self/task/" + entry.name + "/stat");
        nices.push(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
      }
      console.log(JSON.stringify({ outcome, nices }));
      Deno.exit(0);
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const { outcome, nices } = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(outcome.after, 7);
    assert.equal(outcome.problem, null);
    assert.ok(nices.length >= 3, `threads: ${nices}`);
    assert.deepEqual(nices, nices.map(() => 7), `every thread at 7: ${nices}`);
  },
});
