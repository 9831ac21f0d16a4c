import assert from "node:assert/strict";
import { join } from "node:path";
import { FEATURE_NAMES } from "@traffic-analyzer/shared/flow";
import { AmbiguousLabelError } from "../lab/label_lookup.ts";
import type { LabManifest } from "../lab/manifest.ts";
import { hashTrainingData } from "../ml/mod.ts";
import {
  buildLabelledDataset,
  DatasetError,
  type LabelledDataset,
  type LabelledFlow,
} from "./build_labelled_dataset.ts";

const CAPTURES = new URL("../captures/", import.meta.url).pathname;

/** A temp captures folder holding demo.pcap and a manifest changed by `edit`. */
async function demoWithManifest(edit: (m: LabManifest) => void): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dataset-test-" });
  const manifest = JSON.parse(await Deno.readTextFile(join(CAPTURES, "demo.json"))) as LabManifest;
  edit(manifest);
  await Deno.writeTextFile(join(dir, "demo.json"), JSON.stringify(manifest));
  await Deno.copyFile(join(CAPTURES, "demo.pcap"), join(dir, "demo.pcap"));
  return dir;
}

function find(
  data: LabelledDataset,
  want: Pick<LabelledFlow, "protocol" | "origIp" | "origPort" | "respIp" | "respPort">,
  firstSeen: number,
): LabelledFlow {
  const found = data.flows.filter((f) =>
    f.protocol === want.protocol && f.origIp === want.origIp && f.origPort === want.origPort &&
    f.respIp === want.respIp && f.respPort === want.respPort &&
    Math.abs(f.firstSeen - firstSeen) < 1e-5
  );
  assert.equal(found.length, 1, `expected one flow ${JSON.stringify(want)} at ${firstSeen}`);
  return found[0];
}

Deno.test("buildLabelledDataset() labels hand-checked flows of the demo capture", async (t) => {
  const data = await buildLabelledDataset(CAPTURES, { runIds: ["demo"] });
  // Each case: first packet checked with tshark, its host and time checked
  // against the window of the segment in demo.json.
  const cases: [string, Parameters<typeof find>[1], number, string, number][] = [
    [
      "a DNS query from client c2 in the dns segment",
      {
        protocol: "UDP",
        origIp: "10.77.0.22",
        origPort: 39865,
        respIp: "10.77.0.10",
        respPort: 53,
      },
      1795599325.626327,
      "benign",
      2,
    ],
    [
      "background HTTP from c3 while a1 floods UDP",
      {
        protocol: "TCP",
        origIp: "10.77.0.23",
        origPort: 46260,
        respIp: "10.77.0.10",
        respPort: 8000,
      },
      1795599332.624274,
      "benign",
      6,
    ],
    [
      "one hping3 UDP datagram from a1",
      {
        protocol: "UDP",
        origIp: "10.77.0.66",
        origPort: 1955,
        respIp: "10.77.0.10",
        respPort: 9999,
      },
      1795599332.637431,
      "udp_flood",
      5,
    ],
    [
      "a slowloris connection from a2",
      {
        protocol: "TCP",
        origIp: "10.77.0.67",
        origPort: 43046,
        respIp: "10.77.0.10",
        respPort: 80,
      },
      1795599334.997825,
      "slow_dos",
      7,
    ],
    [
      "an nmap SYN probe from a1 to port 135",
      {
        protocol: "TCP",
        origIp: "10.77.0.66",
        origPort: 62365,
        respIp: "10.77.0.10",
        respPort: 135,
      },
      1795599346.409689,
      "portscan",
      8,
    ],
    [
      "nmap's own ARP request, labelled like the scan it belongs to",
      {
        protocol: "ARP",
        origIp: "10.77.0.66",
        origPort: null,
        respIp: "10.77.0.10",
        respPort: null,
      },
      1795599346.361717,
      "portscan",
      8,
    ],
    [
      "the first burst of ICMP echo requests from a2 (echo id 24376)",
      { protocol: "ICMP", origIp: "10.77.0.67", origPort: 8, respIp: "10.77.0.10", respPort: 0 },
      1795599348.757401,
      "icmp_flood",
      9,
    ],
    [
      "one hping3 SYN from a1 to port 80",
      { protocol: "TCP", origIp: "10.77.0.66", origPort: 2671, respIp: "10.77.0.10", respPort: 80 },
      1795599353.857812,
      "syn_flood",
      10,
    ],
    [
      "one hydra login attempt from a2",
      {
        protocol: "TCP",
        origIp: "10.77.0.67",
        origPort: 41696,
        respIp: "10.77.0.10",
        respPort: 80,
      },
      1795599356.601702,
      "bruteforce",
      11,
    ],
  ];
  for (const [name, want, firstSeen, label, segmentId] of cases) {
    await t.step(name, () => {
      const flow = find(data, want, firstSeen);
      assert.equal(flow.label, label);
      assert.equal(flow.segmentId, segmentId);
      assert.equal(flow.runId, "demo");
    });
  }
  await t.step("rows, labels, groups and flows line up", () => {
    assert.equal(data.X.length, data.flows.length);
    assert.deepEqual(data.y, data.flows.map((f) => f.label));
    assert.ok(data.groups.every((g) => g === "demo"));
    assert.ok(data.X.every((x) => x.length === FEATURE_NAMES.length));
    const [run] = data.runs;
    assert.equal(run.labelled, data.X.length);
    assert.equal(run.labelled + run.unlabelled, run.flows);
    assert.equal(Object.values(run.perClass).reduce((s, n) => s + n, 0), run.labelled);
  });
});

Deno.test("buildLabelledDataset() gives context features that tell scans from floods", async () => {
  const data = await buildLabelledDataset(CAPTURES, { runIds: ["demo"] });
  const column = (name: string, label: string) => {
    const i = FEATURE_NAMES.indexOf(name);
    assert.ok(i >= 0, name);
    return data.X.filter((_, r) => data.y[r] === label).map((x) => x[i]);
  };
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  // A scan reaches many ports; a SYN flood hammers one port and leaves it half-open.
  assert.ok(median(column("short_orig_distinct_resp_ports", "portscan")) > 10);
  assert.equal(median(column("short_orig_distinct_resp_ports", "syn_flood")), 1);
  assert.ok(median(column("short_resp_half_open_share", "syn_flood")) > 0.5);
  assert.ok(median(column("short_resp_flow_rate", "syn_flood")) > 10);
  assert.ok(column("short_orig_flow_rate", "benign").every((v) => v > 0));
});

Deno.test("buildLabelledDataset() gives the same rows in the same order every time", async () => {
  const a = await buildLabelledDataset(CAPTURES, { runIds: ["demo"] });
  const b = await buildLabelledDataset(CAPTURES, { runIds: ["demo"] });
  assert.equal(
    await hashTrainingData(a.X, a.y, a.groups),
    await hashTrainingData(b.X, b.y, b.groups),
  );
  for (let i = 1; i < a.flows.length; i++) {
    assert.ok(a.flows[i - 1].firstSeen <= a.flows[i].firstSeen);
  }
});

Deno.test("buildLabelledDataset() leaves out and counts flows no segment generated", async () => {
  const full = await buildLabelledDataset(CAPTURES, { runIds: ["demo"] });
  const icmpFlows = full.runs[0].perClass.icmp_flood;
  assert.ok(icmpFlows > 0);
  const dir = await demoWithManifest((m) => {
    m.segments = m.segments.filter((s) => s.label !== "icmp_flood");
  });
  try {
    const data = await buildLabelledDataset(dir, { runIds: ["demo"] });
    const [run] = data.runs;
    assert.equal(run.perClass.icmp_flood, 0);
    assert.equal(run.unlabelled, full.runs[0].unlabelled + icmpFlows);
    assert.equal(data.X.length, full.X.length - icmpFlows);
    assert.equal(run.unlabelledByProtocol.ICMP, icmpFlows);
    assert.ok(!data.y.includes("icmp_flood"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("buildLabelledDataset() refuses a flow two classes could claim", async () => {
  // Make the benign background segment also list attacker a2 as a source: a2's
  // attack flows then match a benign and an attack segment at once.
  const dir = await demoWithManifest((m) => {
    const background = m.segments.find((s) => s.scenario === "background")!;
    background.sourceAddresses.push("10.77.0.67");
  });
  try {
    await assert.rejects(
      () => buildLabelledDataset(dir, { runIds: ["demo"] }),
      (e: unknown) => {
        assert.ok(e instanceof DatasetError);
        assert.equal(e.runId, "demo");
        assert.ok(e.cause instanceof AmbiguousLabelError);
        assert.match(e.message, /Cannot label flow .* of run demo/);
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("buildLabelledDataset() names the run it cannot read", async (t) => {
  await t.step("a folder without run manifests", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await assert.rejects(() => buildLabelledDataset(dir), /holds no run manifest/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("a run that does not exist", async () => {
    await assert.rejects(
      () => buildLabelledDataset(CAPTURES, { runIds: ["run_nope"] }),
      (e: unknown) => e instanceof DatasetError && e.runId === "run_nope",
    );
  });
  await t.step("a run listed twice", async () => {
    await assert.rejects(
      () => buildLabelledDataset(CAPTURES, { runIds: ["demo", "demo"] }),
      /must not repeat a run/,
    );
  });
});
