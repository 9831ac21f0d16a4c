// The pages' one script: draws the charts with uPlot (served by this server,
// loaded before this file) and keeps the dashboard current by polling its JSON
// API. It only writes text (textContent) and DOM nodes, never HTML strings, so
// a hostile label or address stays text. No request leaves the server.
"use strict";

(function () {
  const PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
  ];
  const CLASS_COLORS = { benign: "#2ca02c", unscored: "#9e9e9e" };
  const POLL_MS = 5000;
  const UNITS = ["", "k", "M", "G", "T", "P"];

  /** `1234567` → `1.23 M` (as server/pages/format.ts). */
  function si(value, unit) {
    unit = unit || "";
    if (value === null || value === undefined || !isFinite(value)) return "–";
    let n = Math.abs(value);
    let i = 0;
    while (n >= 1000 && i < UNITS.length - 1) {
      n /= 1000;
      i++;
    }
    const digits = n >= 100 || (i === 0 && Number.isInteger(n)) ? 0 : n >= 10 ? 1 : 2;
    const text = (value < 0 ? "-" : "") + n.toFixed(digits);
    const suffix = UNITS[i] + unit;
    return suffix === "" ? text : text + " " + suffix;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }

  function isoTime(sec) {
    return new Date(sec * 1000).toISOString().replace("T", " ").replace("Z", "");
  }

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  function link(href, text) {
    return el("a", text, { href });
  }

  async function fetchJson(url) {
    const res = await fetch(url, { headers: { accept: "application/json" } });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const error = new Error((body && body.error) || "HTTP " + res.status);
      error.status = res.status;
      throw error;
    }
    return body;
  }

  function chartWidth(container) {
    return Math.max(280, container.clientWidth || 600);
  }

  /**
   * A stacked area chart: `named` maps a name to values per bucket. uPlot
   * draws series in order, so the running sums are drawn top first and each
   * lower one paints over it; the legend shows each series' own value.
   */
  function stackedChart(container, xs, named, options) {
    const names = Object.keys(named).sort((a, b) => total(named[b]) - total(named[a]));
    const scale = options.perSecond || 1;
    const own = names.map((name) => named[name].map((v) => v / scale));
    const sums = [];
    own.forEach((values, i) => {
      sums.push(values.map((v, j) => v + (i === 0 ? 0 : sums[i - 1][j])));
    });
    const order = names.map((_, i) => names.length - 1 - i);
    const series = [{}].concat(order.map((i) => {
      const color = options.colors(names[i], i);
      return {
        label: names[i],
        stroke: color,
        fill: color + "cc",
        width: 1,
        points: { show: false },
        value: (_u, _v, _s, idx) =>
          idx === null || idx === undefined ? "–" : si(own[i][idx], options.unit),
      };
    }));
    const data = [xs].concat(order.map((i) => sums[i]));
    if (names.length === 0) {
      series.push({ label: "no traffic", stroke: "#9e9e9e" });
      data.push(xs.map(() => 0));
    }
    const spec = {
      width: chartWidth(container),
      height: 220,
      series,
      axes: [{}, { values: (_u, splits) => splits.map((v) => si(v, options.unit)), size: 70 }],
      scales: { y: { range: (_u, _min, max) => [0, Math.max(max, 1)] } },
      legend: { live: true },
    };
    return replaceChart(container, spec, data);
  }

  function total(values) {
    return values.reduce((a, b) => a + b, 0);
  }

  const charts = new Map();
  function replaceChart(container, spec, data) {
    const old = charts.get(container);
    if (old) old.destroy();
    container.textContent = "";
    // eslint-disable-next-line no-undef
    const chart = new uPlot(spec, data, container);
    charts.set(container, chart);
    container.dataset.points = String(
      data.slice(1).reduce(
        (n, values) => n + values.filter((v) => v !== null && v !== 0).length,
        0,
      ),
    );
    return chart;
  }

  globalThis.addEventListener("resize", () => {
    for (const [container, chart] of charts) {
      chart.setSize({ width: chartWidth(container), height: chart.height });
    }
  });

  const protocolColor = (() => {
    const known = { TCP: PALETTE[0], UDP: PALETTE[1], ICMP: PALETTE[2], ICMPv6: PALETTE[4] };
    return (name, i) => known[name] || PALETTE[(i + 5) % PALETTE.length];
  })();
  const classColor = (name, i) =>
    CLASS_COLORS[name] || ["#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"][i % 5];

  function drawTraffic(view) {
    const xs = view.bucket_starts;
    const packets = document.getElementById("chart-packets");
    const bytes = document.getElementById("chart-bytes");
    if (packets) {
      stackedChart(packets, xs, view.traffic.packets, {
        unit: "",
        perSecond: view.step_sec,
        colors: protocolColor,
      });
    }
    if (bytes) {
      stackedChart(bytes, xs, view.traffic.bytes, {
        unit: "B",
        perSecond: view.step_sec,
        colors: protocolColor,
      });
    }
  }

  // ----- dashboard -----

  function fillTop(id, rows) {
    const table = document.getElementById(id);
    if (!table) return;
    const body = table.tBodies[0];
    const columns = table.tHead.rows[0].cells.length;
    body.textContent = "";
    if (rows.length === 0) {
      body.appendChild(el("tr")).appendChild(
        el("td", "No traffic in this period.", { colspan: String(columns), class: "muted" }),
      );
      return;
    }
    const max = Math.max(1, ...rows.map((r) => r.value));
    for (const row of rows) {
      const tr = body.appendChild(el("tr"));
      for (const cell of row.cells) {
        const td = tr.appendChild(el("td"));
        if (typeof cell === "string") td.textContent = cell;
        else td.appendChild(link(cell.href, cell.text));
      }
      const meter = el("meter", null, { min: "0", max: String(max), value: String(row.value) });
      tr.appendChild(el("td", null, { class: "bar" })).appendChild(meter);
    }
  }

  function endpoint(td, ip, port) {
    if (ip === null) {
      td.textContent = "–";
      return;
    }
    td.appendChild(
      link("/hosts/" + encodeURIComponent(ip), ip.includes(":") ? "[" + ip + "]" : ip),
    );
    if (port !== null) td.appendChild(document.createTextNode(":" + port));
  }

  /** Where an end is: country and AS for a public address, else its scope (flow_table.tsx). */
  function whereOf(scope, country, asn) {
    if (scope === null || scope === undefined) return "";
    if (scope !== "public") return scope;
    return [country, asn === null ? null : "AS" + asn].filter((part) => part !== null).join(" ");
  }

  function fillLatest(flows) {
    const box = document.getElementById("latest-flows");
    if (!box) return;
    let table = box.querySelector("table.flows");
    if (!table) {
      if (flows.length === 0) return;
      // The server rendered "no flows yet": build the table as flow_table.tsx does.
      box.textContent = "";
      table = box.appendChild(el("table", null, { class: "flows" }));
      const head = table.appendChild(el("thead")).appendChild(el("tr"));
      for (
        const name of [
          "Agent",
          "First seen (UTC)",
          "Last seen",
          "Originator",
          "Responder",
          "Proto",
          "App",
          "Name",
          "Responder at",
          "VLAN",
          "Tunnel",
          "Pkts →/←",
          "Bytes →/←",
          "State",
          "Label",
          "Score",
          "Community ID",
        ]
      ) head.appendChild(el("th", name));
      table.appendChild(el("tbody"));
    }
    const body = table.tBodies[0];
    body.textContent = "";
    for (const f of flows) {
      const tr = body.appendChild(el("tr", null, {
        class: f.label && f.label !== "benign" ? "attack" : "",
      }));
      // The columns of flow_table.tsx, in its order.
      tr.appendChild(el("td", f.agent === null ? "–" : f.agent));
      tr.appendChild(el("td")).appendChild(link("/flows/" + f.id, isoTime(f.first_seen)));
      tr.appendChild(el("td", isoTime(f.last_seen)));
      endpoint(tr.appendChild(el("td")), f.orig_ip, f.orig_port);
      endpoint(tr.appendChild(el("td")), f.resp_ip, f.resp_port);
      tr.appendChild(el("td", f.protocol));
      tr.appendChild(el("td", f.app_protocol === null ? "" : f.app_protocol));
      tr.appendChild(el(
        "td",
        f.tls_sni ?? f.http_host ?? f.dns_query ?? f.dhcp_hostname ??
          f.ssh_server ?? "",
      ));
      tr.appendChild(el("td", whereOf(f.resp_scope, f.resp_country, f.resp_asn)));
      tr.appendChild(el("td", f.vlan === null ? "" : f.vlan));
      tr.appendChild(
        el(
          "td",
          f.tunnel_type === null
            ? ""
            : f.tunnel_id === null
            ? f.tunnel_type
            : f.tunnel_type + " " + f.tunnel_id,
        ),
      );
      tr.appendChild(el("td", f.orig_packets + " / " + f.resp_packets, { class: "num" }));
      tr.appendChild(el("td", f.orig_bytes + " / " + f.resp_bytes, { class: "num" }));
      tr.appendChild(el("td", f.state));
      tr.appendChild(el("td", f.label === null ? "–" : f.label));
      tr.appendChild(el("td", f.score === null ? "–" : f.score.toFixed(3), { class: "num" }));
      tr.appendChild(el("td", f.community_id));
    }
  }

  const PERIOD_NAMES = { "15m": "15 min", "1h": "1 hour", "24h": "24 hours", "7d": "7 days" };

  function periodSentence(view) {
    const span = isoTime(view.start_sec) + " to " + isoTime(view.end_sec) + " UTC";
    const name = PERIOD_NAMES[view.period];
    if (view.anchor === "newest_flow") {
      return "No traffic in the last " + name + ": showing the " + name +
        " up to the newest flow, seen " + duration(view.generated_sec - view.end_sec) +
        " ago (" + span + ").";
    }
    return "Last " + name + ": " + span + ".";
  }

  function setField(name, text) {
    const node = document.querySelector('[data-field="' + name + '"]');
    if (node) node.textContent = text;
  }

  function renderDashboard(view, latest) {
    const h = view.headline;
    setField("packets_per_sec", si(h.packets_per_sec));
    setField("bytes_per_sec", si(h.bytes_per_sec, "B"));
    setField("active_flows", String(h.active_flows));
    setField("flows_seen", String(h.flows_seen));
    if (view.open_incidents !== null) setField("open_incidents", String(view.open_incidents));
    setField("agents_reporting", String(view.agents_reporting));
    setField(
      "aggregator_lag",
      view.aggregator.lag_packets === 0
        ? "none"
        : view.aggregator.lag_packets + " packets, " + duration(view.aggregator.lag_sec),
    );
    document.getElementById("period-sentence").textContent = periodSentence(view);
    drawTraffic(view);
    const classes = document.getElementById("chart-classes");
    if (classes) {
      stackedChart(classes, view.bucket_starts, view.flows_by_class, {
        unit: "",
        colors: classColor,
      });
    }
    fillTop(
      "top-talkers",
      view.top_talkers.map((t) => ({
        cells: [
          { href: "/hosts/" + encodeURIComponent(t.ip), text: t.ip },
          t.names.join(", "),
          si(t.bytes, "B"),
          si(t.packets),
          String(t.flows),
        ],
        value: t.bytes,
      })),
    );
    fillTop(
      "top-services",
      view.top_services.map((s) => ({
        cells: [
          {
            href: "/alltraffic_page?protocol=" + encodeURIComponent(s.protocol) + "&resp_port=" +
              s.port,
            text: s.port + "/" + s.protocol,
          },
          s.names.join(", "),
          si(s.bytes, "B"),
          String(s.flows),
          String(s.responders),
        ],
        value: s.bytes,
      })),
    );
    if (latest) fillLatest(latest);
  }

  function setWarning(text, isError) {
    // The server's banner is as of the page load; from the first poll on, this one says.
    const served = document.querySelector("body > p.banner");
    if (served) served.remove();
    const node = document.getElementById("pipeline-warning");
    node.textContent = text || "";
    node.hidden = !text;
    node.classList.toggle("banner", Boolean(text));
    node.classList.toggle("error", Boolean(text) && Boolean(isError));
  }

  function startDashboard(main) {
    const params = new URLSearchParams({ period: main.dataset.period });
    if (main.dataset.end) params.set("end", main.dataset.end);
    const url = "/api/dashboard?" + params;
    const freshness = document.getElementById("freshness");
    let lastGood = null;
    let failingSince = null;
    async function poll() {
      try {
        const [view, latest] = await Promise.all([fetchJson(url), fetchJson("/api/last10")]);
        renderDashboard(view, latest);
        lastGood = new Date();
        failingSince = null;
        setWarning(
          view.aggregator.status === "behind"
            ? "The aggregator is behind: " + view.aggregator.reason + " Numbers lag the traffic."
            : null,
        );
        freshness.textContent = "Updated " + lastGood.toISOString().slice(11, 19) +
          " UTC (every " + POLL_MS / 1000 + " s)" +
          (view.aggregator.last_pass_at === null
            ? "; no aggregation pass has run yet."
            : "; last aggregation pass " + view.aggregator.last_pass_at + ".");
        main.dataset.updates = String(Number(main.dataset.updates || "0") + 1);
      } catch (error) {
        failingSince = failingSince || new Date();
        const down = error.status === 503;
        setWarning(
          (down
            ? "The database is down (" + error.message + "): "
            : "The server cannot be reached (" + error.message + "): ") +
            "failing since " + failingSince.toISOString().slice(11, 19) + " UTC. " +
            (lastGood
              ? "The numbers shown are from " + lastGood.toISOString().slice(11, 19) + " UTC."
              : "The numbers shown are from when the page loaded.") +
            " Retrying every " + POLL_MS / 1000 + " s.",
          true,
        );
      } finally {
        setTimeout(poll, POLL_MS);
      }
    }
    poll();
  }

  // ----- flow detail -----

  async function startFlow(main) {
    const container = document.getElementById("chart-timeline");
    const id = main.dataset.flowId;
    const packets = [];
    let after = null;
    // Up to 10,000 packets: enough to see a flow's shape.
    for (let page = 0; page < 10; page++) {
      const url = "/api/flows/" + id + "/packets?limit=1000" +
        (after ? "&after=" + encodeURIComponent(after) : "");
      const body = await fetchJson(url);
      packets.push(...body.packets);
      after = body.next_cursor;
      if (after === null) break;
    }
    if (packets.length === 0) {
      container.textContent = "No stored packets to draw.";
      return;
    }
    const xs = packets.map((p) => p.timestamp);
    const orig = packets.map((p) => (p.direction === "orig" ? p.length : null));
    const resp = packets.map((p) => (p.direction === "resp" ? -p.length : null));
    const dots = (color) => ({
      stroke: color,
      fill: color,
      paths: () => null,
      points: { show: true, size: 6, fill: color },
    });
    replaceChart(container, {
      width: chartWidth(container),
      height: 240,
      series: [
        { value: (_u, v) => (v === null ? "–" : isoTime(v)) },
        Object.assign({ label: "originator → responder (bytes)" }, dots(PALETTE[0])),
        Object.assign({
          label: "responder → originator (bytes)",
          value: (_u, v) => (v === null ? "–" : String(-v)),
        }, dots(PALETTE[1])),
      ],
      axes: [{}, { values: (_u, splits) => splits.map((v) => si(Math.abs(v), "B")), size: 70 }],
    }, [xs, orig, resp]);
  }

  // ----- host -----

  async function startHost(main) {
    const params = new URLSearchParams({ period: main.dataset.period });
    if (main.dataset.end) params.set("end", main.dataset.end);
    const view = await fetchJson(
      "/api/hosts/" + encodeURIComponent(main.dataset.ip) + "?" + params,
    );
    drawTraffic(view.activity);
  }

  function start() {
    const page = document.body.dataset.page;
    const report = (error) => {
      const note = el("p", "Charts could not be drawn: " + error.message, {
        class: "banner error",
        role: "alert",
      });
      document.querySelector("main").prepend(note);
    };
    if (page === "dashboard") startDashboard(document.getElementById("dashboard"));
    else if (page === "flow") startFlow(document.getElementById("flow")).catch(report);
    else if (page === "host") startHost(document.getElementById("host")).catch(report);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
