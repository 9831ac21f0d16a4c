import assert from "node:assert/strict";
import { TEST_TASK_PERMISSIONS } from "./test_permissions.ts";

Deno.test("TEST_TASK_PERMISSIONS are the --allow flags of the test tasks", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  for (const task of ["test", "test:unit", "test:faults"]) {
    const allows = config.tasks[task].split(/\s+/).filter((word) => word.startsWith("--allow-"));
    assert.deepEqual(allows, [...TEST_TASK_PERMISSIONS], task);
  }
});
