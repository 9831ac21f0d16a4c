import assert from "node:assert/strict";
import { CONFIG_SPECS } from "./config.ts";

const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));

Deno.test("README documents every setting with its flag and default", () => {
  for (const spec of CONFIG_SPECS) {
    const row = readme.split("\n").find((line) =>
      new RegExp(`^\\|\\s*\`${spec.env}\`\\s*\\|`).test(line)
    );
    assert.ok(row, `README has no row for ${spec.env}`);
    assert.ok(row.includes(`\`--${spec.flag}\``), `${spec.env} row names --${spec.flag}`);
    if (spec.default !== null) {
      assert.ok(row.includes(`\`${spec.default}\``), `${spec.env} row shows ${spec.default}`);
    }
  }
});

Deno.test("README gives the two commands for a fresh machine", () => {
  assert.match(readme, /deno task start/);
  assert.match(readme, /deno task test/);
  assert.match(readme, /npx -y deno@\d+\.\d+\.\d+ task start/);
});
