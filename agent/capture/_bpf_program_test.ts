import assert from "node:assert/strict";
import { CaptureError } from "./capture_error.ts";
import { loadLibpcap } from "./libpcap.ts";
import { compileBpfProgram } from "./_bpf_program.ts";
import { libpcapSkipReason, needs } from "./_test_support.ts";

const LINKTYPE_ETHERNET = 1;
const noLibpcap = libpcapSkipReason();

/** Runs `fn` with a dead Ethernet handle, which compiles without capture privileges. */
function withDeadHandle(fn: (handle: Deno.PointerObject) => void): void {
  const pcap = loadLibpcap();
  const handle = pcap.pcap_open_dead(LINKTYPE_ETHERNET, 262_144);
  assert.ok(handle !== null);
  try {
    fn(handle);
  } finally {
    pcap.pcap_close(handle);
  }
}

Deno.test({
  ...needs(noLibpcap, "compileBpfProgram() compiles a filter into a program the caller frees"),
}, () => {
  const pcap = loadLibpcap();
  withDeadHandle((handle) => {
    const program = compileBpfProgram(pcap, handle, "tcp port 443");
    try {
      // bf_len, a host-order u_int at the start of struct bpf_program.
      assert.ok(new Uint32Array(program.buffer, 0, 1)[0] > 1);
    } finally {
      pcap.pcap_freecode(program);
    }
  });
});

Deno.test({
  ...needs(
    noLibpcap,
    "compileBpfProgram() names libpcap's reason, and the interface when there is one",
  ),
}, async (t) => {
  const pcap = loadLibpcap();
  await t.step("a dead handle: no interface", () => {
    withDeadHandle((handle) => {
      assert.throws(() => compileBpfProgram(pcap, handle, "tcp prot 443"), (error: unknown) => {
        assert.ok(error instanceof CaptureError);
        assert.equal(error.code, "BAD_FILTER");
        assert.equal(error.interfaceName, undefined);
        assert.match(error.message, /^invalid capture filter "tcp prot 443": \S/);
        assert.equal(
          error.message,
          `invalid capture filter "tcp prot 443": ${(error.cause as Error).message}`,
        );
        return true;
      });
    });
  });
  await t.step("a live handle's interface", () => {
    withDeadHandle((handle) => {
      const compile = () =>
        compileBpfProgram(pcap, handle, "port 99999", { interfaceName: "eth9" });
      assert.throws(compile, (error: unknown) => {
        assert.ok(error instanceof CaptureError);
        assert.equal(error.interfaceName, "eth9");
        assert.match(error.message, /^invalid capture filter "port 99999" on eth9: \S/);
        return true;
      });
    });
  });
});
