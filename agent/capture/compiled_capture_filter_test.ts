import assert from "node:assert/strict";
import { CaptureError } from "./capture_error.ts";
import { checkCaptureFilter, CompiledCaptureFilter } from "./compiled_capture_filter.ts";
import { libpcapSkipReason, needs } from "./_test_support.ts";

const noLibpcap = libpcapSkipReason();

Deno.test({
  ...needs(noLibpcap, "checkCaptureFilter() accepts tcpdump syntax and counts BPF instructions"),
  fn() {
    assert.equal(checkCaptureFilter(""), 1);
    assert.ok(checkCaptureFilter("tcp port 443 and not host 10.0.0.1") > 1);
    assert.ok(checkCaptureFilter("ip6 and udp", { linkType: 113 }) > 1);
  },
});

Deno.test({
  ...needs(
    noLibpcap,
    "checkCaptureFilter() rejects a bad filter with libpcap's reason in one line",
  ),
  fn() {
    assert.throws(
      () => checkCaptureFilter("tcp prot 443"),
      (error: unknown) => {
        assert.ok(error instanceof CaptureError);
        assert.equal(error.code, "BAD_FILTER");
        assert.match(error.message, /^invalid capture filter "tcp prot 443": .*syntax error/);
        assert.ok(!error.message.includes("\n"));
        return true;
      },
    );
  },
});

Deno.test({
  ...needs(
    noLibpcap,
    "CompiledCaptureFilter.matches() runs the program on a frame and refuses after close()",
  ),
  fn() {
    const arp = new Uint8Array(42);
    new DataView(arp.buffer).setUint16(12, 0x0806);
    const compiled = CompiledCaptureFilter.compile("arp");
    assert.equal(compiled.matches(arp), true);
    assert.equal(compiled.matches(new Uint8Array(42)), false);
    compiled.close();
    compiled.close();
    assert.throws(() => compiled.matches(arp), CaptureError);
  },
});
