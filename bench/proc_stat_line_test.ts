import assert from "node:assert/strict";
import { parseProcStat } from "./proc_stat_line.ts";

Deno.test("parseProcStat reads pid, CPU time and RSS past a command name with spaces and parentheses", () => {
  // A real line's shape (Linux proc(5)): utime 1234 and stime 66 ticks, rss 5000 pages.
  const line = "4242 (deno (main) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 66 0 0 20 0 " +
    "9 0 77 1000000 5000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  assert.deepEqual(parseProcStat(line), { pid: 4242, cpuSeconds: 13, rssPages: 5000 });
});

Deno.test("parseProcStat answers null for what is not a stat line", () => {
  assert.equal(parseProcStat(""), null);
  assert.equal(parseProcStat("no parentheses here"), null);
});
