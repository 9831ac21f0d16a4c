/**
 * Run by `ui_browser_test.ts` in a `deno test --allow-all` of its own:
 * playwright-core reads /proc when it loads, which Deno allows only with all
 * permissions, more than the suite's `deno task test` grants.
 *
 * The pages in a real browser (headless Chromium driven by playwright-core)
 * over the whole system (`start.ts`: agent, server, aggregator) filled from
 * the bundled lab capture through the real ingest and aggregation path: the
 * dashboard draws its charts with data and updates itself when new flows
 * arrive; a filter narrows the flow table and the URL holds it; a flow's
 * page opens from the table and its pcap download is read by tcpdump with the
 * flow's packet count; an incident's Flows link lands on the flow table
 * filtered to its flows; and no page makes a request outside the server.
 * Screenshots go to `test-results/` for a person to look at.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { CHROMIUM, toolInstalled } from "@traffic-analyzer/shared/testing/test_tools";
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import { blankPacketRecord, freePort } from "@traffic-analyzer/shared/testing";
import { FEATURE_NAMES } from "@traffic-analyzer/shared/flow";

const ROOT = new URL("./", import.meta.url);
const RESULTS = new URL("./test-results/", ROOT).pathname;
const TOKEN = "ui-browser-test-token";

function chromiumMissing(): string | null {
  return toolInstalled(CHROMIUM)
    ? null
    : `${CHROMIUM.command} is missing: the browser tests need ` +
      "Debian's chromium (apt-get install chromium; .ci/run installs it)";
}

async function tcpdumpCount(file: string): Promise<number> {
  const out = await new Deno.Command("tcpdump", {
    args: ["-n", "-r", file],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim() !== "").length;
}

Deno.test({
  name: "the pages in headless Chromium over a database filled from the lab capture",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const missing = chromiumMissing();
    if (missing !== null) throw new Error(missing);
    await Deno.mkdir(RESULTS, { recursive: true });
    const dir = await Deno.makeTempDir({ prefix: "ta-ui-browser-" });
    const port = freePort();
    const env: Record<string, string> = {
      PORT: String(port),
      DATA_DIR: `${dir}/data`,
      LOG_DIR: `${dir}/logs`,
      INTERFACE: "no-such-iface0", // no live capture: the agent replays the lab capture
      AGGREGATE_INTERVAL: "1s",
      BATCH_TIMEOUT: "200ms",
      LOG_LEVEL: "warning",
      INGEST_TOKENS: TOKEN,
    };
    for (const name of ["PATH", "HOME", "DENO_DIR", "TMPDIR", "NO_COLOR"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    const url = Deno.env.get("DATABASE_URL");
    const schema = url ? await createTestSchema(url) : null;
    if (schema) env.DATABASE_URL = schema.url;
    const server = new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", new URL("deno.json", ROOT).pathname, "--allow-all", "start.ts"],
      cwd: ROOT.pathname,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const base = `http://127.0.0.1:${port}`;
    const outside: string[] = [];
    let browser: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null;
    try {
      // Wait for the event (the capture aggregated), under a generous outer bound.
      const deadline = Date.now() + 240_000;
      let aggregated = 0;
      while (Date.now() < deadline) {
        try {
          const health = await (await fetch(`${base}/health`)).json();
          aggregated = health.aggregator?.packets_aggregated ?? 0;
          if (aggregated >= 2008 && health.aggregator.lag_packets === 0) break;
        } catch { /* not up yet */ }
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(aggregated, 2008, "the lab capture aggregated");

      browser = await chromium.launchPersistentContext(`${dir}/chromium-profile`, {
        executablePath: CHROMIUM.command,
        args: [
          "--no-sandbox",
          "--headless",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
        viewport: { width: 1400, height: 1000 },
        acceptDownloads: true,
      });
      browser.on("request", (request) => {
        const target = request.url();
        if (!target.startsWith(`${base}/`) && !target.startsWith("data:")) outside.push(target);
      });
      const page = browser.pages()[0] ?? await browser.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));

      await t.step("the dashboard draws its charts with data", async () => {
        await page.goto(`${base}/?period=15m`);
        for (const id of ["chart-packets", "chart-bytes", "chart-classes"]) {
          await page.waitForSelector(`#${id} canvas`, { timeout: 30_000 });
          const points = Number(await page.getAttribute(`#${id}`, "data-points"));
          assert.ok(points > 0, `${id} has data`);
        }
        const flowsSeen = Number(await page.textContent('[data-field="flows_seen"]'));
        assert.ok(flowsSeen > 100, `flows seen: ${flowsSeen}`);
        assert.ok((await page.locator("#top-talkers tbody tr").count()) >= 5);
        assert.match((await page.textContent("#freshness")) ?? "", /Updated/);
        await page.screenshot({ path: `${RESULTS}dashboard.png`, fullPage: true });
      });

      await t.step("the dashboard updates itself when new flows arrive", async () => {
        const before = Number(await page.textContent('[data-field="flows_seen"]'));
        const newest = (await (await fetch(`${base}/api/last10`)).json())[0].last_seen;
        // Three UDP conversations between new hosts, just after the capture's end.
        const records = [1, 2, 3].flatMap((n) =>
          [0, 1].map((i) =>
            blankPacketRecord({
              timestamp: newest + 1 + n + i * 0.1,
              interface: "test0",
              ip_version: 4,
              src_ip: i === 0 ? `10.99.0.${n}` : "10.99.0.100",
              dst_ip: i === 0 ? "10.99.0.100" : `10.99.0.${n}`,
              protocol: "UDP",
              ip_proto: 17,
              ttl: 64,
              src_port: i === 0 ? 50_000 + n : 7777,
              dst_port: i === 0 ? 7777 : 50_000 + n,
              length: 200,
              caplen: 200,
              payload_length: 158,
            })
          )
        );
        const res = await fetch(`${base}/ingest_packets`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify(records),
        });
        assert.equal(res.status, 201, await res.text());
        // Wait for the event (the page's own poll shows them), under an outer bound.
        const until = Date.now() + 90_000;
        let after = before;
        while (after < before + 3 && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 500));
          after = Number(await page.textContent('[data-field="flows_seen"]'));
        }
        assert.ok(after >= before + 3, `flows seen went from ${before} to ${after}`);
        await page.waitForSelector('#top-services a:text("7777/UDP")', { timeout: 30_000 });
      });

      let flowId = 0;
      await t.step("a filter narrows the flow table, and the URL holds it", async () => {
        await page.goto(`${base}/alltraffic_page?limit=1000`);
        const all = await page.locator("table.flows tbody tr").count();
        await page.fill('input[name="protocol"]', "UDP");
        await Promise.all([page.waitForURL(/protocol=UDP/), page.click('button[type="submit"]')]);
        const rows = page.locator("table.flows tbody tr");
        const narrowed = await rows.count();
        assert.ok(narrowed > 0 && narrowed < all, `${narrowed} of ${all}`);
        // Found by its heading, so added columns do not move it.
        const headings = await page.locator("table.flows thead th").allTextContents();
        const column = headings.indexOf("Proto") + 1;
        assert.ok(column > 0, `no Proto column in ${headings.join(", ")}`);
        const protocols = await page.locator(`table.flows tbody tr td:nth-child(${column})`)
          .allTextContents();
        assert.deepEqual([...new Set(protocols)], ["UDP"]);
        assert.equal(new URL(page.url()).searchParams.get("protocol"), "UDP");
        // The same URL again gives the same table: the filter lives in it.
        await page.reload();
        assert.equal(await rows.count(), narrowed);
        await page.screenshot({ path: `${RESULTS}flows_filtered.png` });
      });

      await t.step("a flow's page opens from the table; its pcap has its packets", async () => {
        await page.goto(`${base}/alltraffic_page?sort=packets&protocol=TCP`);
        await Promise.all([
          page.waitForURL(/\/flows\/\d+$/),
          page.click('table.flows tbody tr:first-child a[href^="/flows/"]'),
        ]);
        flowId = Number(new URL(page.url()).pathname.split("/").pop());
        const flow = (await (await fetch(`${base}/api/flows/${flowId}`)).json()).flow;
        const expected = flow.orig_packets + flow.resp_packets;
        assert.ok(expected > 2);
        await page.waitForSelector("#chart-timeline canvas", { timeout: 30_000 });
        assert.equal(Number(await page.getAttribute("#chart-timeline", "data-points")), expected);
        assert.equal(await page.locator("table.packets tbody tr").count(), Math.min(expected, 100));
        // One row per model feature, whatever the feature set's version.
        assert.equal(
          await page.locator("table.features tbody tr").count(),
          FEATURE_NAMES.length,
        );
        await page.screenshot({ path: `${RESULTS}flow.png`, fullPage: false });
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.click("#download-pcap"),
        ]);
        const file = `${dir}/download.pcap`;
        await download.saveAs(file);
        assert.equal(await tcpdumpCount(file), expected, "tcpdump's count");
      });

      await t.step("a host's page draws its traffic and lists its peers", async () => {
        await page.goto(`${base}/hosts/10.77.0.10?period=15m`);
        await page.waitForSelector("#chart-bytes canvas", { timeout: 30_000 });
        assert.ok(Number(await page.getAttribute("#chart-bytes", "data-points")) > 0);
        assert.ok((await page.locator("#peers tbody tr").count()) > 0);
        await page.screenshot({ path: `${RESULTS}host.png` });
      });

      await t.step("an incident links to its flows", async () => {
        const { incidents } = await (await fetch(`${base}/api/alerts?limit=1`)).json();
        assert.ok(incidents.length > 0, "the lab capture's attacks make an incident");
        const incident = incidents[0];
        await page.goto(`${base}/alerts`);
        await Promise.all([
          page.waitForURL(/\/alltraffic_page\?/),
          page.click(`a[href="${incident.flows_url}"]`),
        ]);
        const params = new URL(page.url()).searchParams;
        assert.equal(params.get("label"), incident.label);
        const side = incident.key_kind === "source" ? "orig_ip" : "resp_ip";
        assert.equal(params.get(side), incident.key_ip);
        const headings = await page.locator("table.flows thead th").allTextContents();
        const cells = async (heading: string) => {
          const column = headings.indexOf(heading) + 1;
          assert.ok(column > 0, `no ${heading} column in ${headings.join(", ")}`);
          return await page.locator(`table.flows tbody tr td:nth-child(${column})`)
            .allTextContents();
        };
        // The page shows the incident's flows: as many, of its class, from (or to) its key.
        const labels = await cells("Label");
        assert.equal(labels.length, Math.min(incident.flow_count, 100));
        assert.deepEqual([...new Set(labels)], [incident.label]);
        const ends = await cells(side === "orig_ip" ? "Originator" : "Responder");
        const key = incident.key_ip;
        assert.ok(
          ends.every((end) =>
            end === key || end.startsWith(`${key}:`) || end.startsWith(`[${key}]`)
          ),
          ends.join(", "),
        );
        await page.screenshot({ path: `${RESULTS}incident_flows.png` });
      });

      await t.step("no page made a request outside the server, and no script failed", () => {
        assert.deepEqual(outside, []);
        assert.deepEqual(pageErrors, []);
      });
    } finally {
      await browser?.close().catch(() => {});
      server.kill("SIGTERM");
      await server.status;
      await server.stderr.cancel().catch(() => {});
      await schema?.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
