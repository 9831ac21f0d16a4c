/**
 * JA4 and the server name against FoxIO's reference implementation: the
 * team kit's `ja4/` captures come with the output the reference Rust
 * implementation records for each (`<capture>.expected.yaml`), and every
 * entry with a `ja4` must equal what our extractor finds in the same stream
 * direction. Captures are taken by content: every expected file is read.
 *
 * @module
 */

import assert from "node:assert/strict";
import { findTeamKit } from "../testing/team_kit.ts";
import { transportPayloads } from "./_capture_payloads.ts";
import { extractAll } from "./_oracle.ts";

/** One stream of an expected file: its top-level scalar fields. */
type Expected = Map<string, string>;

/**
 * Reads the reference's snapshot YAML: a list of streams, each a map whose
 * scalar fields are indented two spaces; nested lists (certificates, HTTP)
 * are skipped.
 */
function readExpected(text: string): Expected[] {
  const streams: Expected[] = [];
  for (const line of text.split("\n")) {
    const item = /^- (\w+): (.*)$/.exec(line);
    const field = /^ {2}(\w+): (.+)$/.exec(line);
    const match = item ?? field;
    if (item) streams.push(new Map());
    if (match && streams.length > 0) {
      streams.at(-1)!.set(match[1], match[2].replace(/^'(.*)'$/, "$1"));
    }
  }
  return streams;
}

const kit = findTeamKit();

Deno.test({
  name: "JA4 and SNI equal the reference implementation's on the team kit's ja4 captures",
  ignore: kit === null,
  fn: async (t) => {
    let compared = 0;
    const disagreements: string[] = [];
    for (
      const entry of [...Deno.readDirSync(`${kit}/ja4`)].sort((a, b) =>
        a.name.localeCompare(b.name)
      )
    ) {
      if (!entry.name.endsWith(".expected.yaml")) continue;
      const capture = `${kit}/ja4/${entry.name.slice(0, -".expected.yaml".length)}`;
      const expected = readExpected(Deno.readTextFileSync(`${kit}/ja4/${entry.name}`))
        .filter((stream) => stream.has("ja4"));
      if (expected.length === 0) continue;
      await t.step(entry.name, async () => {
        const packets = [...transportPayloads(await Deno.readFile(capture))];
        const extracted = await extractAll(packets);
        // Our hellos per direction, in capture order.
        const hellos = new Map<string, { ja4: string; sni: string | null }[]>();
        for (const packet of packets) {
          const found = extracted.get(packet.frame);
          if (found === undefined || !("tls_ja4" in found)) continue;
          const transport = packet.ipProto === 6 ? "tcp" : "udp";
          const key =
            `${transport} ${packet.srcIp}:${packet.srcPort} ${packet.dstIp}:${packet.dstPort}`;
          hellos.set(key, [...hellos.get(key) ?? [], { ja4: found.tls_ja4, sni: found.tls_sni }]);
        }
        for (const stream of expected) {
          const key = `${stream.get("transport")} ${stream.get("src")}:${stream.get("src_port")} ` +
            `${stream.get("dst")}:${stream.get("dst_port")}`;
          const ours = hellos.get(key)?.shift();
          compared++;
          const wanted = { ja4: stream.get("ja4"), sni: stream.get("tls_server_name") ?? null };
          if (ours?.ja4 !== wanted.ja4 || ours?.sni !== wanted.sni) {
            disagreements.push(
              `${entry.name} ${key}: ours ${JSON.stringify(ours)}, reference ${
                JSON.stringify(wanted)
              }`,
            );
          }
        }
      });
    }
    console.log(
      `JA4: ${compared - disagreements.length}/${compared} streams agree with the reference`,
    );
    assert.ok(compared > 0, `no JA4 expectations found in ${kit}/ja4`);
    assert.deepEqual(disagreements, []);
  },
});
