import assert from "node:assert/strict";
import {
  deriveFeatures,
  type FeaturePacket,
  FLOW_FEATURE_COUNT,
  FLOW_STATS_SIZE,
  FlowFeatureAccumulator,
  FlowStatsPool,
  PACKED_STATS_MAX_DOUBLES,
  unpackStats,
} from "./flow_features.ts";

function packet(
  timestamp: number,
  length: number,
  extra: Partial<FeaturePacket> = {},
): FeaturePacket {
  return {
    timestamp,
    length,
    payloadLength: length - 40,
    headerLength: 40,
    tcpFlags: null,
    tcpWindow: null,
    ...extra,
  };
}

function near(actual: number, expected: number, label: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${label}: ${actual} != ${expected}`);
}

/** Direct two-pass statistics, to check the Welford accumulators against. */
function stats(values: number[]): { min: number; max: number; mean: number; std: number } {
  if (values.length === 0) return { min: 0, max: 0, mean: 0, std: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { min: Math.min(...values), max: Math.max(...values), mean, std: Math.sqrt(variance) };
}

Deno.test("FlowFeatureAccumulator matches two-pass statistics per direction and overall", () => {
  const sequence: [boolean, number, number][] = [
    [true, 0, 60],
    [false, 0.5, 1500],
    [true, 0.7, 100],
    [true, 2.0, 80],
    [false, 2.25, 700],
    [true, 2.3, 60],
  ];
  const acc = new FlowFeatureAccumulator();
  for (const [fromOrig, ts, length] of sequence) acc.add(fromOrig, packet(ts, length));
  const f = acc.features(0, 2.3);
  const lengths = sequence.map((s) => s[2]);
  const origLengths = sequence.filter((s) => s[0]).map((s) => s[2]);
  const respLengths = sequence.filter((s) => !s[0]).map((s) => s[2]);
  const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);
  const all = stats(lengths);
  near(f.pkt_len_mean, all.mean, "pkt_len_mean");
  near(f.pkt_len_std, all.std, "pkt_len_std");
  assert.equal(f.pkt_len_min, all.min);
  assert.equal(f.pkt_len_max, all.max);
  near(f.orig_pkt_len_std, stats(origLengths).std, "orig std");
  near(f.resp_pkt_len_mean, stats(respLengths).mean, "resp mean");
  const iat = stats(gaps(sequence.map((s) => s[1])));
  near(f.iat_mean_sec, iat.mean, "iat mean");
  near(f.iat_std_sec, iat.std, "iat std");
  const origIat = stats(gaps(sequence.filter((s) => s[0]).map((s) => s[1])));
  near(f.orig_iat_max_sec, origIat.max, "orig iat max");
  near(f.orig_iat_std_sec, origIat.std, "orig iat std");
  const respIat = stats(gaps(sequence.filter((s) => !s[0]).map((s) => s[1])));
  near(f.resp_iat_min_sec, respIat.min, "resp iat min");
  assert.equal(f.orig_packets, 4);
  assert.equal(f.resp_bytes, 2200);
  assert.equal(f.orig_payload_bytes, 300 - 160);
  near(f.down_up_ratio, 0.5, "down/up");
  near(f.packets_per_sec, 6 / 2.3, "packets/s");
});

Deno.test("FlowFeatureAccumulator splits active and idle periods at the activity timeout", () => {
  // Bursts: [0, 1], [10, 10.5], [30]; idle gaps 9 and 19.5.
  const acc = new FlowFeatureAccumulator(5);
  for (const ts of [0, 0.5, 1, 10, 10.5, 30]) acc.add(true, packet(ts, 60));
  const f = acc.features(0, 30);
  const active = stats([1, 0.5, 0]);
  const idle = stats([9, 19.5]);
  near(f.active_mean_sec, active.mean, "active mean");
  near(f.active_std_sec, active.std, "active std");
  assert.equal(f.active_min_sec, 0);
  assert.equal(f.active_max_sec, 1);
  near(f.idle_mean_sec, idle.mean, "idle mean");
  assert.equal(f.idle_min_sec, 9);
  assert.equal(f.idle_max_sec, 19.5);
  // features() does not close the running period in the state.
  acc.add(true, packet(31, 60));
  near(acc.features(0, 31).active_max_sec, 1, "after another packet");
  near(acc.features(0, 31).active_mean_sec, stats([1, 0.5, 1]).mean, "running period grew");
});

Deno.test("FlowFeatureAccumulator counts TCP flags and keeps the first window per direction", () => {
  const acc = new FlowFeatureAccumulator();
  acc.add(true, packet(0, 74, { tcpFlags: 0x02, tcpWindow: 64240, payloadLength: 0 }));
  acc.add(false, packet(0.1, 74, { tcpFlags: 0x12, tcpWindow: 0, payloadLength: 0 }));
  acc.add(
    true,
    packet(0.2, 60, { tcpFlags: 0x10 | 0x40 | 0x80, tcpWindow: 500, payloadLength: 0 }),
  );
  acc.add(false, packet(0.3, 60, { tcpFlags: 0x04 | 0x20, tcpWindow: 9, payloadLength: 0 }));
  const f = acc.features(0, 0.3);
  assert.deepEqual(
    [f.orig_syn_count, f.orig_ack_count, f.orig_ece_count, f.orig_cwr_count, f.orig_data_packets],
    [1, 1, 1, 1, 0],
  );
  assert.deepEqual([f.resp_syn_count, f.resp_ack_count, f.resp_rst_count, f.resp_urg_count], [
    1,
    1,
    1,
    1,
  ]);
  assert.equal(f.orig_init_window, 64240);
  assert.equal(f.resp_init_window, 0, "a zero window is a real first window");
  const udpOnly = new FlowFeatureAccumulator();
  udpOnly.add(true, packet(0, 60));
  assert.equal(udpOnly.features(0, 0).orig_init_window, -1);
});

Deno.test("FlowFeatureAccumulator swaps directions and survives a JSON round trip", () => {
  const acc = new FlowFeatureAccumulator();
  acc.add(true, packet(0, 100));
  acc.add(false, packet(1, 300));
  acc.add(false, packet(1.5, 500));
  acc.swapDirections();
  const f = acc.features(0, 1.5);
  assert.equal(f.orig_packets, 2);
  assert.equal(f.orig_bytes, 800);
  near(f.orig_iat_mean_sec, 0.5, "orig iat");
  assert.equal(f.resp_bytes, 100);
  const restored = new FlowFeatureAccumulator(5, JSON.parse(JSON.stringify(acc.toJSON())));
  assert.deepEqual(restored.features(0, 1.5), f);
  assert.throws(() => new FlowFeatureAccumulator(5, [1, 2, 3]), /'stats'/);
});

Deno.test("FlowFeatureAccumulator treats an out-of-order packet as a zero gap", () => {
  const acc = new FlowFeatureAccumulator();
  acc.add(true, packet(1, 60));
  acc.add(true, packet(0.5, 60));
  acc.add(true, packet(2, 60));
  const f = acc.features(0.5, 2);
  assert.equal(f.iat_min_sec, 0);
  assert.equal(f.iat_max_sec, 1);
});

Deno.test("FlowFeatureAccumulator in a FlowStatsPool matches its own-array twin; released slots start empty", () => {
  const pool = new FlowStatsPool();
  const own: FlowFeatureAccumulator[] = [];
  const pooled: FlowFeatureAccumulator[] = [];
  // More than one chunk of slots.
  for (let i = 0; i < 300; i++) {
    own.push(new FlowFeatureAccumulator(5));
    pooled.push(new FlowFeatureAccumulator(5, undefined, { pool }));
  }
  const fresh = new FlowFeatureAccumulator(5).toJSON();
  for (let step = 0; step < 6; step++) {
    for (let i = 0; i < 300; i++) {
      const p = packet(step * 0.7 + i * 0.001, 60 + ((i * 7 + step) % 1400), {
        tcpFlags: i % 3 === 0 ? null : 0x18,
        tcpWindow: i % 3 === 0 ? null : 1000 + i,
      });
      own[i].add((i + step) % 2 === 0, p);
      pooled[i].add((i + step) % 2 === 0, p);
    }
  }
  for (let i = 0; i < 300; i++) {
    assert.deepEqual(pooled[i].toJSON(), own[i].toJSON(), `accumulator ${i}`);
    assert.deepEqual(pooled[i].features(0, 4), own[i].features(0, 4), `accumulator ${i}`);
  }
  for (let i = 0; i < 150; i++) pooled[i].release();
  assert.ok(Number.isNaN(pooled[0].packets(true)), "a released accumulator reads NaN");
  const reused = Array.from(
    { length: 200 },
    () => new FlowFeatureAccumulator(5, undefined, { pool }),
  );
  assert.ok(reused.every((acc) => JSON.stringify(acc.toJSON()) === JSON.stringify(fresh)));
  reused.forEach((acc) => acc.add(true, packet(9, 1500)));
  for (let i = 150; i < 300; i++) {
    assert.deepEqual(pooled[i].toJSON(), own[i].toJSON(), `accumulator ${i} after reuse`);
  }
  const restored = new FlowFeatureAccumulator(5, own[200].toJSON(), { pool });
  assert.deepEqual(restored.features(0, 4), own[200].features(0, 4));
});

Deno.test("packStats keeps what the features read; it declines values a 32-bit integer cannot hold", () => {
  const derive = (stats: Float64Array) => {
    const out = new Float64Array(FLOW_FEATURE_COUNT);
    deriveFeatures(stats, 0, 1, 3.5, out);
    return [...out];
  };
  const packAndUnpack = (acc: FlowFeatureAccumulator): Float64Array | null => {
    const doubles = new Float64Array(PACKED_STATS_MAX_DOUBLES + 3).fill(9);
    const ints = new Int32Array(doubles.buffer);
    const taken = acc.packStats(doubles, ints, 3);
    if (taken === 0) return null;
    assert.ok(taken <= PACKED_STATS_MAX_DOUBLES);
    const out = new Float64Array(FLOW_STATS_SIZE).fill(7);
    unpackStats(doubles, ints, 3, out);
    return out;
  };
  const acc = new FlowFeatureAccumulator(1);
  acc.add(true, packet(1, 60, { tcpFlags: 0x02, tcpWindow: 64240 }));
  acc.add(false, packet(1.25, 60, { tcpFlags: 0x12, tcpWindow: 65535 }));
  acc.add(true, packet(3, 1500, { tcpFlags: 0x18, tcpWindow: 502 }));
  acc.add(true, packet(3.5, 52, { tcpFlags: 0x11, tcpWindow: 502 }));
  const whole = new Float64Array(FLOW_STATS_SIZE);
  acc.copyStats(whole, 0);
  const unpacked = packAndUnpack(acc);
  assert.ok(unpacked !== null);
  assert.deepEqual(derive(unpacked), derive(whole));

  // Byte sums past 2^31, fractional lengths and -0 stay whole copies.
  for (const length of [2 ** 31, 60.5]) {
    const big = new FlowFeatureAccumulator(1);
    big.add(true, packet(1, length));
    assert.equal(packAndUnpack(big), null, `length ${length}`);
  }
  const negativeZero = new FlowFeatureAccumulator(1, Array(FLOW_STATS_SIZE).fill(-0));
  assert.equal(packAndUnpack(negativeZero), null);
});

Deno.test("FlowFeatureAccumulator.renew starts a released accumulator over in a new slot", () => {
  const pool = new FlowStatsPool();
  const acc = new FlowFeatureAccumulator(5, undefined, { pool });
  acc.add(true, packet(1, 100));
  acc.release();
  acc.renew(pool);
  assert.deepEqual(acc.toJSON(), new FlowFeatureAccumulator(5).toJSON());
  acc.add(false, packet(2, 80));
  assert.equal(acc.packets(false), 1);
  assert.equal(acc.packets(true), 0);
});
