import assert from "node:assert/strict";
import { toolPath } from "./tool_path.ts";

Deno.test("toolPath() keeps a name found on PATH, else finds it in a system folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-tool-path-" });
  try {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.mkdir(`${dir}/sbin`);
    await Deno.writeTextFile(`${dir}/sbin/meter`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/sbin/plain`, "not a program\n", { mode: 0o644 });
    const options = { path: `${dir}/bin`, systemDirs: [`${dir}/sbin`] };
    assert.equal(toolPath("meter", options), `${dir}/sbin/meter`);
    // Not executable, or nowhere: the bare name, which the caller reports as not installed.
    assert.equal(toolPath("plain", options), "plain");
    assert.equal(toolPath("absent", options), "absent");
    await Deno.writeTextFile(`${dir}/bin/meter`, "#!/bin/sh\n", { mode: 0o755 });
    assert.equal(toolPath("meter", options), "meter");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
