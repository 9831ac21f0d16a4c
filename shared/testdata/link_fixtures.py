#!/usr/bin/env python3
"""Writes the link-type fixtures Linux cannot capture here, with scapy.

802.11 (bare and behind radiotap), BSD pf log and the PPP/Cisco HDLC link
types: scapy builds each frame's layers and wrpcap writes the file with the
link type. make_link_captures.sh runs this and writes tshark's oracle
output beside each file. Addresses are documentation prefixes and locally
administered MACs.

Usage: link_fixtures.py OUTPUT_DIR   (needs python3-scapy)
"""

import struct
import sys
import zlib

from scapy.all import (
    ARP,
    ICMP,
    IP,
    LLC,
    SNAP,
    TCP,
    UDP,
    IPv6,
    Raw,
    wrpcap,
)
from scapy.layers.dot11 import (
    Dot11,
    Dot11Beacon,
    Dot11Elt,
    Dot11QoS,
    RadioTap,
)
from scapy.layers.inet6 import ICMPv6EchoRequest
from scapy.layers.pflog import PFLog
from scapy.layers.ppp import HDLC, PPP

V4A, V4B = "192.0.2.1", "192.0.2.2"
V6A, V6B = "2001:db8::1", "2001:db8::2"
STA, AP, ROUTER, PEER = "02:00:00:00:00:01", "02:00:00:00:00:0a", "02:00:00:00:00:02", "02:00:00:00:00:03"

LINKTYPE_PPP = 9
LINKTYPE_PPP_HDLC = 50
LINKTYPE_C_HDLC = 104
LINKTYPE_IEEE802_11 = 105
LINKTYPE_PFLOG = 117
LINKTYPE_IEEE802_11_RADIOTAP = 127


def ip_packets():
    """IPv4 and IPv6 TCP, UDP and ICMP: what every link type carries here."""
    return [
        IP(src=V4A, dst=V4B, id=1) / TCP(sport=40000, dport=80, flags="S", seq=1000),
        IP(src=V4B, dst=V4A, id=2) / TCP(sport=80, dport=40000, flags="SA", seq=5000, ack=1001),
        IP(src=V4A, dst=V4B, id=3) / UDP(sport=40002, dport=5000) / Raw(b"query"),
        IP(src=V4A, dst=V4B, id=4) / ICMP(id=7, seq=1),
        IPv6(src=V6A, dst=V6B) / TCP(sport=40001, dport=443, flags="S", seq=2000),
        IPv6(src=V6B, dst=V6A) / UDP(sport=5000, dport=40002) / Raw(b"answer"),
        IPv6(src=V6A, dst=V6B) / ICMPv6EchoRequest(id=8, seq=2),
    ]


def cut(packet, caplen):
    """The packet as a small snap length leaves it: `caplen` bytes of a longer frame."""
    data = bytes(packet)
    short = Raw(data[:caplen])
    short.wirelen = len(data)
    return short


def is_v6(packet):
    return packet.haslayer(IPv6)


def snap(packet):
    return LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x86DD if is_v6(packet) else 0x0800) / packet


def wifi_frames():
    """802.11 frames in each direction, plain and QoS, and ones with no network layer."""
    v4, v6 = ip_packets()[0], ip_packets()[5]
    frames = [
        # Station to AP (ToDS): BSSID, SA, DA.
        Dot11(type=2, subtype=0, FCfield="to-DS", addr1=AP, addr2=STA, addr3=ROUTER) / snap(v4),
        # AP to station (FromDS), QoS data.
        Dot11(type=2, subtype=8, FCfield="from-DS", addr1=STA, addr2=AP, addr3=ROUTER)
        / Dot11QoS(TID=5) / snap(v6),
        # QoS data with the order bit: an HT control field follows the QoS control.
        Dot11(type=2, subtype=8, FCfield="from-DS+order", addr1=STA, addr2=AP, addr3=ROUTER)
        / Dot11QoS(TID=0) / Raw(b"\x00\x00\x00\x00") / snap(ip_packets()[2]),
        # WDS (ToDS and FromDS): four addresses.
        Dot11(type=2, subtype=8, FCfield="to-DS+from-DS", addr1=AP, addr2=PEER, addr3=ROUTER, addr4=STA)
        / Dot11QoS() / snap(ip_packets()[4]),
        # Ad hoc (neither bit): ARP.
        Dot11(type=2, subtype=0, addr1="ff:ff:ff:ff:ff:ff", addr2=STA, addr3=AP)
        / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0806)
        / ARP(hwsrc=STA, psrc=V4A, pdst=V4B),
        # Protected: the body is ciphertext, so no network layer.
        Dot11(type=2, subtype=8, FCfield="to-DS+protected", addr1=AP, addr2=STA, addr3=ROUTER)
        / Dot11QoS() / Raw(bytes(range(8)) + b"\x5a" * 40),
        # Null data: no body at all.
        Dot11(type=2, subtype=4, FCfield="to-DS", addr1=AP, addr2=STA, addr3=AP),
        # Management: a beacon.
        Dot11(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2=AP, addr3=AP)
        / Dot11Beacon(cap="ESS") / Dot11Elt(ID="SSID", info=b"fixture"),
        # Control: an ACK (one address).
        Dot11(type=1, subtype=13, addr1=STA),
    ]
    return frames


def radiotap_frames():
    frames = []
    for i, frame in enumerate(wifi_frames()):
        if i % 3 == 0:
            # With an FCS: the flags field says the frame ends with it.
            body = bytes(frame)
            fcs = struct.pack("<I", zlib.crc32(body))
            frames.append(RadioTap(present="Flags", Flags="FCS") / Raw(body + fcs))
        elif i % 3 == 1:
            # TSFT first, so the flags field sits after an 8-byte aligned field.
            frames.append(RadioTap(present="TSFT+Flags+Rate", mac_timestamp=123456789, Flags="", Rate=2) / frame)
        else:
            frames.append(RadioTap(present="Rate+Channel", Rate=2, ChannelFrequency=2412, ChannelFlags="2GHz+CCK") / frame)
    # A QoS data frame with the data-padding flag: two pad bytes align the body.
    qos = Dot11(type=2, subtype=8, FCfield="to-DS", addr1=AP, addr2=STA, addr3=ROUTER) / Dot11QoS()
    frames.append(RadioTap(present="Flags", Flags="pad") / Raw(bytes(qos) + b"\x00\x00" + bytes(snap(ip_packets()[3]))))
    frames.append(cut(frames[0], 30))
    frames.append(cut(frames[1], 40))
    return frames


def pflog_frames():
    """OpenBSD's 100-byte header, and FreeBSD's 61 bytes padded to 64 with its AF_INET6 (28)."""
    frames = []
    for i, packet in enumerate(ip_packets()):
        family = 24 if is_v6(packet) else 2
        header = PFLog(addrfamily=family, action="pass", reason="match", iface="em0", rulenumber=3, direction="in")
        if i % 2 == 1:
            freebsd = bytearray(bytes(header)[:61])
            freebsd[0] = 61
            freebsd[1] = 28 if is_v6(packet) else 2
            frames.append(Raw(bytes(freebsd) + b"\x00\x00\x00" + bytes(packet)))
        else:
            frames.append(header / packet)
    frames.append(cut(frames[0], 90))
    frames.append(cut(frames[0], 110))
    return frames


def ppp_frames(framed):
    frames = []
    for i, packet in enumerate(ip_packets()):
        proto = 0x0057 if is_v6(packet) else 0x0021
        layer = PPP(proto=proto) / packet
        frames.append(HDLC() / layer if framed or i % 2 == 0 else layer)
    # LCP echo request: the link's own control protocol, no network layer.
    lcp = b"\x09\x01\x00\x08\x00\x00\x00\x00"
    frames.append((HDLC() / PPP(proto=0xC021) / Raw(lcp)) if framed else PPP(proto=0xC021) / Raw(lcp))
    frames.append(cut(frames[0], 20))
    return frames


def chdlc(packet, address=0x0F, protocol=None):
    if protocol is None:
        protocol = 0x86DD if is_v6(packet) else 0x0800
    return Raw(struct.pack(">BBH", address, 0, protocol) + bytes(packet))


def chdlc_frames():
    frames = [chdlc(p, 0x8F if i == 2 else 0x0F) for i, p in enumerate(ip_packets())]
    # SLARP request (Cisco's keepalive address request): no network layer.
    frames.append(chdlc(Raw(struct.pack(">III", 0, 0, 0)), protocol=0x8035))
    frames.append(cut(frames[0], 30))
    return frames


def main():
    out = sys.argv[1]
    wrpcap(f"{out}/wifi_80211.pcap", wifi_frames(), linktype=LINKTYPE_IEEE802_11)
    wrpcap(f"{out}/wifi_radiotap.pcap", radiotap_frames(), linktype=LINKTYPE_IEEE802_11_RADIOTAP)
    wrpcap(f"{out}/pflog.pcap", pflog_frames(), linktype=LINKTYPE_PFLOG)
    wrpcap(f"{out}/ppp.pcap", ppp_frames(False), linktype=LINKTYPE_PPP)
    wrpcap(f"{out}/ppp_hdlc.pcap", ppp_frames(True) + [chdlc(ip_packets()[0])], linktype=LINKTYPE_PPP_HDLC)
    wrpcap(f"{out}/c_hdlc.pcap", chdlc_frames(), linktype=LINKTYPE_C_HDLC)


if __name__ == "__main__":
    main()
