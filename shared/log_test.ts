import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { closeLogging, configureLogging, LOG_ROOT } from "./log.ts";

Deno.test("configureLogging() writes each component's records to its own file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-log-" });
  try {
    await configureLogging({
      component: "server",
      alsoComponents: ["aggregator"],
      logDir: dir,
      console: false,
    });
    getLogger([LOG_ROOT, "server"]).info("a server record");
    getLogger([LOG_ROOT, "start"]).info("a start record");
    getLogger([LOG_ROOT, "aggregator"]).warn("an aggregator record");
    getLogger([LOG_ROOT, "aggregator"]).debug("below the level");
    await closeLogging();
    const files = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(files, ["aggregator.log", "server.log"]);
    const server = await Deno.readTextFile(`${dir}/server.log`);
    const aggregator = await Deno.readTextFile(`${dir}/aggregator.log`);
    assert.match(server, /a server record/);
    assert.match(server, /a start record/);
    assert.doesNotMatch(server, /aggregator record/);
    assert.match(aggregator, /an aggregator record/);
    assert.doesNotMatch(aggregator, /below the level|server record/);
  } finally {
    await closeLogging();
    await Deno.remove(dir, { recursive: true });
  }
});
