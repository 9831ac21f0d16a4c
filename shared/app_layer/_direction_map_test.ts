import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { DirectionMap } from "./_direction_map.ts";

Deno.test("DirectionMap gives what a Map gives for any mix of set, delete and get", () => {
  // Few distinct short keys, so the same key comes back, and many sets and deletes.
  const key = fc.string({ maxLength: 3, unit: fc.constantFrom("a", "b", "\u0100", "\uffff", "1") });
  const op = fc.oneof(
    fc.tuple(fc.constant("set" as const), key, fc.integer()),
    fc.tuple(fc.constant("delete" as const), key, fc.constant(0)),
    fc.tuple(fc.constant("get" as const), key, fc.constant(0)),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const ours = new DirectionMap<number>();
      const reference = new Map<string, number>();
      for (const [kind, k, v] of ops) {
        if (kind === "set") {
          ours.set(k, v);
          reference.set(k, v);
        } else if (kind === "delete") {
          assert.equal(ours.delete(k), reference.delete(k));
        } else {
          assert.equal(ours.get(k), reference.get(k));
        }
        assert.equal(ours.size, reference.size);
      }
      for (const k of reference.keys()) assert.equal(ours.get(k), reference.get(k));
      const oldest = ours.oldestKey();
      assert.equal(oldest === undefined, reference.size === 0);
      if (oldest !== undefined) assert.ok(reference.has(oldest));
    }),
    propertyRuns(200),
  );
});

Deno.test("DirectionMap.oldestKey() follows insertion order, as bounding the extractor needs", () => {
  const map = new DirectionMap<number>();
  for (let i = 0; i < 1000; i++) map.set(`k${i}`, i);
  assert.equal(map.oldestKey(), "k0");
  map.delete("k0");
  assert.equal(map.oldestKey(), "k1");
  map.set("k1", 5); // updating keeps the key's place
  assert.equal(map.oldestKey(), "k1");
});

Deno.test("DirectionMap keeps keys apart that share a hash", () => {
  // 2^17 keys over 2^30 hashes: several pairs share one (the birthday bound),
  // so chains of two are made, read and cut here.
  const map = new DirectionMap<number>();
  const count = 1 << 17;
  for (let i = 0; i < count; i++) map.set(String.fromCharCode(6, i >>> 16, i & 0xffff, 7), i);
  assert.equal(map.size, count);
  for (let i = 0; i < count; i += 2) {
    assert.ok(map.delete(String.fromCharCode(6, i >>> 16, i & 0xffff, 7)));
  }
  assert.equal(map.size, count / 2);
  for (let i = 0; i < count; i++) {
    assert.equal(
      map.get(String.fromCharCode(6, i >>> 16, i & 0xffff, 7)),
      i % 2 === 0 ? undefined : i,
    );
  }
});

Deno.test("DirectionMap.getByUnits() finds what get() finds for the string of those units", () => {
  const unit = fc.constantFrom(0, 1, 0x61, 0xff, 0x100, 0x8000, 0xffff);
  fc.assert(
    fc.property(
      fc.array(fc.array(unit, { maxLength: 4 }), { maxLength: 40 }),
      fc.array(fc.array(unit, { maxLength: 4 }), { maxLength: 40 }),
      (held, asked) => {
        const map = new DirectionMap<number>();
        held.forEach((units, i) => map.set(String.fromCharCode(...units), i));
        for (const units of [...held, ...asked]) {
          assert.equal(map.getByUnits(units), map.get(String.fromCharCode(...units)));
        }
      },
    ),
    propertyRuns(200),
  );
});

Deno.test("DirectionMap.getByUnits() and deleteByUnits() act as get() and delete() for 7-unit keys (a plain IPv4 direction), through growth", () => {
  // Seven units, a plain IPv4 direction's length, and neighbouring lengths.
  const unit = fc.constantFrom(0, 1, 6, 0xff, 0x100, 0x8000, 0xffff);
  const key = fc.oneof(
    fc.array(unit, { minLength: 7, maxLength: 7 }),
    fc.array(unit, { minLength: 6, maxLength: 8 }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), key), { maxLength: 300 }),
      fc.array(key, { maxLength: 40 }),
      (ops, asked) => {
        const map = new DirectionMap<number>();
        const reference = new Map<string, number>();
        ops.forEach(([remove, units], i) => {
          const k = String.fromCharCode(...units);
          if (remove) {
            // By the string or by its units, alternately: both must find the same slot.
            const removed = i % 2 === 0 ? map.delete(k) : map.deleteByUnits(units);
            assert.equal(removed, reference.delete(k));
          } else {
            map.set(k, i);
            reference.set(k, i);
          }
        });
        for (const units of [...ops.map(([, units]) => units), ...asked]) {
          assert.equal(map.getByUnits(units), reference.get(String.fromCharCode(...units)));
        }
      },
    ),
    propertyRuns(200),
  );
  // Past the first table (8192 slots) and back: every key moves with its slot.
  const map = new DirectionMap<number>();
  const units = (i: number) => [6, 10, i & 0xffff, 5000 + (i >>> 16), 192, 1, 443];
  for (let i = 0; i < 20_000; i++) map.set(String.fromCharCode(...units(i)), i);
  for (let i = 0; i < 20_000; i += 3) assert.ok(map.deleteByUnits(units(i)));
  for (let i = 0; i < 20_000; i++) {
    assert.equal(map.getByUnits(units(i)), i % 3 === 0 ? undefined : i);
  }
});

Deno.test("DirectionMap.setByUnits() and deleteOldest() act as set() and delete(oldestKey()), for short and long keys", () => {
  // Up to 30 units: past the 24 a key keeps as units, so both storages are used.
  const unit = fc.constantFrom(0, 1, 6, 0xff, 0x8000, 0xffff);
  const key = fc.oneof(
    fc.array(unit, { minLength: 6, maxLength: 8 }),
    fc.array(unit, { minLength: 23, maxLength: 30 }),
  );
  const op = fc.oneof(
    fc.tuple(fc.constant("set" as const), key),
    fc.tuple(fc.constant("delete" as const), key),
    fc.tuple(fc.constant("oldest" as const), fc.constant([] as number[])),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const ours = new DirectionMap<number>();
      const reference = new Map<string, number>();
      ops.forEach(([kind, units], i) => {
        const k = String.fromCharCode(...units);
        if (kind === "set") {
          ours.setByUnits(units, i);
          reference.set(k, i);
        } else if (kind === "delete") {
          assert.equal(ours.deleteByUnits(units), reference.delete(k));
        } else {
          // A Map iterates in insertion order: its first key is the oldest.
          const oldest = reference.keys().next();
          assert.equal(ours.oldestKey(), oldest.done ? undefined : oldest.value);
          assert.equal(ours.deleteOldest(), !oldest.done);
          if (!oldest.done) reference.delete(oldest.value);
        }
        assert.equal(ours.size, reference.size);
      });
      for (const [k, v] of reference) assert.equal(ours.get(k), v);
    }),
    propertyRuns(200),
  );
});

Deno.test("DirectionMap's slot methods act as getByUnits, setByUnits and deleteByUnits, through growth and deleteOldest", () => {
  const key = fc.integer({ min: 0, max: 40 });
  const op = fc.oneof(
    fc.tuple(fc.constant("set" as const), key, fc.integer()),
    fc.tuple(fc.constant("delete" as const), key, fc.constant(0)),
    fc.tuple(fc.constant("oldest" as const), key, fc.constant(0)),
  );
  const units = (i: number) => [6, 10, i, 5000, 192, 1, 443];
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const ours = new DirectionMap<number>();
      const reference = new DirectionMap<number>();
      for (const [kind, k, v] of ops) {
        const slot = ours.slotOfUnits(units(k));
        assert.equal(slot < 0 ? undefined : ours.valueAt(slot), reference.getByUnits(units(k)));
        if (kind === "set") {
          if (slot >= 0) ours.setAt(slot, v);
          else {
            // As the extractor does when full: forget the oldest between the miss and the insertion.
            if (ours.size >= 8) ours.deleteOldest();
            if (reference.size >= 8) reference.deleteOldest();
            const at = ours.insertAfterMiss(units(k), v);
            assert.equal(ours.valueAt(at), v);
          }
          reference.setByUnits(units(k), v);
        } else if (kind === "delete") {
          assert.equal(ours.deleteAt(slot), reference.deleteByUnits(units(k)));
        } else {
          assert.equal(ours.oldestKey(), reference.oldestKey());
        }
        assert.equal(ours.size, reference.size);
      }
    }),
    propertyRuns(200),
  );
  // Past the first table (8192 slots): the slot an insertion returns holds its key after growing.
  const map = new DirectionMap<number>();
  for (let i = 0; i < 20_000; i++) {
    const key = [6, 10, i & 0xffff, 5000 + (i >>> 16), 192, 1, 443];
    assert.equal(map.slotOfUnits(key), -1);
    const slot = map.insertAfterMiss(key, i);
    assert.equal(map.slotOfUnits(key), slot);
    map.setAt(slot, -i);
  }
  for (let i = 0; i < 20_000; i++) {
    assert.equal(map.getByUnits([6, 10, i & 0xffff, 5000 + (i >>> 16), 192, 1, 443]), -i);
  }
});
