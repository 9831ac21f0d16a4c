#!/usr/bin/env python3
"""Helper for make_captures.sh: injects hand-built frames onto a veth (so
tcpdump captures them like any other traffic) and rewrites captured files
into the link types and file layouts Linux cannot capture directly (BSD
loopback, raw IP, big-endian pcap, big-endian and feature-rich pcapng).

Standard library only. Frames are built here, independently of the
TypeScript encoder, so the fixtures do not test the code with itself.
Every address is a documentation or special-purpose address; frames go only
onto a veth inside a network namespace made by make_captures.sh.
"""

import socket
import struct
import sys
import time


# ---------------------------------------------------------------- checksums

def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def pseudo4(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    return src + dst + struct.pack("!BBH", 0, proto, length)


def pseudo6(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    return src + dst + struct.pack("!IxxxB", length, proto)


def a4(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET, text)


def a6(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, text)


def mac(text: str) -> bytes:
    return bytes(int(x, 16) for x in text.split(":"))


# ---------------------------------------------------------------- layers

MAC_A = mac("02:00:00:00:00:01")
MAC_B = mac("02:00:00:00:00:02")


def eth(ethertype: int, payload: bytes, dst=MAC_B, src=MAC_A) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ttl=64, ident=0x1234, tos=0, df=False,
         mf=False, frag=0, options=b"", total=None, ihl=None, version=4):
    hl = 20 + len(options)
    if ihl is None:
        ihl = hl // 4
    length = total if total is not None else hl + len(payload)
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag // 8)
    head = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, tos, length,
                       ident, flags, ttl, proto, 0, a4(src), a4(dst)) + options
    head = head[:10] + struct.pack("!H", csum(head)) + head[12:]
    return head + payload


def ipv6(src, dst, nh, payload, hlim=64, tc=0, flow=0, plen=None):
    length = plen if plen is not None else len(payload)
    first = (6 << 28) | (tc << 20) | flow
    return struct.pack("!IHBB", first, length, nh, hlim) + a6(src) + a6(dst) + payload


def tcp(sport, dport, seq, ack, flags, window=64240, options=b"", data=b"",
        doff=None, urg=0, pseudo=None):
    if doff is None:
        doff = (20 + len(options)) // 4
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags,
                       window, 0, urg) + options
    seg = head + data
    if pseudo is not None:
        c = csum(pseudo(6, len(seg)) + seg)
        seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    return seg


def udp(sport, dport, data, length=None, pseudo=None):
    ln = length if length is not None else 8 + len(data)
    seg = struct.pack("!HHHH", sport, dport, ln, 0) + data
    if pseudo is not None:
        c = csum(pseudo(17, len(seg)) + seg) or 0xFFFF
        seg = seg[:6] + struct.pack("!H", c) + seg[8:]
    return seg


def icmp(typ, code, rest, data=b""):
    msg = struct.pack("!BBH", typ, code, 0) + rest + data
    return msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]


def icmp6(typ, code, rest, data, src, dst):
    msg = struct.pack("!BBH", typ, code, 0) + rest + data
    c = csum(pseudo6(a6(src), a6(dst), 58, len(msg)) + msg)
    return msg[:2] + struct.pack("!H", c) + msg[4:]


def p4(src, dst):
    return lambda proto, length: pseudo4(a4(src), a4(dst), proto, length)


def p6(src, dst):
    return lambda proto, length: pseudo6(a6(src), a6(dst), proto, length)


def ext(nh, body):
    """Generic IPv6 extension header (hop-by-hop, routing, destination options)."""
    total = 2 + len(body)
    pad = (-total) % 8
    body += bytes([1, pad - 2] + [0] * (pad - 2)) if pad >= 2 else b"\0" * pad
    return struct.pack("!BB", nh, (2 + len(body)) // 8 - 1) + body


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + a4(spa) + tha + a4(tpa)


TCP_OPTS = (b"\x02\x04\x05\xb4" + b"\x04\x02" + b"\x08\x0a" +
            struct.pack("!II", 123456, 0) + b"\x01\x03\x03\x07")

V4A, V4B = "192.0.2.1", "192.0.2.2"
V6A, V6B = "2001:db8::1", "2001:db8::2"


def vlan_frames():
    ping = ipv4(V4A, V4B, 1, icmp(8, 0, struct.pack("!HH", 0x4242, 1), b"vlan ping"))
    udp6 = ipv6(V6A, V6B, 17, udp(4000, 53, b"vlan udp v6", pseudo=p6(V6A, V6B)))
    syn = ipv4(V4A, V4B, 6, tcp(40000, 80, 1000, 0, 0x02, options=TCP_OPTS,
                                pseudo=p4(V4A, V4B)), df=True)
    req = arp(1, MAC_A, V4A, b"\0" * 6, V4B)
    udp4 = ipv4(V4A, V4B, 17, udp(5000, 5001, b"priority tagged", pseudo=p4(V4A, V4B)))
    echo6 = ipv6(V6A, V6B, 58, icmp6(128, 0, struct.pack("!HH", 7, 3), b"qinq", V6A, V6B))
    return [
        eth(0x8100, struct.pack("!HH", 100, 0x0800) + ping),
        eth(0x8100, struct.pack("!HH", 200, 0x86DD) + udp6),
        eth(0x88A8, struct.pack("!HH", 300, 0x8100) + struct.pack("!HH", 42, 0x0800) + syn),
        eth(0x9100, struct.pack("!HH", 7, 0x8100) + struct.pack("!HH", 8, 0x0806) + req,
            dst=b"\xff" * 6),
        eth(0x8100, struct.pack("!HH", (5 << 13) | 0, 0x0800) + udp4),
        eth(0x88A8, struct.pack("!HH", 1, 0x8100) + struct.pack("!HH", 2, 0x8100) +
            struct.pack("!HH", 3, 0x86DD) + echo6),
        eth(0x8100, struct.pack("!HH", 4094, 0x88B5) + b"local experimental ethertype"),
        eth(0x8100, struct.pack("!HH", (1 << 12) | 10, 0x0800) + ping),
    ]


def edge_frames():
    frames = []
    add = frames.append
    pa = p4(V4A, V4B)
    # IPv4 options (router alert + record route) and TCP options.
    opts = b"\x94\x04\x00\x00" + b"\x07\x07\x04" + b"\0" * 4 + b"\x00"
    add(eth(0x0800, ipv4(V4A, V4B, 6, tcp(40001, 443, 7, 0, 0x02, options=TCP_OPTS, pseudo=pa),
                         options=opts, tos=0xB8, ttl=1)))
    # Every TCP flag, urgent pointer; ECN setup SYN; CWR alone.
    add(eth(0x0800, ipv4(V4A, V4B, 6, tcp(40002, 80, 0xFFFFFFFF, 0x80000000, 0xFF, urg=5,
                                          data=b"x", pseudo=pa))))
    add(eth(0x0800, ipv4(V4A, V4B, 6, tcp(40003, 80, 99, 0, 0xC2, pseudo=pa), tos=0x02)))
    add(eth(0x0800, ipv4(V4A, V4B, 6, tcp(40004, 80, 1, 1, 0x90, window=0, data=b"ab",
                                          pseudo=pa))))
    # TCP data offset 4 (below minimum).
    add(eth(0x0800, ipv4(V4A, V4B, 6, tcp(40005, 80, 1, 1, 0x10, doff=4))))
    # IP length covers only 10 bytes of the TCP header.
    seg = tcp(40006, 80, 5, 6, 0x18)
    add(eth(0x0800, ipv4(V4A, V4B, 6, seg[:10])))
    # UDP length below 8, and larger than the IP payload.
    add(eth(0x0800, ipv4(V4A, V4B, 17, udp(5000, 53, b"abcd", length=4))))
    add(eth(0x0800, ipv4(V4A, V4B, 17, udp(5000, 53, b"abcd", length=200))))
    # IPv4 total length larger than the frame; IHL of 4; version nibble 6.
    add(eth(0x0800, ipv4(V4A, V4B, 17, udp(5001, 53, b"abcd"), total=400)))
    add(eth(0x0800, ipv4(V4A, V4B, 17, udp(5002, 53, b"abcd"), ihl=4)))
    add(eth(0x0800, ipv4(V4A, V4B, 17, udp(5003, 53, b"abcd"), version=6)))
    # Frames cut inside the IPv4 / IPv6 header.
    add(eth(0x0800, ipv4(V4A, V4B, 17, b"")[:10]))
    add(eth(0x86DD, ipv6(V6A, V6B, 59, b"")[:20]))
    # SCTP INIT.
    init = struct.pack("!BBHIIHHI", 1, 0, 20, 0x11223344, 65536, 10, 10, 1)
    add(eth(0x0800, ipv4(V4A, V4B, 132, struct.pack("!HHII", 5060, 5061, 0, 0) + init)))
    # GRE carrying IPv4/ICMP; ESP; OSPF hello; IGMPv2 report; unassigned protocol.
    inner = ipv4("198.51.100.1", "198.51.100.2", 1, icmp(8, 0, struct.pack("!HH", 9, 9)))
    add(eth(0x0800, ipv4(V4A, V4B, 47, struct.pack("!HH", 0, 0x0800) + inner)))
    add(eth(0x0800, ipv4(V4A, V4B, 50, struct.pack("!II", 0x1001, 1) + b"\0" * 24)))
    hello = struct.pack("!BBH4s4sHHH", 2, 1, 44, a4(V4A), a4("0.0.0.0"), 0, 0, 0) + b"\0" * 8
    hello += a4("255.255.255.0") + struct.pack("!HBBI", 10, 2, 1, 40) + a4("0.0.0.0") * 2
    add(eth(0x0800, ipv4(V4A, "224.0.0.5", 89, hello, ttl=1, tos=0xC0),
            dst=mac("01:00:5e:00:00:05")))
    add(eth(0x0800, ipv4(V4A, "224.0.0.251", 2, icmp(0x16, 0, a4("224.0.0.251")), ttl=1,
                         options=b"\x94\x04\x00\x00"), dst=mac("01:00:5e:00:00:fb")))
    add(eth(0x0800, ipv4(V4A, V4B, 253, b"experimental")))
    # ICMP timestamp request; ICMP port unreachable quoting a UDP datagram.
    add(eth(0x0800, ipv4(V4A, V4B, 1, icmp(13, 0, struct.pack("!HH", 77, 2), b"\0" * 12))))
    quoted = ipv4(V4B, V4A, 17, udp(33000, 9, b"quoted"))
    add(eth(0x0800, ipv4(V4A, V4B, 1, icmp(3, 3, b"\0" * 4, quoted), tos=0xC0)))
    # IPv4 fragments of one UDP datagram: first (with ports) and a later one.
    big = udp(6000, 6001, bytes(range(256)) * 2, pseudo=pa)
    add(eth(0x0800, ipv4(V4A, V4B, 17, big[:200], ident=0x5151, mf=True)))
    add(eth(0x0800, ipv4(V4A, V4B, 17, big[200:400], ident=0x5151, mf=True, frag=200)))
    add(eth(0x0800, ipv4(V4A, V4B, 17, big[400:], ident=0x5151, frag=400)))
    # IPv6 extension header chains.
    p6ab = p6(V6A, V6B)
    t6 = tcp(40010, 22, 1, 0, 0x02, options=TCP_OPTS, pseudo=p6ab)
    hbh = ext(60, b"\x05\x02\x00\x00")  # router alert, padded to 8 bytes
    dst = ext(43, b"")
    rt = struct.pack("!BBBB", 6, 2, 0, 0) + b"\0" * 4 + a6(V6B)  # type 0, no segments left
    add(eth(0x86DD, ipv6(V6A, V6B, 0, hbh + dst + rt + t6, tc=0x2E, flow=0xABCDE)))
    frag_udp = udp(7000, 7001, b"z" * 64, pseudo=p6ab)
    add(eth(0x86DD, ipv6(V6A, V6B, 44, struct.pack("!BBHI", 17, 0, 0x0001, 0xDEADBEEF) +
                         frag_udp[:40])))
    add(eth(0x86DD, ipv6(V6A, V6B, 44, struct.pack("!BBHI", 17, 0, 40, 0xDEADBEEF) +
                         frag_udp[40:])))
    ah = struct.pack("!BBHII", 6, 4, 0, 0x100, 1) + b"\0" * 12
    add(eth(0x86DD, ipv6(V6A, V6B, 51, ah + tcp(40011, 179, 5, 5, 0x18, data=b"bgp",
                                                 pseudo=p6ab))))
    add(eth(0x86DD, ipv6(V6A, V6B, 50, struct.pack("!II", 0x2002, 7) + b"\0" * 16)))
    add(eth(0x86DD, ipv6(V6A, V6B, 59, b"")))
    echo = icmp6(128, 0, struct.pack("!HH", 0x7777, 12), b"with dstopts", V6A, V6B)
    add(eth(0x86DD, ipv6(V6A, V6B, 60, struct.pack("!BB", 58, 0) + b"\x01\x04\0\0\0\0" + echo,
                         hlim=255)))
    # Extension header whose length runs past the payload.
    add(eth(0x86DD, ipv6(V6A, V6B, 60, struct.pack("!BB", 17, 20) + b"\0" * 6)))
    # Address forms tshark prints specially (never routed: they stay on the veth).
    for s in ["::ffff:192.0.2.9", "::192.0.2.9", "::ffff:0:192.0.2.9", "64:ff9b::c000:209",
              "2001:db8::1:0:0:1", "2001:db8:0:1:1:1:1:1", "fe80::1", "::", "2001:db8:0:0:1::"]:
        add(eth(0x86DD, ipv6(s, "2001:db8::2", 17, udp(9000, 9001, b"addr"))))
    add(eth(0x86DD, ipv6("2001:db8::1", "ff02::1:ff00:2", 58,
                         icmp6(135, 0, b"\0" * 4, a6(V6B) + b"\x01\x01" + MAC_A,
                               "2001:db8::1", "ff02::1:ff00:2"), hlim=255),
            dst=mac("33:33:ff:00:00:02")))
    # ARP reply and gratuitous ARP.
    add(eth(0x0806, arp(2, MAC_A, V4A, MAC_B, V4B)))
    add(eth(0x0806, arp(1, MAC_A, V4A, b"\0" * 6, V4A), dst=b"\xff" * 6))
    # Non-IP: LLDP, a local experimental EtherType, an 802.3/LLC STP BPDU.
    lldp = (b"\x02\x07\x04" + MAC_A + b"\x04\x07\x03" + MAC_A + b"\x06\x02\x00\x78" + b"\0\0")
    add(eth(0x88CC, lldp, dst=mac("01:80:c2:00:00:0e")))
    add(eth(0x88B5, b"local experimental"))
    bpdu = b"\x42\x42\x03" + b"\0" * 35
    add(mac("01:80:c2:00:00:00") + MAC_A + struct.pack("!H", len(bpdu)) + bpdu)
    return frames


def inject(iface: str, which: str) -> None:
    frames = vlan_frames() if which == "vlan" else edge_frames()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for frame in frames:
        s.send(frame)
        time.sleep(0.002)
    s.close()


# ---------------------------------------------------------------- pcap I/O

def read_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), "little-endian pcap expected"
    linktype = struct.unpack("<I", data[20:24])[0]
    records = []
    p = 24
    while p < len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[p:p + 16])
        records.append((sec, frac, orig, data[p + 16:p + 16 + incl]))
        p += 16 + incl
    return magic, linktype, records


def write_pcap(path, magic, linktype, records, endian="<"):
    with open(path, "wb") as f:
        f.write(struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype))
        for sec, frac, orig, frame in records:
            f.write(struct.pack(endian + "IIII", sec, frac, len(frame), orig) + frame)


def strip_ethernet(records, want=None):
    out = []
    for sec, frac, orig, frame in records:
        etype = struct.unpack("!H", frame[12:14])[0]
        if etype not in (0x0800, 0x86DD) or (want and etype != want):
            continue
        body = frame[14:]
        out.append((sec, frac, orig - 14, body, etype))
    return out


def convert(src, dst, kind):
    magic, linktype, records = read_pcap(src)
    assert linktype == 1, "Ethernet capture expected"
    if kind in ("null_le", "null_be", "loop"):
        endian = "<" if kind == "null_le" else ">"
        v6 = {"null_le": 30, "null_be": 24, "loop": 24}[kind]
        out = [(s, f, o + 4, struct.pack(endian + "I", 2 if e == 0x0800 else v6) + b, )
               for s, f, o, b, e in strip_ethernet(records)]
        write_pcap(dst, magic, 0 if kind != "loop" else 108, out)
    elif kind in ("raw", "raw12", "raw14"):
        out = [(s, f, o, b) for s, f, o, b, e in strip_ethernet(records)]
        write_pcap(dst, magic, {"raw": 101, "raw12": 12, "raw14": 14}[kind], out)
    elif kind == "ipv4":
        out = [(s, f, o, b) for s, f, o, b, e in strip_ethernet(records, 0x0800)]
        write_pcap(dst, magic, 228, out)
    elif kind == "ipv6":
        out = [(s, f, o, b) for s, f, o, b, e in strip_ethernet(records, 0x86DD)]
        write_pcap(dst, magic, 229, out)
    elif kind == "swap":
        write_pcap(dst, magic, linktype, records, endian=">")
    else:
        raise SystemExit("unknown conversion " + kind)


# ---------------------------------------------------------------- pcapng

def block(endian, btype, body):
    body += b"\0" * ((-len(body)) % 4)
    total = 12 + len(body)
    return struct.pack(endian + "II", btype, total) + body + struct.pack(endian + "I", total)


def option(endian, code, value):
    return struct.pack(endian + "HH", code, len(value)) + value + b"\0" * ((-len(value)) % 4)


def opt_end(endian):
    return struct.pack(endian + "HH", 0, 0)


def shb(endian):
    return block(endian, 0x0A0D0D0A,
                 struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1) +
                 option(endian, 4, b"fixture_tool.py") + opt_end(endian))


def idb(endian, linktype, name=None, tsresol=None, tsoffset=None):
    opts = b""
    if name is not None:
        opts += option(endian, 2, name.encode())
    if tsresol is not None:
        opts += option(endian, 9, bytes([tsresol]))
    if tsoffset is not None:
        opts += option(endian, 14, struct.pack(endian + "q", tsoffset))
    if opts:
        opts += opt_end(endian)
    return block(endian, 1, struct.pack(endian + "HHI", linktype, 0, 262144) + opts)


def ticks_of(sec, frac_ns, tsresol, tsoffset=0):
    sec -= tsoffset
    if tsresol & 0x80:
        units = 1 << (tsresol & 0x7F)
    else:
        units = 10 ** tsresol
    # Round up to the next tick so that flooring back to ns is exact at µs.
    return (sec * units) + (frac_ns * units + 999_999_999) // 1_000_000_000


def epb(endian, iface, ticks, frame, orig, comment=None):
    body = struct.pack(endian + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), orig)
    body += frame + b"\0" * ((-len(frame)) % 4)
    if comment:
        body += option(endian, 1, comment.encode()) + opt_end(endian)
    return block(endian, 6, body)


def opb(endian, iface, ticks, frame, orig):
    body = struct.pack(endian + "HHIIII", iface, 0, ticks >> 32, ticks & 0xFFFFFFFF,
                       len(frame), orig) + frame
    return block(endian, 2, body)


def spb(endian, frame, orig):
    return block(endian, 3, struct.pack(endian + "I", orig) + frame)


def features(eth_src, sll_src, dst):
    """A pcapng exercising what capture tools rarely write: two sections in
    opposite byte orders, binary and decimal if_tsresol, several interfaces
    with different link types, OPB, SPB and blocks a reader must skip."""
    m, _, eth = read_pcap(eth_src)
    ns = 1 if m == 0xA1B23C4D else 1000
    raw = strip_ethernet(eth)
    _, sll_type, sll = read_pcap(sll_src)
    out = b""
    e = "<"
    out += shb(e)
    out += idb(e, 1, "veth-eth", tsresol=0x80 | 20)
    out += idb(e, 101, "raw-ip", tsresol=9, tsoffset=1_000_000_000)
    out += block(e, 4, struct.pack(e + "HH", 1, 11) + a4(V4A) + b"a.test\0\0" +
                 struct.pack(e + "HH", 0, 0))  # name resolution block
    for i, (sec, frac, orig, frame) in enumerate(eth[:6]):
        out += epb(e, 0, ticks_of(sec, frac * ns, 0x80 | 20), frame, orig,
                   comment="frame %d" % i)
    for sec, frac, orig, frame, _ in raw[:4]:
        out += epb(e, 1, ticks_of(sec, frac * ns, 9, 1_000_000_000), frame, orig)
    sec, frac, orig, frame, _ = raw[4]
    out += opb(e, 1, ticks_of(sec, frac * ns, 9, 1_000_000_000), frame, orig)
    out += block(e, 0x80001234, b"local-use block type: readers skip it")
    out += block(e, 5, struct.pack(e + "III", 0, 0, 0))  # interface statistics
    e = ">"
    out += shb(e)
    out += idb(e, sll_type, "any")
    for sec, frac, orig, frame in sll[:6]:
        out += epb(e, 0, ticks_of(sec, frac * 1000, 6), frame, orig)
    out += shb("<")
    out += idb("<", 1)
    sec, frac, orig, frame = eth[6]
    out += epb("<", 0, ticks_of(sec, frac * ns, 6), frame, orig)
    sec, frac, orig, frame = eth[7]
    out += spb("<", frame, orig)
    open(dst, "wb").write(out)


def swap_pcapng(src, dst):
    """Rewrites a little-endian pcapng (as dumpcap writes) in big-endian order."""
    data = open(src, "rb").read()
    out = b""
    p = 0
    while p < len(data):
        btype, total = struct.unpack("<II", data[p:p + 8])
        body = data[p + 8:p + total - 4]
        if btype == 0x0A0D0D0A:
            magic, major, minor, slen = struct.unpack("<IHHq", body[:16])
            nb = struct.pack(">IHHq", magic, major, minor, slen) + swap_options(body[16:], {})
        elif btype == 1:
            lt, res, snap = struct.unpack("<HHI", body[:8])
            nb = struct.pack(">HHI", lt, res, snap) + swap_options(body[8:], {14: "q", 4: "q"})
        elif btype == 6:
            iface, hi, lo, cap, orig = struct.unpack("<IIIII", body[:20])
            padded = cap + (-cap) % 4
            nb = (struct.pack(">IIIII", iface, hi, lo, cap, orig) + body[20:20 + padded] +
                  swap_options(body[20 + padded:], {2: "I", 4: "Q"}))
        elif btype == 5:
            iface, hi, lo = struct.unpack("<III", body[:12])
            nb = struct.pack(">III", iface, hi, lo) + swap_options(
                body[12:], {2: "Q", 3: "Q", 4: "Q", 5: "Q", 6: "Q", 7: "Q", 8: "Q"})
        else:
            raise SystemExit("swap_pcapng: unexpected block type %#x" % btype)
        out += struct.pack(">II", btype, total) + nb + struct.pack(">I", total)
        p += total
    open(dst, "wb").write(out)


def swap_options(raw, numeric):
    out = b""
    p = 0
    while p + 4 <= len(raw):
        code, length = struct.unpack("<HH", raw[p:p + 4])
        value = raw[p + 4:p + 4 + length]
        if code in numeric and length == struct.calcsize(numeric[code]):
            value = struct.pack(">" + numeric[code], *struct.unpack("<" + numeric[code], value))
        out += struct.pack(">HH", code, length) + value + b"\0" * ((-length) % 4)
        p += 4 + length + (-length) % 4
        if code == 0:
            break
    return out


def main(argv):
    if argv[1] == "inject":
        inject(argv[2], argv[3])
    elif argv[1] == "convert":
        convert(argv[2], argv[3], argv[4])
    elif argv[1] == "features":
        features(argv[2], argv[3], argv[4])
    elif argv[1] == "swap-pcapng":
        swap_pcapng(argv[2], argv[3])
    else:
        raise SystemExit("usage: fixture_tool.py inject|convert|features|swap-pcapng ...")


if __name__ == "__main__":
    main(sys.argv)
