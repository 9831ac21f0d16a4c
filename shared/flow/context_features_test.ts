import assert from "node:assert/strict";
import { contextSubject as subject } from "./_test_context_subject.ts";
import {
  type ContextSubject,
  ContextTracker,
  type ContextTrackerState,
} from "./context_features.ts";
import { emptyFlowContext } from "./flow_context.ts";

Deno.test("ContextTracker counts distinct hosts and ports of an originator within the window", () => {
  const tracker = new ContextTracker({ shortWindowSec: 2, longWindowSec: 10 });
  tracker.admit(subject("a", 0, "s", "h1", 22));
  tracker.admit(subject("b", 0.6, "s", "h2", 22));
  tracker.admit(subject("c", 1.0, "s", "h2", 23, { answered: true, rejected: true }));
  const d = tracker.admit(subject("d", 2.5, "s", "h3", 22, { answered: true, established: true }));
  // Short window (0.5, 2.5]: b, c, d. Long window: all four.
  assert.equal(d.short_orig_flow_rate, 3 / 2);
  assert.equal(d.short_orig_distinct_resp_hosts, 2); // h2, h3
  assert.equal(d.short_orig_distinct_resp_ports, 2); // TCP/22, TCP/23
  assert.equal(d.short_orig_rejected_share, 1 / 3);
  assert.equal(d.short_orig_unanswered_share, 1 / 3);
  assert.equal(d.long_orig_distinct_resp_hosts, 3);
  assert.equal(d.long_orig_unanswered_share, 2 / 4);
  // d's service h3:22 has one flow, established: not half-open.
  assert.equal(d.short_resp_half_open_share, 0);
  assert.equal(d.short_resp_distinct_origs, 1);
});

Deno.test("ContextTracker counts distinct originators and half-open share of a service", () => {
  const tracker = new ContextTracker();
  tracker.admit(subject("1", 0, "o1", "srv", 80));
  tracker.admit(subject("2", 0.1, "o2", "srv", 80, { established: true, answered: true }));
  tracker.admit(subject("3", 0.2, "o1", "srv", 80));
  const last = tracker.admit(subject("4", 0.3, "o3", "srv", 80, { syn: false, answered: true }));
  assert.equal(last.short_resp_distinct_origs, 3);
  assert.equal(last.short_resp_flow_rate, 4 / 2);
  assert.equal(last.short_resp_half_open_share, 2 / 4);
  // A later handshake completion of flow 1 is counted for flows admitted after it.
  tracker.update(subject("1", 0, "o1", "srv", 80, { established: true, answered: true }));
  const after = tracker.admit(
    subject("5", 0.4, "o4", "srv", 80, { established: true, answered: true }),
  );
  assert.equal(after.short_resp_half_open_share, 1 / 5);
});

Deno.test("ContextTracker counts a responder host's originators and ports across its services", () => {
  const tracker = new ContextTracker({ shortWindowSec: 2, longWindowSec: 10 });
  // Forged sources, one flow each, to many ports of one victim: no service sees it, the host does.
  tracker.admit(subject("1", 0, "x1", "victim", 1000));
  tracker.admit(subject("2", 0.5, "x2", "victim", 1001));
  tracker.admit(subject("3", 1.0, "x3", "victim", 1002, { answered: true }));
  tracker.admit(subject("4", 1.1, "x3", "other", 1002));
  const last = tracker.admit(subject("5", 2.2, "x4", "victim", 1002));
  // Short window (0.2, 2.2]: flows 2, 3, 5 to the victim; long window: 1, 2, 3, 5.
  assert.equal(last.short_resp_distinct_origs, 2); // x3, x4 on victim:1002
  assert.equal(last.short_resphost_distinct_origs, 3);
  assert.equal(last.short_resphost_distinct_ports, 2);
  assert.equal(last.short_resphost_flow_rate, 3 / 2);
  assert.equal(last.short_resphost_unanswered_share, 2 / 3);
  assert.equal(last.long_resphost_distinct_origs, 4);
  assert.equal(last.long_resphost_distinct_ports, 3);
  assert.equal(last.long_resphost_unanswered_share, 3 / 4);
  // One flow per source: every flow of the originator is a new host and port.
  assert.equal(last.short_orig_resp_hosts_share, 1);
  assert.equal(last.short_orig_resp_ports_share, 1);
  const repeat = tracker.admit(subject("6", 2.3, "x4", "victim", 1002));
  assert.equal(repeat.short_orig_resp_hosts_share, 1 / 2);
  assert.equal(repeat.long_orig_resp_ports_share, 1 / 2);
});

Deno.test("ContextTracker gives zeros to flows without addresses and ignores unknown updates", () => {
  const tracker = new ContextTracker();
  const context = tracker.admit({ ...subject("x", 0, "a", "b", 1), orig_ip: null });
  assert.ok(Object.values(context).every((v) => v === 0));
  tracker.update(subject("never-admitted", 0, "a", "b", 1, { answered: true }));
  assert.equal(tracker.size, 0);
});

Deno.test("ContextTracker restored from JSON continues exactly like the original", () => {
  const subjects: ContextSubject[] = [];
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  let t = 0;
  for (let i = 0; i < 300; i++) {
    t += random() * 0.5;
    subjects.push(
      subject(
        `u${i}`,
        t,
        `o${Math.floor(random() * 4)}`,
        `r${Math.floor(random() * 5)}`,
        Math.floor(random() * 4),
        {
          answered: random() < 0.5,
          rejected: random() < 0.2,
          syn: random() < 0.7,
          established: random() < 0.4,
        },
      ),
    );
  }
  // Admit subject i, then report that subject i - 3 got answered.
  const step = (tracker: ContextTracker, i: number) => {
    const context = tracker.admit(subjects[i]);
    if (i >= 3) tracker.update({ ...subjects[i - 3], answered: true });
    return context;
  };
  const options = { shortWindowSec: 2, longWindowSec: 20 };
  const original = new ContextTracker(options);
  const reference = subjects.map((_, i) => step(original, i));
  for (const split of [0, 1, 50, 150, 299, 300]) {
    let tracker = new ContextTracker(options);
    const contexts = [];
    for (let i = 0; i < subjects.length; i++) {
      if (i === split) {
        tracker = ContextTracker.fromJSON(JSON.parse(JSON.stringify(tracker.toJSON())));
      }
      contexts.push(step(tracker, i));
    }
    assert.deepEqual(contexts, reference, `split ${split}`);
  }
  assert.ok(
    reference.some((c) => c.long_orig_unanswered_share > 0 && c.long_orig_unanswered_share < 1),
  );
});

Deno.test("ContextTracker rejects invalid windows, naming the option", () => {
  assert.throws(() => new ContextTracker({ shortWindowSec: 0 }), /'shortWindowSec'/);
  assert.throws(
    () => new ContextTracker({ shortWindowSec: 5, longWindowSec: 2 }),
    /'longWindowSec'/,
  );
});

Deno.test("ContextTracker handles give the contexts and updates of uids, and ignore evicted flows", () => {
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const subjects: ContextSubject[] = [];
  for (let i = 0; i < 400; i++) {
    subjects.push(
      subject(
        `f${i}`,
        i * 0.1,
        `o${Math.floor(random() * 4)}`,
        `r${Math.floor(random() * 3)}`,
        80,
        {
          syn: random() < 0.7,
        },
      ),
    );
  }
  const options = { shortWindowSec: 1, longWindowSec: 5 };
  const byUid = new ContextTracker(options);
  const byHandle = new ContextTracker(options);
  const handles = [];
  for (let i = 0; i < subjects.length; i++) {
    const handle = byHandle.admitHandle(subjects[i]);
    handles.push(handle);
    assert.deepEqual(byHandle.contextOf(handle), byUid.admit(subjects[i]), `flow ${i}`);
    // Late outcomes, some of flows already out of the long window (5 s = 50 flows).
    const j = Math.floor(random() * (i + 1));
    const later = { ...subjects[j], answered: true, established: random() < 0.5 };
    byUid.update(later);
    byHandle.updateHandle(handles[j]!, later);
  }
  assert.deepEqual(byHandle.toJSON(), byUid.toJSON());
  assert.equal(
    byHandle.contextOf(byHandle.admitHandle({ ...subjects[0], orig_ip: null }))
      .short_orig_flow_rate,
    0,
  );
  // Restored: the uid map holds exactly the flows still in the long window.
  const restored = ContextTracker.fromJSON(JSON.parse(JSON.stringify(byHandle.toJSON())));
  const found = restored.handlesByUid();
  assert.equal(found.size, restored.size);
  assert.ok(found.has("f399") && !found.has("f0"));
});

Deno.test("ContextTracker counts what a scan of the windows counts, over address churn and growth", () => {
  let seed = 3;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const options = { shortWindowSec: 0.5, longWindowSec: 6 };
  const tracker = new ContextTracker(options);
  const seen: ContextSubject[] = [];
  let t = 0;
  for (let i = 0; i < 4000; i++) {
    // Addresses come and go: each draws from a pool that drifts with time.
    const base = Math.floor(i / 400) * 20;
    t += random() * 0.005;
    const s = subject(
      `f${i}`,
      t,
      `a${base + Math.floor(random() * 30)}`,
      `a${base + Math.floor(random() * 30)}`,
      Math.floor(random() * 6),
      {
        protocol: random() < 0.2 ? "UDP" : "TCP",
        resp_port: random() < 0.05 ? null : Math.floor(random() * 6),
        answered: random() < 0.5,
        rejected: random() < 0.2,
        syn: random() < 0.7,
        established: random() < 0.5,
      },
    );
    seen.push(s);
    const context = tracker.admit(s);
    const inShort = seen.filter((g) => g.first_seen > t - options.shortWindowSec);
    const inLong = seen.filter((g) => g.first_seen > t - options.longWindowSec);
    const port = (g: ContextSubject) => `${g.protocol}/${g.resp_port}`;
    const count = (window: ContextSubject[], sec: number) => {
      const orig = window.filter((g) => g.orig_ip === s.orig_ip);
      const service = window.filter((g) => g.resp_ip === s.resp_ip && port(g) === port(s));
      const host = window.filter((g) => g.resp_ip === s.resp_ip);
      const distinct = (of: ContextSubject[], key: (g: ContextSubject) => unknown) =>
        new Set(of.map(key)).size;
      const n = orig.length;
      const syn = service.filter((g) => g.syn).length;
      return {
        orig_flow_rate: n / sec,
        orig_distinct_resp_hosts: distinct(orig, (g) => g.resp_ip),
        orig_distinct_resp_ports: distinct(orig, port),
        orig_rejected_share: orig.filter((g) => g.rejected).length / n,
        orig_unanswered_share: (n - orig.filter((g) => g.answered).length) / n,
        resp_flow_rate: service.length / sec,
        resp_distinct_origs: distinct(service, (g) => g.orig_ip),
        resp_half_open_share: (syn - service.filter((g) => g.syn && g.established).length) /
          service.length,
        orig_resp_hosts_share: distinct(orig, (g) => g.resp_ip) / n,
        orig_resp_ports_share: distinct(orig, port) / n,
        resphost_flow_rate: host.length / sec,
        resphost_distinct_origs: distinct(host, (g) => g.orig_ip),
        resphost_distinct_ports: distinct(host, port),
        resphost_unanswered_share: (host.length - host.filter((g) => g.answered).length) /
          host.length,
      };
    };
    const expected: Record<string, number> = {};
    for (const [name, value] of Object.entries(count(inShort, options.shortWindowSec))) {
      expected[`short_${name}`] = value;
    }
    for (const [name, value] of Object.entries(count(inLong, options.longWindowSec))) {
      expected[`long_${name}`] = value;
    }
    if (i % 7 === 0 || i > 3900) {
      assert.deepEqual({ ...context }, { ...emptyFlowContext(), ...expected }, `flow ${i}`);
    }
  }
  assert.ok(tracker.size > 1024, "the entry ring grew");
});

Deno.test("ContextTracker reads a state saved before its cells had integer ids", () => {
  // toJSON() of the tracker before the integer ids (same format since version 2).
  const saved = {
    options: { shortWindowSec: 2, longWindowSec: 10, outcomeDelaySec: 2 },
    cursor: 3.5,
    shortHeadSeq: 2,
    nextSeq: 4,
    entries: [
      [0, "a", 0, "10.0.0.1", "10.0.0.9", "TCP", 22, 5],
      [1, "b", 1, "10.0.0.1", "10.0.0.8", "UDP", null, 1],
      [2, "c", 2, "10.0.0.2", "10.0.0.9", "TCP", 22, 15],
      [3, "d", 3.5, "10.0.0.9", "10.0.0.9", "ICMP", 3, 2],
    ],
  } as ContextTrackerState;
  const tracker = ContextTracker.fromJSON(structuredClone(saved));
  assert.deepEqual(tracker.toJSON(), saved);
  const next = tracker.admit(subject("e", 3.6, "10.0.0.1", "10.0.0.9", 22));
  assert.deepEqual(
    [
      next.short_resp_distinct_origs,
      next.long_resp_distinct_origs,
      next.long_orig_distinct_resp_hosts,
    ],
    [2, 2, 2],
  );
  assert.equal(next.long_resphost_distinct_ports, 2); // TCP/22 and ICMP/3
  assert.equal(next.short_resphost_flow_rate, 3 / 2); // c, d, e
});
