import assert from "node:assert/strict";
import { manifestInput, segmentRecord } from "./_test_manifest.ts";
import { AmbiguousLabelError, lookupLabel } from "./label_lookup.ts";
import { buildManifest, type LabManifest } from "./manifest.ts";

const SERVER = "10.77.0.10";

function sample(): LabManifest {
  return buildManifest(manifestInput([
    segmentRecord("benign", "c1", 1000, 1030),
    segmentRecord("benign", "c3", 1040, 1200),
    segmentRecord("portscan", "a1", 1040, 1050),
    segmentRecord("syn_flood", "a2", 1055, 1060, ["10.77.0.200"]),
    segmentRecord("bruteforce", "a1", 1065, 1090),
  ]));
}

Deno.test("lookupLabel() labels a flow by the host and time that generated it", async (t) => {
  const m = sample();
  await t.step("attacker flow inside its window", () => {
    assert.deepEqual(lookupLabel(m, { addresses: ["10.77.0.66", SERVER], timeSec: 1045 }), {
      label: "portscan",
      segmentId: 2,
      scenario: "portscan_test",
    });
  });
  await t.step("the same attacker later runs another class", () => {
    assert.equal(
      lookupLabel(m, { addresses: [SERVER, "10.77.0.66"], timeSec: 1070 })?.label,
      "bruteforce",
    );
  });
  await t.step("benign background from another host at the same time", () => {
    assert.equal(
      lookupLabel(m, { addresses: ["10.77.0.23", SERVER], timeSec: 1045 })?.label,
      "benign",
    );
  });
  await t.step("a forged source of the SYN flood", () => {
    assert.equal(
      lookupLabel(m, { addresses: [SERVER, "10.77.0.200"], timeSec: 1056 })?.label,
      "syn_flood",
    );
  });
  await t.step("a flow that starts within the grace period after the end", () => {
    assert.equal(
      lookupLabel(m, { addresses: ["10.77.0.67", SERVER], timeSec: 1061.5 })?.label,
      "syn_flood",
    );
  });
});

Deno.test("lookupLabel() compares IPv6 addresses in canonical form", () => {
  const m = sample();
  for (const a of ["fd77::66", "FD77::66", "fd77:0:0:0:0:0:0:66", "fd77:0000::0066"]) {
    assert.equal(
      lookupLabel(m, { addresses: [a, "fd77::10"], timeSec: 1041 })?.label,
      "portscan",
      a,
    );
  }
});

Deno.test("lookupLabel() returns null for flows no segment generated", async (t) => {
  const m = sample();
  await t.step("after the window and its grace period", () => {
    assert.equal(lookupLabel(m, { addresses: ["10.77.0.67", SERVER], timeSec: 1063 }), null);
  });
  await t.step("before the window", () => {
    assert.equal(lookupLabel(m, { addresses: ["10.77.0.66", SERVER], timeSec: 1039.9 }), null);
  });
  await t.step("the server on its own or a host of no segment", () => {
    assert.equal(lookupLabel(m, { addresses: [SERVER, "224.0.0.22"], timeSec: 1045 }), null);
    assert.equal(lookupLabel(m, { addresses: ["10.77.0.22", SERVER], timeSec: 1010 }), null);
  });
  await t.step("a smaller grace period passed as an option", () => {
    assert.equal(
      lookupLabel(m, { addresses: ["10.77.0.67", SERVER], timeSec: 1061.5 }, { graceSec: 1 }),
      null,
    );
  });
});

Deno.test("lookupLabel() refuses to guess when segments of two classes match", () => {
  const m = sample();
  // A hand-edited manifest that buildManifest() would have rejected.
  const broken: LabManifest = {
    ...m,
    segments: [...m.segments, { ...m.segments[1], id: 99, label: "udp_flood" }],
  };
  assert.throws(
    () => lookupLabel(broken, { addresses: ["10.77.0.66", SERVER], timeSec: 1045 }),
    (e: unknown) =>
      e instanceof AmbiguousLabelError && e.segmentIds.includes(99) && e.segmentIds.includes(2),
  );
});

Deno.test("lookupLabel() rejects a time or grace period it cannot use", () => {
  const m = sample();
  assert.throws(() => lookupLabel(m, { addresses: [SERVER], timeSec: NaN }), /'timeSec'/);
  assert.throws(
    () => lookupLabel(m, { addresses: [SERVER], timeSec: 1 }, { graceSec: -2 }),
    /'graceSec'/,
  );
});

Deno.test("lookupLabel() labels random-source flood flows by their attack-only target", async (t) => {
  const VICTIM = "10.77.0.11";
  const flood = { ...segmentRecord("udp_flood", "a1", 1040, 1050), labelTargets: [VICTIM] };
  flood.target = { addresses: [VICTIM], protocol: "udp", ports: "40000" };
  const m = buildManifest(manifestInput([
    segmentRecord("benign", "c3", 1000, 1200),
    flood,
    { ...segmentRecord("syn_flood", "a2", 1055, 1060), labelTargets: [VICTIM] },
  ]));
  await t.step("a forged source that no segment lists", () => {
    assert.deepEqual(lookupLabel(m, { addresses: ["203.0.113.9", VICTIM], timeSec: 1045 }), {
      label: "udp_flood",
      segmentId: 2,
      scenario: "udp_flood_test",
    });
  });
  await t.step("the next flood on the same victim", () => {
    assert.equal(
      lookupLabel(m, { addresses: [VICTIM, "198.51.100.7"], timeSec: 1058 })?.label,
      "syn_flood",
    );
  });
  await t.step("the victim outside every window", () => {
    assert.equal(lookupLabel(m, { addresses: ["203.0.113.9", VICTIM], timeSec: 1100 }), null);
  });
  await t.step("benign traffic to the server at the same time", () => {
    assert.equal(
      lookupLabel(m, { addresses: ["10.77.0.23", SERVER], timeSec: 1045 })?.label,
      "benign",
    );
  });
  await t.step("a manifest segment without labelTargets, as older manifests have", () => {
    const old = structuredClone(m);
    delete old.segments[1].labelTargets;
    assert.equal(lookupLabel(old, { addresses: ["203.0.113.9", VICTIM], timeSec: 1045 }), null);
  });
});
