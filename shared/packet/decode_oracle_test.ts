/**
 * Oracle tests: every capture in shared/testdata is read with our reader,
 * every frame decoded, and every field compared with tshark's decoding of the
 * same file — live when tshark is installed, else the committed
 * `<name>.tshark.tsv` that make_captures.sh wrote. With tshark installed,
 * random frames from the encoder are also checked against it.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { readCaptureBytes } from "../pcap/capture_reader.ts";
import { encodePcap } from "../pcap/pcap_writer.ts";
import { decodePacket } from "./decode_packet.ts";
import { encodePacket, linkTypeOf } from "./packet_encoder.ts";
import { ipPacket, otherPacket } from "./_packet_arbitraries.ts";
import { compareWithTshark, parseTsharkTsv, runTshark, tsharkAvailable } from "./_tshark_oracle.ts";
import { missingToolsReason, needs, TSHARK } from "../testing/test_tools.ts";

const TESTDATA = new URL("../testdata/", import.meta.url);
const CAPTURE_NAME = /^(.+)\.(pcap|pcapng)$/;

async function fixtures(): Promise<{ name: string; stem: string }[]> {
  const found: { name: string; stem: string }[] = [];
  for await (const entry of Deno.readDir(TESTDATA)) {
    const match = entry.isFile ? CAPTURE_NAME.exec(entry.name) : null;
    if (match) found.push({ name: entry.name, stem: match[1] });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

Deno.test("decodePacket() agrees with tshark on every field of every fixture frame", async (t) => {
  const live = await tsharkAvailable();
  const fields = (await Deno.readTextFile(new URL("tshark_fields.txt", TESTDATA)))
    .split("\n").filter((line) => line.length > 0);
  const captures = await fixtures();
  assert.ok(captures.length >= 10, `expected the fixtures in ${TESTDATA.pathname}`);
  let compared = 0;
  for (const { name, stem } of captures) {
    const saved = new URL(`${stem}.tshark.tsv`, TESTDATA);
    // Without tshark, a capture other tests keep here without our oracle
    // output (e.g. the flow fixtures) cannot be checked.
    const ignore = !live && !(await exists(saved));
    await t.step({
      name: `${name} (${live ? "live tshark" : "committed tshark output"})`,
      ignore,
      fn: async () => {
        compared++;
        const path = new URL(name, TESTDATA);
        const tsv = live ? await runTshark(path.pathname, fields) : await Deno.readTextFile(saved);
        const rows = parseTsharkTsv(tsv);
        const frames = [...readCaptureBytes(await Deno.readFile(path))];
        assert.equal(frames.length, rows.length, `${name}: frame count differs from tshark`);
        const problems: string[] = [];
        frames.forEach((frame, i) => {
          const record = decodePacket(frame.data, {
            linkType: frame.linkType,
            timestampSec: frame.timestampSec,
            wireLength: frame.wireLength,
            interfaceName: frame.interfaceName ?? name,
            payloadCapture: "none",
          });
          problems.push(...compareWithTshark(i + 1, frame, record, rows[i]));
        });
        assert.deepEqual(problems, [], `${name}:\n${problems.slice(0, 40).join("\n")}`);
      },
    });
  }
  assert.ok(compared >= 20, `only ${compared} captures had tshark output to compare`);
});

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test({
  ...needs(
    missingToolsReason([TSHARK]),
    "decodePacket() agrees with tshark on random frames, whole and cut short",
  ),
  fn: async (t) => {
    const fields = (await Deno.readTextFile(new URL("tshark_fields.txt", TESTDATA)))
      .split("\n").filter((line) => line.length > 0);
    // Each spec once whole and once cut at a random length, as a small snap
    // length or a damaged capture would leave it.
    const samples = fc.sample(
      fc.tuple(fc.oneof(ipPacket({ wellFormed: true }), otherPacket), fc.nat()),
      { numRuns: 1500, seed: 20240611 },
    );
    const byLink = Map.groupBy(samples, ([spec]) => spec.link ?? "ethernet");
    const dir = await Deno.makeTempDir();
    try {
      for (const [link, group] of byLink) {
        await t.step(`${link}: ${group.length * 2} random frames`, async () => {
          const linkType = linkTypeOf(link);
          const specs = group.flatMap(([spec, cut]) => {
            const data = encodePacket(spec);
            return [
              { spec, data, wireLength: data.length },
              { spec, data: data.subarray(0, cut % (data.length + 1)), wireLength: data.length },
            ];
          });
          const path = `${dir}/${link}.pcap`;
          await Deno.writeFile(
            path,
            encodePcap(
              specs.map((s, i) => ({ ...s, timestampNs: 1_700_000_000_000_000_000n + BigInt(i) })),
              { linkType, precision: "ns" },
            ),
          );
          const rows = parseTsharkTsv(await runTshark(path, fields));
          const read = [...readCaptureBytes(await Deno.readFile(path))];
          assert.equal(rows.length, read.length);
          const problems: string[] = [];
          read.forEach((frame, i) => {
            const record = decodePacket(frame.data, {
              linkType,
              timestampSec: frame.timestampSec,
              wireLength: frame.wireLength,
              payloadCapture: "none",
            });
            const found = compareWithTshark(i + 1, frame, record, rows[i]);
            if (found.length > 0) {
              problems.push(
                ...found,
                `  ${frame.caplen}/${frame.wireLength} bytes of ${
                  JSON.stringify(specs[i].spec, replacer)
                }`,
              );
            }
          });
          assert.deepEqual(problems, [], problems.slice(0, 40).join("\n"));
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? `bytes(${value.length})` : value;
}
