import assert from "node:assert/strict";
import {
  describeKernelDrops,
  kernelDropsBetween,
  kernelDropTotal,
  parseSoftnetDropped,
  readKernelDropCounters,
} from "./kernel_drop_counters.ts";

Deno.test("parseSoftnetDropped sums the second column of every CPU's line, in hexadecimal", () => {
  const text = "0015d5ea 00000000 00000003 00000000 00000000\n" +
    "0003917b 0000001a 00000000 00000000 00000000\n";
  assert.equal(parseSoftnetDropped(text), 0x1a);
  assert.equal(parseSoftnetDropped(""), 0);
});

Deno.test("parseSoftnetDropped refuses text that is not softnet_stat", () => {
  assert.equal(parseSoftnetDropped("processor\t: 0\nvendor_id\t: GenuineIntel\n"), null);
  assert.equal(parseSoftnetDropped("0015d5ea\n"), null);
});

Deno.test("kernelDropsBetween gives each counter's growth, null where a reading is missing", () => {
  assert.deepEqual(
    kernelDropsBetween(
      { interfaceRxDropped: 5, peerTxDropped: 7, backlogDropped: 100 },
      { interfaceRxDropped: 9, peerTxDropped: 8, backlogDropped: 100 },
    ),
    { interfaceRxDropped: 4, peerTxDropped: 1, backlogDropped: 0 },
  );
  assert.deepEqual(
    kernelDropsBetween(
      { interfaceRxDropped: null, peerTxDropped: null, backlogDropped: 1 },
      { interfaceRxDropped: 3, peerTxDropped: null, backlogDropped: null },
    ),
    { interfaceRxDropped: null, peerTxDropped: null, backlogDropped: null },
  );
});

Deno.test("kernelDropTotal sums the counters read, null when none was", () => {
  assert.equal(
    kernelDropTotal({ interfaceRxDropped: 1, peerTxDropped: null, backlogDropped: 2 }),
    3,
  );
  assert.equal(
    kernelDropTotal({ interfaceRxDropped: null, peerTxDropped: null, backlogDropped: null }),
    null,
  );
});

Deno.test({
  name: "readKernelDropCounters reads lo's rx_dropped and this machine's backlog drops",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const counters = await readKernelDropCounters("lo");
    assert.ok(Number.isInteger(counters.interfaceRxDropped), "lo has an rx_dropped counter");
    assert.ok(Number.isInteger(counters.backlogDropped), "softnet_stat parses");
    assert.equal(counters.peerTxDropped, null, "no peer named, none read");
    const missing = await readKernelDropCounters("no-such-interface-0", {
      namespace: "no-such-namespace-0",
      interfaceName: "no-such-interface-0",
    });
    assert.equal(missing.interfaceRxDropped, null);
    assert.equal(missing.peerTxDropped, null);
  },
});

Deno.test("describeKernelDrops gives the total, then each counter, '?' where one was not read", () => {
  assert.equal(
    describeKernelDrops({ interfaceRxDropped: 1, peerTxDropped: 2, backlogDropped: 3 }),
    "6 (veth rx 1, veth peer tx 2, input backlog 3)",
  );
  assert.equal(
    describeKernelDrops({ interfaceRxDropped: 0, peerTxDropped: null, backlogDropped: 0 }),
    "0 (veth rx 0, veth peer tx ?, input backlog 0)",
  );
  assert.equal(
    describeKernelDrops({ interfaceRxDropped: null, peerTxDropped: null, backlogDropped: null }),
    "? (veth rx ?, veth peer tx ?, input backlog ?)",
  );
});
