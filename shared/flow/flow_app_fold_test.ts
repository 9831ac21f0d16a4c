import assert from "node:assert/strict";
import { blankPacketRecord } from "../testing/blank_packet_record.ts";
import type { PacketRecord } from "../packet/packet_record.ts";
import { FlowTable } from "./flow_table.ts";
import { FLOW_DNS_MAX_NAMES, foldAppMetadata, NO_FLOW_APP_FIELDS } from "./flow_app_fold.ts";

const udp = (ts: number, from: "client" | "server", fields: Partial<PacketRecord>) =>
  blankPacketRecord({
    timestamp: ts,
    protocol: "UDP",
    ip_proto: 17,
    src_ip: from === "client" ? "10.0.0.5" : "192.0.2.53",
    dst_ip: from === "client" ? "192.0.2.53" : "10.0.0.5",
    src_port: from === "client" ? 53001 : 53,
    dst_port: from === "client" ? 53 : 53001,
    ...fields,
  });

Deno.test("foldAppMetadata() keeps nothing for packets without app-layer fields", () => {
  assert.equal(foldAppMetadata(null, blankPacketRecord(), true), null);
});

Deno.test("foldAppMetadata() keeps the first value of each field, a DNS query count and the first names", () => {
  let state = null;
  const names = Array.from({ length: FLOW_DNS_MAX_NAMES + 3 }, (_, i) => `host${i}.example`);
  for (const [i, name] of names.entries()) {
    state = foldAppMetadata(
      state,
      udp(i, "client", { app_protocol: "dns", dns_query: name, dns_qtype: 1 }),
      true,
    );
    state = foldAppMetadata(
      state,
      udp(i + 0.5, "server", {
        app_protocol: "dns",
        dns_query: name,
        dns_qtype: 1,
        dns_rcode: i === 0 ? 3 : 0,
        dns_answers: i === 0 ? null : `192.0.2.${i}`,
      }),
      false,
    );
  }
  assert.deepEqual(state, {
    ...NO_FLOW_APP_FIELDS,
    app_protocol: "dns",
    dns_query: "host0.example",
    dns_qtype: 1,
    dns_rcode: 3,
    dns_answers: "192.0.2.1",
    dns_query_count: names.length,
    dns_names: names.slice(0, FLOW_DNS_MAX_NAMES).join(","),
  });
});

Deno.test("FlowTable folds TLS, HTTP and SSH fields into its flows, by direction, and keeps them across a save", () => {
  const tcp = (ts: number, from: "client" | "server", fields: Partial<PacketRecord>) =>
    blankPacketRecord({
      timestamp: ts,
      protocol: "TCP",
      ip_proto: 6,
      src_ip: from === "client" ? "10.0.0.5" : "192.0.2.10",
      dst_ip: from === "client" ? "192.0.2.10" : "10.0.0.5",
      src_port: from === "client" ? 51000 : 22,
      dst_port: from === "client" ? 22 : 51000,
      tcp_flags: 0x18,
      tcp_seq: ts,
      tcp_ack: 1,
      tcp_window: 100,
      tcp_header_length: 20,
      ...fields,
    });
  const table = new FlowTable();
  table.merge([
    tcp(1, "client", { tcp_flags: 0x02 }),
    tcp(2, "server", { tcp_flags: 0x12 }),
    tcp(3, "server", { app_protocol: "ssh", ssh_banner: "SSH-2.0-OpenSSH_9.2p1" }),
  ]);
  const restored = FlowTable.fromJSON(JSON.parse(JSON.stringify(table.toJSON())));
  restored.merge([
    tcp(4, "client", { app_protocol: "ssh", ssh_banner: "SSH-2.0-libssh_0.10" }),
    tcp(5, "server", { app_protocol: "ssh", ssh_banner: "SSH-2.0-other" }),
  ]);
  const [flow] = restored.drain();
  assert.equal(flow.orig_port, 51000);
  assert.deepEqual(flow.app, {
    ...NO_FLOW_APP_FIELDS,
    app_protocol: "ssh",
    ssh_client: "SSH-2.0-libssh_0.10",
    ssh_server: "SSH-2.0-OpenSSH_9.2p1",
  });
});
