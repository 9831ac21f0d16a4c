import assert from "node:assert/strict";
import { formatJson } from "./_format_json.ts";

Deno.test("formatJson() round-trips and keeps flat arrays on one line", () => {
  const value = {
    a: 1,
    cmds: [["nmap", "-p", "1-10"], ["dig", "@10.77.0.10"]],
    nested: { list: [1, null, true, 'x"y'], empty: [], obj: {} },
    segs: [{ id: 1 }, { id: 2 }],
  };
  const text = formatJson(value);
  assert.deepEqual(JSON.parse(text), value);
  assert.match(text, /^ {4}\["nmap", "-p", "1-10"\],$/m);
  assert.match(text, /"list": \[1, null, true, "x\\"y"\]/);
  assert.ok(text.endsWith("}\n"));
});
