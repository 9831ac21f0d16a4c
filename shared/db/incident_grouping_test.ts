import assert from "node:assert/strict";
import { assignIncidents, type IncidentFlowInput } from "./incident_grouping.ts";

function flow(overrides: Partial<IncidentFlowInput> & { flowUid: string }): IncidentFlowInput {
  return {
    label: "portscan",
    score: 0.9,
    origIp: "10.0.0.1",
    respIp: "10.0.0.2",
    respPort: 80,
    firstSeen: 100,
    lastSeen: 101,
    ...overrides,
  };
}

Deno.test("assignIncidents() keys a scan by its source and a spoofed flood by its target", () => {
  const scan = Array.from({ length: 20 }, (_, i) => flow({ flowUid: `s${i}`, respPort: i + 1 }));
  const floodFlows = Array.from({ length: 20 }, (_, i) =>
    flow({
      flowUid: `f${i}`,
      label: "syn_flood",
      origIp: `172.16.0.${i}`,
      respIp: "10.0.0.9",
      respPort: 80,
    }));
  const result = assignIncidents([...floodFlows, ...scan].reverse(), { open: [], windowSec: 60 });
  assert.deepEqual(result.opened, [
    { label: "syn_flood", keyKind: "target", keyIp: "10.0.0.9" },
    { label: "portscan", keyKind: "source", keyIp: "10.0.0.1" },
  ]);
  assert.equal(result.flows.size, 40);
});

Deno.test("assignIncidents() joins an open incident within the window, not after it", () => {
  const open = [{
    id: 7,
    label: "portscan",
    keyKind: "source" as const,
    keyIp: "10.0.0.1",
    firstSeen: 0,
    lastSeen: 50,
  }];
  const near = assignIncidents([flow({ flowUid: "a", firstSeen: 100 })], { open, windowSec: 60 });
  assert.deepEqual(near.flows.get("a"), { id: 7 });
  assert.deepEqual(near.opened, []);
  const far = assignIncidents([flow({ flowUid: "b", firstSeen: 111 })], { open, windowSec: 60 });
  assert.deepEqual(far.flows.get("b"), { opened: 0 });
});

Deno.test("assignIncidents() keeps classes apart and gives the same answer in any order", () => {
  const flows = [
    flow({ flowUid: "1" }),
    flow({ flowUid: "2", label: "bruteforce", respPort: 22 }),
    flow({ flowUid: "3", origIp: "10.0.0.3" }),
    flow({ flowUid: "4", origIp: null, respIp: null }),
  ];
  const one = assignIncidents(flows, { open: [], windowSec: 60 });
  const two = assignIncidents([...flows].reverse(), { open: [], windowSec: 60 });
  assert.deepEqual(one, two);
  // Two portscan flows from two sources to one target: the target is reached
  // by 2 sources, each source reaches 1 port, so it reads as one target hit.
  assert.equal(one.opened.length, 2);
  assert.equal(one.flows.has("4"), false, "a flow without addresses joins none");
  assert.throws(() => assignIncidents([], { open: [], windowSec: -1 }), /windowSec/);
});

Deno.test("assignIncidents() keeps a scanner's probe with its scan when another host also hit the target", () => {
  // 10.0.0.7 reached 10.0.0.2 once, just before the scanner did: the target
  // has two sources, but the scanner reaches 20 hosts, so its probe stays in the scan.
  const other = flow({ flowUid: "o", origIp: "10.0.0.7", firstSeen: 99 });
  const scan = Array.from(
    { length: 20 },
    (_, i) => flow({ flowUid: `s${i}`, respIp: `10.0.0.${i + 2}`, firstSeen: 100 + i }),
  );
  const result = assignIncidents([other, ...scan], { open: [], windowSec: 60 });
  const scanIncident = result.flows.get("s0")!;
  for (const probe of scan) assert.deepEqual(result.flows.get(probe.flowUid), scanIncident);
  assert.deepEqual(result.opened.map((i) => [i.keyKind, i.keyIp]), [
    ["target", "10.0.0.2"],
    ["source", "10.0.0.1"],
  ]);
});

Deno.test("assignIncidents() lets a lone flow of a later pass join its target's flood", () => {
  const open = [{
    id: 3,
    label: "syn_flood",
    keyKind: "target" as const,
    keyIp: "10.0.0.9",
    firstSeen: 0,
    lastSeen: 90,
  }];
  const lone = flow({ flowUid: "l", label: "syn_flood", origIp: "172.16.9.9", respIp: "10.0.0.9" });
  const result = assignIncidents([lone], { open, windowSec: 60 });
  assert.deepEqual(result.flows.get("l"), { id: 3 });
});
