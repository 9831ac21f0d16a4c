import assert from "node:assert/strict";
import { parseMmdblookupRate } from "./mmdblookup_report.ts";

Deno.test("parseMmdblookupRate() reads the report of mmdblookup --ip-file", () => {
  // libmaxminddb 1.7.1's line, as printed on this machine.
  assert.deepEqual(
    parseMmdblookupRate(
      "Looked up 1000000 addresses in 0.41 seconds. 2424530.43 lookups per second.\n",
    ),
    { lookups: 1_000_000, lookupsPerSec: 2_424_530.43 },
  );
  assert.equal(parseMmdblookupRate("\n  Can't open x.mmdb - Error opening the file\n"), null);
  assert.equal(parseMmdblookupRate(""), null);
});
