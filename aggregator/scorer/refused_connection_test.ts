import assert from "node:assert/strict";
import { configDefault } from "@traffic-analyzer/shared/config";
import { flowFeatureVector, FlowTable } from "@traffic-analyzer/shared/flow";
import {
  IPPROTO_TCP,
  type PacketRecord,
  TCP_FLAG_ACK,
  TCP_FLAG_RST,
  TCP_FLAG_SYN,
} from "@traffic-analyzer/shared/packet";
import { blankPacketRecord } from "@traffic-analyzer/shared/testing";
import { committedScorer } from "./_committed_scorer.ts";

// The committed model, scored as the aggregator scores it: a flow from the
// flow table with its context, its vector, and the scorer's label and
// calibrated score against the default ALERT_MIN_SCORE.
const ALERT_MIN_SCORE = configDefault("alertMinScore");

function tcp(t: number, src: string, sport: number, dst: string, dport: number, flags: number) {
  return blankPacketRecord({
    timestamp: t,
    src_ip: src,
    dst_ip: dst,
    protocol: "TCP",
    src_port: sport,
    dst_port: dport,
    length: 60,
    caplen: 60,
    ip_proto: IPPROTO_TCP,
    tcp_flags: flags,
    tcp_seq: 1000,
    tcp_ack: flags & TCP_FLAG_ACK ? 1001 : 0,
    tcp_window: flags & TCP_FLAG_RST ? 0 : 64240,
    tcp_header_length: flags & TCP_FLAG_SYN ? 40 : 20,
    payload_length: 0,
  });
}

Deno.test("one refused connection alone raises no alert with the committed model", async (t) => {
  const scorer = await committedScorer();
  for (const port of [22, 80, 443, 3306, 8080, 50000]) {
    await t.step(`a SYN to closed port ${port} answered by RST`, async () => {
      const table = new FlowTable();
      const packets: PacketRecord[] = [
        tcp(100, "192.168.1.20", 51000, "192.168.1.1", port, TCP_FLAG_SYN),
        tcp(100.0004, "192.168.1.1", port, "192.168.1.20", 51000, TCP_FLAG_RST | TCP_FLAG_ACK),
      ];
      const flows = [...table.merge(packets).ended, ...table.drain()];
      assert.equal(flows.length, 1);
      const [flow] = flows;
      assert.equal(flow.rejected, true);
      assert.ok(
        flow.context !== null,
        "the flow has its context, as when the aggregator scores it",
      );
      const [verdict] = await scorer.score([flowFeatureVector(flow, flow.context)]);
      const alerts = verdict.label !== "benign" && verdict.score >= ALERT_MIN_SCORE;
      assert.equal(
        alerts,
        false,
        `label ${verdict.label}, score ${verdict.score}, ALERT_MIN_SCORE ${ALERT_MIN_SCORE}`,
      );
    });
  }
});
