/**
 * What `encodePacket` (packet_encoder.ts) builds a frame from: the link layer, IP,
 * transport and ARP headers' fields, each optional where a default serves.
 * The types only; the encoding is in packet_encoder.ts.
 *
 * @module
 */
/** Link layers the encoder can wrap a packet in. */
export type EncoderLink =
  | "ethernet"
  | "raw"
  | "ipv4"
  | "ipv6"
  | "null"
  | "loop"
  | "sll"
  | "sll2";

/** An 802.1Q / 802.1ad tag, outermost first. */
export interface VlanTagSpec {
  /** VLAN id, 0..4095. */
  id: number;
  /**
   * Tag protocol identifier.
   *
   * @default {0x8100}
   */
  tpid?: number;
  /**
   * Priority code point, 0..7.
   *
   * @default {0}
   */
  priority?: number;
}

/** Ethernet (or cooked-capture) addressing. */
export interface EthernetSpec {
  /**
   * Source MAC.
   *
   * @default {"02:00:00:00:00:01"}
   */
  src?: string;
  /**
   * Destination MAC.
   *
   * @default {"02:00:00:00:00:02"}
   */
  dst?: string;
  /** VLAN tags, outermost first. */
  vlans?: VlanTagSpec[];
}

/** An IPv6 extension header placed before the transport header. */
export type Ipv6ExtensionSpec =
  | {
    /** 0 hop-by-hop, 43 routing, 60 destination options, 51 AH. */
    type: 0 | 43 | 60 | 51;
    /**
     * Option bytes (after the 2-byte header) or, for AH, ICV bytes (after
     * the 12-byte fixed part); rounded up to the header's 8- or 4-byte unit.
     *
     * @default {6}
     */
    bodyBytes?: number;
  }
  | {
    /** Fragment header. */
    type: 44;
    /** Fragment offset in bytes, a multiple of 8. */
    offset: number;
    /** M flag: more fragments follow. */
    more: boolean;
    /** Fragment identification. */
    id: number;
  };

/** IPv4 header fields. */
export interface Ipv4Spec {
  /** IP version 4. */
  version: 4;
  /** Dotted-quad source. */
  src: string;
  /** Dotted-quad destination. */
  dst: string;
  /**
   * TTL.
   *
   * @default {64}
   */
  ttl?: number;
  /**
   * Identification.
   *
   * @default {0}
   */
  id?: number;
  /**
   * TOS / DSCP+ECN byte.
   *
   * @default {0}
   */
  tos?: number;
  /**
   * DF flag.
   *
   * @default {false}
   */
  dontFragment?: boolean;
  /**
   * MF flag.
   *
   * @default {false}
   */
  moreFragments?: boolean;
  /**
   * Fragment offset in bytes (a multiple of 8); above 0 the transport header
   * is left out, as in a real later fragment.
   *
   * @default {0}
   */
  fragOffset?: number;
  /** Options bytes, padded to a multiple of 4. */
  options?: Uint8Array;
}

/** IPv6 header fields. */
export interface Ipv6Spec {
  /** IP version 6. */
  version: 6;
  /** Source, any RFC 4291 text form. */
  src: string;
  /** Destination, any RFC 4291 text form. */
  dst: string;
  /**
   * Hop limit.
   *
   * @default {64}
   */
  hopLimit?: number;
  /**
   * Traffic class.
   *
   * @default {0}
   */
  trafficClass?: number;
  /**
   * Flow label, 20 bits.
   *
   * @default {0}
   */
  flowLabel?: number;
  /** Extension headers in order. A fragment header with offset > 0 drops the transport header. */
  extensionHeaders?: Ipv6ExtensionSpec[];
}

/** Transport header fields. */
export type TransportSpec =
  | {
    /** TCP. */
    protocol: "tcp";
    /** Source port. */
    srcPort: number;
    /** Destination port. */
    dstPort: number;
    /** Sequence number. @default {0} */
    seq?: number;
    /** Acknowledgement number. @default {0} */
    ack?: number;
    /** Flags byte (FIN 0x01 … CWR 0x80). @default {0x02} */
    flags?: number;
    /** Window. @default {65535} */
    window?: number;
    /** Urgent pointer. @default {0} */
    urgent?: number;
    /** Options bytes, padded to a multiple of 4. */
    options?: Uint8Array;
  }
  | {
    /** UDP. */
    protocol: "udp";
    /** Source port. */
    srcPort: number;
    /** Destination port. */
    dstPort: number;
  }
  | {
    /** SCTP common header. */
    protocol: "sctp";
    /** Source port. */
    srcPort: number;
    /** Destination port. */
    dstPort: number;
    /** Verification tag. @default {0} */
    verificationTag?: number;
  }
  | {
    /** ICMP (IPv4) or ICMPv6. */
    protocol: "icmp" | "icmpv6";
    /** Message type. */
    type: number;
    /** Message code. */
    code: number;
    /** Echo identifier (bytes 4–5). @default {0} */
    id?: number;
    /** Echo sequence number (bytes 6–7). @default {0} */
    seq?: number;
  }
  | {
    /** Any other IP protocol: the payload follows the IP header directly. */
    protocol: "other";
    /** IP protocol number. */
    number: number;
  };

/** ARP (Ethernet / IPv4) fields. */
export interface ArpSpec {
  /** 1 request, 2 reply. */
  opcode: number;
  /** Sender MAC. */
  senderMac: string;
  /** Sender IPv4. */
  senderIp: string;
  /** Target MAC. */
  targetMac: string;
  /** Target IPv4. */
  targetIp: string;
}

/** A frame to build: link layer, then IP + transport, ARP, or a bare EtherType. */
export interface PacketSpec {
  /**
   * Link layer.
   *
   * @default {"ethernet"}
   */
  link?: EncoderLink;
  /**
   * Byte order of the address family for `null` (BSD loopback).
   *
   * @default {"little"}
   */
  nullByteOrder?: "little" | "big";
  /** Ethernet / cooked addressing and VLAN tags. */
  ethernet?: EthernetSpec;
  /** IP header. */
  ip?: Ipv4Spec | Ipv6Spec;
  /** Transport header (with `ip`). */
  transport?: TransportSpec;
  /** ARP body (instead of `ip`). */
  arp?: ArpSpec;
  /** EtherType of a frame with neither `ip` nor `arp`. */
  etherType?: number;
  /** Bytes after the last header. */
  payload?: Uint8Array;
}
