import { LAB_NETWORK } from "./lab_network.ts";
import type { ManifestInput, SegmentRecord } from "./manifest.ts";
import { deriveRunSettings, type TrafficClass } from "./run_settings.ts";

/** A segment record for tests: `host` picks the lab host whose addresses it lists. */
export function segmentRecord(
  label: TrafficClass,
  host: "c1" | "c2" | "c3" | "a1" | "a2",
  start: number,
  end: number,
  extraSources: string[] = [],
): SegmentRecord {
  const h = LAB_NETWORK.hosts[host];
  return {
    label,
    scenario: `${label}_test`,
    host,
    sourceAddresses: [h.ipv4, h.ipv6, ...extraSources],
    target: { addresses: [LAB_NETWORK.hosts.srv.ipv4], protocol: "tcp", ports: "80" },
    start,
    end,
    commands: [["true"]],
    exitCodes: [0],
    timedOut: false,
    params: {},
  };
}

/** A manifest input around the given segments, for tests. */
export function manifestInput(segments: SegmentRecord[]): ManifestInput {
  return {
    runId: "run_test",
    settings: deriveRunSettings(1),
    pcap: "run_test.pcap",
    startedAt: 1000,
    endedAt: 2000,
    capture: {
      namespace: "talab-br",
      interface: "br0",
      snaplen: 128,
      linkType: "EN10MB",
      packetsCaptured: 10,
      packetsDropped: 0,
    },
    network: { ipv4Cidr: LAB_NETWORK.ipv4Cidr, ipv6Cidr: LAB_NETWORK.ipv6Cidr, hosts: [] },
    toolVersions: { nmap: "7.93" },
    segments,
  };
}
