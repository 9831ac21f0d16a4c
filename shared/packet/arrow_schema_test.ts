import assert from "node:assert/strict";
import { describeArrowSchema } from "./arrow_schema.ts";

Deno.test("the README lists the Arrow schema the agent writes, field by field", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const listed = readme.slice(readme.indexOf("#### Arrow batches"));
  const start = listed.indexOf("```\n") + 4;
  const block = listed.slice(start, listed.indexOf("\n```", start));
  assert.deepEqual(block.split("\n"), describeArrowSchema());
});
