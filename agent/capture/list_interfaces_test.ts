import assert from "node:assert/strict";
import { listInterfaces } from "./list_interfaces.ts";
import { libpcapSkipReason, needs } from "./_test_support.ts";

Deno.test({
  ...needs(
    libpcapSkipReason(),
    "listInterfaces() lists lo with its loopback addresses and the any pseudo-device",
  ),
  fn() {
    const interfaces = listInterfaces();
    const lo = interfaces.find((iface) => iface.name === "lo");
    assert.ok(lo, `no lo in ${interfaces.map((i) => i.name).join(", ")}`);
    assert.equal(lo.loopback, true);
    assert.equal(lo.up, true);
    assert.ok(lo.addresses.includes("127.0.0.1"));
    const any = interfaces.find((iface) => iface.name === "any");
    assert.ok(any);
    assert.equal(any.loopback, false);
    assert.equal(new Set(interfaces.map((i) => i.name)).size, interfaces.length);
  },
});
