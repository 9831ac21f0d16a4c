import assert from "node:assert/strict";
import { join } from "node:path";
import { ManifestReadError, readLabManifest } from "./read_lab_manifest.ts";

const DEMO = new URL("../captures/demo.json", import.meta.url).pathname;

Deno.test("readLabManifest() reads a lab manifest", async () => {
  const manifest = await readLabManifest(DEMO);
  assert.equal(manifest.runId, "demo");
  assert.equal(manifest.pcap, "demo.pcap");
  assert.ok(manifest.segments.length > 0);
  assert.ok(manifest.segments.every((s) => s.start <= s.end));
});

Deno.test("readLabManifest() refuses files that are not lab manifests", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "manifest-test-" });
  const good = JSON.parse(await Deno.readTextFile(DEMO));
  const write = async (name: string, value: unknown) => {
    const path = join(dir, name);
    await Deno.writeTextFile(path, typeof value === "string" ? value : JSON.stringify(value));
    return path;
  };
  try {
    const cases: [string, string, unknown, RegExp][] = [
      ["not JSON", "a.json", "{", /is not JSON/],
      ["another format", "b.json", { ...good, format: "other" }, /format/],
      ["another version", "c.json", { ...good, version: 2 }, /version/],
      [
        "a segment with an unknown class",
        "d.json",
        { ...good, segments: [{ ...good.segments[0], label: "worm" }] },
        /segments\.0\.label/,
      ],
      ["no grace period", "e.json", { ...good, graceSec: undefined }, /graceSec/],
    ];
    for (const [name, file, value, message] of cases) {
      await t.step(name, async () => {
        const path = await write(file, value);
        await assert.rejects(() => readLabManifest(path), (e: unknown) => {
          assert.ok(e instanceof ManifestReadError);
          assert.equal(e.path, path);
          assert.match(e.message, message);
          return true;
        });
      });
    }
    await t.step("a missing file", async () => {
      await assert.rejects(() => readLabManifest(join(dir, "none.json")), ManifestReadError);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
