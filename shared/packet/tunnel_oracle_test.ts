/**
 * Tunnels against tshark on other people's captures: the team kit's
 * encapsulation captures (labelled `encap` in `pcaps/labels.tsv`) and the
 * tunnel captures among the JA4 samples. Every frame is decoded and compared
 * with tshark's dissection of the same file, made at test time: the inner
 * packet's addresses, protocol and ports, and the tunnel's type, outer
 * addresses and id. The figures per capture are printed. Random tunnelled
 * frames, nested up to three deep, are checked against tshark the same way.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { encodePcap } from "../pcap/pcap_writer.ts";
import { tunnelFrame } from "./_tunnel_arbitraries.ts";
import { readCaptureBytes } from "../pcap/capture_reader.ts";
import { findTeamKit, readTeamKitCaptures, teamKitSkipReason } from "../testing/team_kit.ts";
import { decodePacket } from "./decode_packet.ts";
import { compareWithTshark, parseTsharkTsv, runTshark } from "./_tshark_oracle.ts";
import { firstSkipReason, missingToolsReason, needs, TSHARK } from "../testing/test_tools.ts";
import { tsharkTunnelView } from "./_tshark_tunnel_oracle.ts";

const kit = findTeamKit();
const noTshark = missingToolsReason([TSHARK]);
const FIELDS = (await Deno.readTextFile(new URL("../testdata/tshark_fields.txt", import.meta.url)))
  .split("\n").filter((line) => line.length > 0);
/** JA4 samples whose names say they hold a tunnel we decode. */
const TUNNEL_NAME = /gre|erspan|geneve|vxlan|gtp|mpls|pppoe|ipip|[46]in[46]/i;

function tunnelCaptures(kitDir: string): string[] {
  const labelled = readTeamKitCaptures(kitDir)
    .filter((capture) => capture.class === "encap")
    .map((capture) => capture.path);
  const ja4: string[] = [];
  for (const entry of Deno.readDirSync(`${kitDir}/ja4`)) {
    if (entry.isFile && /\.pcap(ng)?$/.test(entry.name) && TUNNEL_NAME.test(entry.name)) {
      ja4.push(`${kitDir}/ja4/${entry.name}`);
    }
  }
  return [...labelled, ...ja4.sort()];
}

Deno.test({
  ...needs(
    firstSkipReason(teamKitSkipReason(kit), noTshark),
    "decodePacket() agrees with tshark on the tunnels in the team kit's captures",
  ),
  fn: async (t) => {
    const captures = tunnelCaptures(kit!);
    assert.ok(captures.length >= 8, `expected the kit's encapsulation captures, found ${captures}`);
    const figures: string[] = [];
    let tunnelled = 0;
    for (const path of captures) {
      const name = path.slice(path.lastIndexOf("/") + 1);
      await t.step(name, async () => {
        const rows = parseTsharkTsv(await runTshark(path, FIELDS));
        const frames = [...readCaptureBytes(await Deno.readFile(path))];
        assert.equal(frames.length, rows.length, `${name}: frame count differs from tshark`);
        const problems: string[] = [];
        let theirs = 0, ours = 0, agreeing = 0;
        frames.forEach((frame, i) => {
          const record = decodePacket(frame.data, {
            linkType: frame.linkType,
            timestampSec: frame.timestampSec,
            wireLength: frame.wireLength,
            payloadCapture: "none",
          });
          const expected = tsharkTunnelView(rows[i]).tunnelType;
          const found = compareWithTshark(i + 1, frame, record, rows[i]);
          if (expected !== record.tunnel_type) {
            found.push(
              `frame ${i + 1} tunnel_type: decoded ${record.tunnel_type}, tshark ${expected}`,
            );
          }
          if (expected !== null) theirs++;
          if (record.tunnel_type !== null) ours++;
          if (expected !== null && found.length === 0) agreeing++;
          problems.push(...found);
        });
        tunnelled += theirs;
        figures.push(
          `${name}: ${frames.length} frames, tshark ${theirs} tunnelled, ours ${ours}, ` +
            `${agreeing}/${theirs} tunnelled frames agree on every compared field`,
        );
        assert.deepEqual(problems, [], `${name}:\n${problems.slice(0, 40).join("\n")}`);
      });
    }
    console.log(figures.join("\n"));
    assert.ok(tunnelled > 200, `only ${tunnelled} tunnelled frames compared`);
  },
});

Deno.test({
  ...needs(
    noTshark,
    "decodePacket() agrees with tshark on random tunnelled frames, whole and cut short",
  ),
  fn: async () => {
    const samples = fc.sample(fc.tuple(tunnelFrame, fc.nat()), { numRuns: 800, seed: 20261201 });
    const frames = samples.flatMap(([{ frame }, cut]) => [
      { data: frame, wireLength: frame.length },
      { data: frame.subarray(0, cut % (frame.length + 1)), wireLength: frame.length },
    ]);
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/tunnels.pcap`;
      await Deno.writeFile(
        path,
        encodePcap(
          frames.map((f, i) => ({ ...f, timestampNs: 1_700_000_000_000_000_000n + BigInt(i) })),
          { linkType: 1, precision: "ns" },
        ),
      );
      const rows = parseTsharkTsv(await runTshark(path, FIELDS));
      const read = [...readCaptureBytes(await Deno.readFile(path))];
      assert.equal(rows.length, read.length);
      const problems: string[] = [];
      let tunnelled = 0;
      read.forEach((frame, i) => {
        const record = decodePacket(frame.data, {
          linkType: 1,
          timestampSec: frame.timestampSec,
          wireLength: frame.wireLength,
          payloadCapture: "none",
        });
        const found = compareWithTshark(i + 1, frame, record, rows[i]);
        const expected = tsharkTunnelView(rows[i]).tunnelType;
        // A frame cut inside a tunnel header is one tshark shows no inner
        // packet for, and we flag: both keep what could be read.
        if (expected !== record.tunnel_type && !record.malformed) {
          found.push(
            `frame ${i + 1} tunnel_type: decoded ${record.tunnel_type}, tshark ${expected}`,
          );
        }
        if (record.tunnel_type !== null) tunnelled++;
        if (found.length > 0) {
          problems.push(
            ...found,
            `  ${frame.caplen}/${frame.wireLength} bytes: ${
              [...frame.data].map((b) => b.toString(16).padStart(2, "0")).join("")
            }`,
          );
        }
      });
      assert.deepEqual(problems, [], problems.slice(0, 40).join("\n"));
      assert.ok(tunnelled > 800, `only ${tunnelled} tunnelled frames compared`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
