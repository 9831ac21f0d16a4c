/**
 * The application-layer parsers against tshark's own dissection of the same
 * packets, on every public capture of the team kit (`pcaps/` and `ja4/`) and
 * every capture the lab made (`models/captures/`):
 * each protocol's fields must agree for at least 98 % of the packets or
 * flows where tshark finds the protocol and our decoder reaches its
 * transport header. Captures are taken by content: every capture is read,
 * and what tshark finds in it decides what is compared. Prints the figure
 * per protocol and the first disagreements.
 *
 * @module
 */

import assert from "node:assert/strict";
import { findTeamKit, teamKitSkipReason } from "../testing/team_kit.ts";
import { firstSkipReason, missingToolsReason, needs, TSHARK } from "../testing/test_tools.ts";
import { transportPayloads } from "./_capture_payloads.ts";
import { tsharkFields } from "./_tshark_fields.ts";
import { BASE_FIELDS, extractAll, type OracleCheck } from "./_oracle.ts";
import { dnsOracleChecks } from "./_oracle_dns.ts";
import { flowOracleChecks } from "./_oracle_flows.ts";

/** The share of units that must agree with tshark, per protocol. */
const REQUIRED_SHARE = 0.98;

const kit = findTeamKit();

/** The lab's captures committed with the model (what the lab makes, and what the bench reads). */
const LAB_CAPTURES = new URL("../../models/captures", import.meta.url).pathname;

function captureFiles(folders: readonly string[]): string[] {
  const paths: string[] = [];
  for (const folder of folders) {
    try {
      for (const entry of Deno.readDirSync(folder)) {
        if (entry.isFile && /\.(pcap|pcapng)$/.test(entry.name)) {
          paths.push(`${folder}/${entry.name}`);
        }
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return paths.sort();
}

Deno.test({
  ...needs(
    firstSkipReason(teamKitSkipReason(kit), missingToolsReason([TSHARK])),
    "app-layer parsers agree with tshark on the team kit's public captures",
  ),
  fn: async () => {
    const checks: OracleCheck[] = [...dnsOracleChecks(), ...flowOracleChecks()];
    const fields = [...new Set([...BASE_FIELDS, ...checks.flatMap((check) => check.fields)])];
    const preferences = [...new Set(checks.flatMap((check) => check.preferences ?? []))];
    const captures = captureFiles([`${kit}/pcaps`, `${kit}/ja4`, LAB_CAPTURES]);
    assert.ok(captures.length > 0, `no captures in ${kit}`);
    for (const path of captures) {
      const rows = await tsharkFields(path, fields, preferences);
      const packets = [...transportPayloads(await Deno.readFile(path))];
      const name = path.slice(path.lastIndexOf("/") + 1);
      const extracted = await extractAll(packets);
      for (const check of checks) await check.check({ name, packets, rows, extracted });
    }
    const report = checks.map((check) => check.tally);
    console.log(report.map((tally) => tally.summary()).join("\n"));
    for (const tally of report) {
      if (tally.oursOnlyExamples.length > 0) {
        console.log(
          `${tally.protocol} found by us only, e.g.:\n  ${tally.oursOnlyExamples.join("\n  ")}`,
        );
      }
      if (tally.examples.length > 0) {
        console.log(`${tally.protocol} disagreements:\n  ${tally.examples.join("\n  ")}`);
      }
    }
    for (const tally of report) {
      assert.ok(tally.compared > 0, `tshark found no ${tally.protocol} in the kit's captures`);
      assert.ok(
        tally.share >= REQUIRED_SHARE,
        `${tally.protocol}: ${tally.agreed}/${tally.compared} agree with tshark, below ${REQUIRED_SHARE}`,
      );
    }
  },
});
