import assert from "node:assert/strict";
import { FEATURE_NAMES, type FlowRecord } from "@traffic-analyzer/shared/flow";
import { flowsFromCapture } from "./flows_from_capture.ts";
import { APP_FEATURE_NAMES, appFeatures, vectorWithAppFeatures } from "./app_feature_study.ts";

const DEMO = new URL("../captures/demo.pcap", import.meta.url).pathname;

Deno.test("appFeatures() gives one value per candidate name, all 0 without metadata", () => {
  const flow = { app: null } as unknown as FlowRecord;
  assert.deepEqual(appFeatures(flow), APP_FEATURE_NAMES.map(() => 0));
});

Deno.test("appFeatures() reads the protocol and the first exchange's outcome", () => {
  const flow = {
    app: {
      app_protocol: "dns",
      dns_rcode: 3,
      dns_query_count: 2,
      tls_sni: null,
      http_status: null,
      ssh_client: null,
      ssh_server: null,
    },
  } as unknown as FlowRecord;
  const named = Object.fromEntries(APP_FEATURE_NAMES.map((n, i) => [n, appFeatures(flow)[i]]));
  assert.equal(named.app_dns, 1);
  assert.equal(named.app_tls, 0);
  assert.equal(named.app_dns_error, 1);
  assert.equal(named.app_dns_queries, 2);
});

Deno.test("vectorWithAppFeatures() keeps the model's features first, then the candidates", async () => {
  const { flows } = await flowsFromCapture(DEMO, { appMetadata: true });
  const withApp = flows.filter((f) => f.app);
  assert.ok(withApp.length > 0, "the demo capture has flows with application metadata");
  for (const flow of flows.slice(0, 50)) {
    const x = vectorWithAppFeatures(flow);
    assert.equal(x.length, FEATURE_NAMES.length + APP_FEATURE_NAMES.length);
    assert.deepEqual([...x.subarray(FEATURE_NAMES.length)], appFeatures(flow));
  }
});
