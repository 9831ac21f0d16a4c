/**
 * The browser tests (`ui_browser_checks.ts`: the pages in headless Chromium
 * over the whole system filled from the lab capture), run in a `deno test` of
 * their own with all permissions: playwright-core reads /proc as it loads,
 * which Deno allows only under --allow-all. Its steps and screenshots
 * (`test-results/`) are those of that run; its output is shown on failure.
 */
import assert from "node:assert/strict";
import {
  CHROMIUM,
  missingToolsReason,
  needs,
  TCPDUMP,
} from "@traffic-analyzer/shared/testing/test_tools";

const ROOT = new URL("./", import.meta.url);

Deno.test({
  // Without Debian's chromium (browsers cannot be downloaded here), or
  // tcpdump (the downloaded pcap's count), it is skipped, except under
  // .ci/run, which installs both and requires them.
  ...needs(
    missingToolsReason([CHROMIUM, TCPDUMP]),
    "the pages in headless Chromium (ui_browser_checks.ts)",
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "--config",
        new URL("deno.json", ROOT).pathname,
        "--allow-all",
        "ui_browser_checks.ts",
      ],
      cwd: ROOT.pathname,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `ui_browser_checks.ts failed:\n${text}`);
    assert.match(text, /ok \| 1 passed \(7 steps\)/, text);
  },
});
