import assert from "node:assert/strict";
import {
  firstSkipReason,
  missingLibraryReason,
  missingToolsReason,
  needs,
  REQUIRE_TEST_TOOLS_ENV,
  type TestTool,
  toolInstalled,
} from "./test_tools.ts";

const ABSENT: TestTool = { command: "ta-no-such-tool", debianPackage: "ta-no-such-package" };
const ABSENT_PATH: TestTool = {
  command: "/nonexistent/ta-browser",
  debianPackage: "ta-browser-package",
};
const PRESENT_PATH: TestTool = { command: Deno.execPath(), debianPackage: "deno" };

/** Runs `fn` with REQUIRE_TEST_TOOLS set to `value` (or unset), then puts it back. */
function withRequirement(value: string | undefined, fn: () => void): void {
  const before = Deno.env.get(REQUIRE_TEST_TOOLS_ENV);
  if (value === undefined) Deno.env.delete(REQUIRE_TEST_TOOLS_ENV);
  else Deno.env.set(REQUIRE_TEST_TOOLS_ENV, value);
  try {
    fn();
  } finally {
    if (before === undefined) Deno.env.delete(REQUIRE_TEST_TOOLS_ENV);
    else Deno.env.set(REQUIRE_TEST_TOOLS_ENV, before);
  }
}

Deno.test("toolInstalled() runs a command's --version, or looks for an absolute path", () => {
  assert.equal(toolInstalled(ABSENT), false);
  assert.equal(toolInstalled(ABSENT_PATH), false);
  assert.equal(toolInstalled(PRESENT_PATH), true);
});

Deno.test("missingToolsReason() names what is missing and the packages to install", () => {
  withRequirement(undefined, () => {
    assert.equal(missingToolsReason([PRESENT_PATH]), null);
    assert.equal(
      missingToolsReason([ABSENT]),
      "ta-no-such-tool is not installed (apt-get install ta-no-such-package)",
    );
    assert.equal(
      missingToolsReason([PRESENT_PATH, ABSENT, ABSENT_PATH]),
      "ta-no-such-tool and ta-browser are not installed " +
        "(apt-get install ta-no-such-package ta-browser-package)",
    );
    assert.equal(
      missingLibraryReason(false, "libfoo", "libfoo1"),
      "libfoo is not installed (apt-get install libfoo1)",
    );
    assert.equal(missingLibraryReason(true, "libfoo", "libfoo1"), null);
  });
});

Deno.test("under REQUIRE_TEST_TOOLS=1 a missing tool skips nothing: the test runs and fails", () => {
  withRequirement("1", () => {
    assert.equal(missingToolsReason([ABSENT]), null);
    assert.equal(missingLibraryReason(false, "libfoo", "libfoo1"), null);
  });
  withRequirement("0", () => {
    assert.notEqual(missingToolsReason([ABSENT]), null);
  });
});

Deno.test("needs() skips with the reason in the name; firstSkipReason() takes the first", () => {
  assert.deepEqual(needs(null, "t"), { name: "t", ignore: false });
  assert.deepEqual(needs("no tshark", "t"), { name: "t (skipped: no tshark)", ignore: true });
  assert.equal(firstSkipReason(null, "a", "b"), "a");
  assert.equal(firstSkipReason(null, null), null);
});
