import assert from "node:assert/strict";
import { isLabAddress } from "./is_lab_address.ts";

Deno.test("isLabAddress() accepts only 10.77.0.0/24 and fd77::/64", async (t) => {
  await t.step("lab addresses", () => {
    for (
      const a of [
        "10.77.0.0",
        "10.77.0.10",
        "10.77.0.255",
        "fd77::10",
        "FD77::1",
        "fd77:0:0:0:1:2:3:4",
        "fd77::",
      ]
    ) {
      assert.equal(isLabAddress(a), true, a);
    }
  });
  await t.step("anything else", () => {
    for (
      const a of [
        "10.77.1.10",
        "10.78.0.10",
        "127.0.0.1",
        "8.8.8.8",
        "10.77.0.256",
        "fd77:0:0:1::10",
        "fd78::10",
        "::1",
        "::ffff:10.77.0.10",
        "www.lab.test",
        "",
        "fd77::zz",
      ]
    ) {
      assert.equal(isLabAddress(a), false, a);
    }
  });
});
