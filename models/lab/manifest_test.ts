import assert from "node:assert/strict";
import { manifestInput, segmentRecord } from "./_test_manifest.ts";
import { buildManifest, MANIFEST_FORMAT, ManifestError } from "./manifest.ts";

Deno.test("buildManifest() numbers segments by start time and records the run", () => {
  const m = buildManifest(manifestInput([
    segmentRecord("portscan", "a1", 1100, 1110),
    segmentRecord("benign", "c1", 1001, 1050),
    segmentRecord("syn_flood", "a2", 1120, 1125),
  ]));
  assert.equal(m.format, MANIFEST_FORMAT);
  assert.equal(m.version, 1);
  assert.equal(m.seed, 1);
  assert.equal(m.graceSec, 2);
  assert.deepEqual(m.segments.map((s) => [s.id, s.label]), [[1, "benign"], [2, "portscan"], [
    3,
    "syn_flood",
  ]]);
  assert.ok(m.classes.includes("slow_dos"));
  assert.deepEqual(JSON.parse(JSON.stringify(m)), m, "survives a JSON round trip");
});

Deno.test("buildManifest() accepts different classes at the same time from different hosts", () => {
  const m = buildManifest(manifestInput([
    segmentRecord("benign", "c3", 1000, 1200),
    segmentRecord("udp_flood", "a1", 1050, 1060),
    segmentRecord("portscan", "a2", 1065, 1070),
  ]));
  assert.equal(m.segments.length, 3);
});

Deno.test("buildManifest() accepts one host running two classes one after the other", () => {
  const m = buildManifest(
    manifestInput([
      segmentRecord("portscan", "a1", 1000, 1010),
      segmentRecord("icmp_flood", "a1", 1013, 1020),
    ]),
    { graceSec: 2 },
  );
  assert.equal(m.segments.length, 2);
});

Deno.test("buildManifest() rejects segments it could not label without ambiguity", async (t) => {
  await t.step("two classes from one host overlapping in time", () => {
    assert.throws(
      () =>
        buildManifest(manifestInput([
          segmentRecord("benign", "a1", 1000, 1010),
          segmentRecord("portscan", "a1", 1005, 1020),
        ])),
      (e: unknown) => e instanceof ManifestError && /share 10\.77\.0\.66/.test(e.message),
    );
  });
  await t.step("a gap shorter than the grace period", () => {
    assert.throws(
      () =>
        buildManifest(
          manifestInput([
            segmentRecord("portscan", "a1", 1000, 1010),
            segmentRecord("icmp_flood", "a1", 1011, 1020),
          ]),
          { graceSec: 2 },
        ),
      ManifestError,
    );
  });
  await t.step("a forged source shared with another class at the same time", () => {
    assert.throws(
      () =>
        buildManifest(manifestInput([
          segmentRecord("syn_flood", "a1", 1000, 1010, ["10.77.0.200"]),
          segmentRecord("benign", "c1", 1000, 1010, ["10.77.0.200"]),
        ])),
      ManifestError,
    );
  });
  await t.step("an unknown label, a reversed window or a segment without sources", () => {
    const unknown = { ...segmentRecord("benign", "c1", 1000, 1010), label: "ddos" as never };
    assert.throws(() => buildManifest(manifestInput([unknown])), /unknown label 'ddos'/);
    assert.throws(
      () => buildManifest(manifestInput([segmentRecord("benign", "c1", 1010, 1000)])),
      ManifestError,
    );
    const bare = { ...segmentRecord("benign", "c1", 1000, 1010), sourceAddresses: [] };
    assert.throws(() => buildManifest(manifestInput([bare])), /no source address/);
  });
  await t.step("a negative grace period", () => {
    assert.throws(() => buildManifest(manifestInput([]), { graceSec: -1 }), /'graceSec' must be/);
  });
});

Deno.test("buildManifest() refuses a label target that another class touches at the same time", async (t) => {
  const VICTIM = "10.77.0.11";
  const flood = (start: number, end: number) => ({
    ...segmentRecord("syn_flood", "a1", start, end),
    labelTargets: [VICTIM],
  });
  await t.step("benign traffic aimed at the victim", () => {
    const benign = segmentRecord("benign", "c3", 1000, 1200);
    benign.target = { addresses: [VICTIM], protocol: "tcp", ports: "80" };
    assert.throws(
      () => buildManifest(manifestInput([benign, flood(1050, 1060)])),
      (e) => e instanceof ManifestError && /share 10\.77\.0\.11/.test(e.message),
    );
  });
  await t.step("two classes claiming the victim within the grace period", () => {
    const other = { ...segmentRecord("udp_flood", "a2", 1061, 1070), labelTargets: [VICTIM] };
    assert.throws(
      () => buildManifest(manifestInput([flood(1050, 1060), other])),
      ManifestError,
    );
  });
  await t.step("the same floods kept apart by more than the grace period", () => {
    const other = { ...segmentRecord("udp_flood", "a2", 1062.5, 1070), labelTargets: [VICTIM] };
    const m = buildManifest(manifestInput([flood(1050, 1060), other]));
    assert.deepEqual(m.segments.map((s) => s.labelTargets), [[VICTIM], [VICTIM]]);
  });
});
