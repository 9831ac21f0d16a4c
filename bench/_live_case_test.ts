import assert from "node:assert/strict";
import { benchTargetMet } from "./bench_row.ts";
import { liveRows } from "./_live_case.ts";

const clean = {
  seconds: 60,
  offered_pps: 200_000,
  sent_packets: 12_000_000,
  achieved_pps: 200_000,
  tcpdump_captured: 12_000_000,
  tcpdump_kernel_dropped: 0,
  agent_captured: 12_000_000,
  agent_kernel_dropped: 0,
  agent_dropped: 0,
  stored_rows: 12_000_000,
  stored_distinct: 12_000_000,
  missing_rows: 0,
  agent_rss_mb: 180,
  server_rss_mb: 250,
};

Deno.test("liveRows() counts the rate only when nothing was lost at any stage", async (t) => {
  await t.step("none lost: the rate, met", () => {
    const [rate, agent, server] = liveRows(clean);
    assert.equal(rate.ours, 200_000);
    assert.equal(rate.reference?.value, 200_000);
    assert.equal(benchTargetMet(rate), true);
    assert.deepEqual([agent.label, agent.ours, server.ours], [
      "peak RSS of the agent, live",
      180,
      250,
    ]);
  });
  for (
    const [what, change] of [
      ["rows missing", { stored_rows: 11_999_999, stored_distinct: 11_999_999 }],
      ["a row stored twice", { stored_distinct: 11_999_999 }],
      ["kernel drops", { agent_kernel_dropped: 5 }],
      ["agent drops", { agent_dropped: 5 }],
    ] as const
  ) {
    await t.step(`${what}: 0, not met`, () => {
      const [rate] = liveRows({ ...clean, ...change });
      assert.equal(rate.ours, 0);
      assert.equal(benchTargetMet(rate), false);
    });
  }
  await t.step("a backlog delivered after the replay counts against the rate", () => {
    const [rate] = liveRows({ ...clean, drain_seconds: 60 });
    assert.equal(rate.ours, 100_000);
    assert.equal(benchTargetMet(rate), false);
  });
  await t.step("tcpdump's own loss zeroes the reference", () => {
    const [rate] = liveRows({ ...clean, tcpdump_kernel_dropped: 10 });
    assert.equal(rate.reference?.value, 0);
    assert.match(rate.reference?.name ?? "", /with loss/);
  });
});

Deno.test("liveRows() tells what was dropped before any capture, and counts it as lost", () => {
  const [rate] = liveRows({
    ...clean,
    tcpdump_captured: 11_999_000,
    stored_rows: 11_999_000,
    stored_distinct: 11_999_000,
    veth_rx_dropped: 0,
    veth_peer_tx_dropped: 600,
    backlog_dropped: 400,
  });
  assert.match(rate.note ?? "", /dropped before any capture 1000$/);
  assert.equal(rate.ours, 0);
  const [before] = liveRows(clean);
  assert.doesNotMatch(before.note ?? "", /before any capture/, "none said when none was read");
});

Deno.test("liveRows() passes a skip on", () => {
  const [row] = liveRows({ skipped: "needs root (network namespace, live capture)" });
  assert.equal(row.status, "skipped");
  assert.match(row.note ?? "", /needs root/);
});
