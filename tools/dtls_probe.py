#!/usr/bin/python3
"""Sends one crafted DTLS 1.2 ClientHello as a raw Ethernet frame and reports the HVR cookie
that comes back, for namespace tests that move cookies between nodes, addresses and epochs
(run it inside the client network namespace). Bounded: one frame out, --wait seconds at most.

  dtls_probe.py --iface IF --dst-mac MAC --src IP --dst IP --sport P [--dport 4433]
                --random HEX64 [--cookie HEX] [--wait 1.0]

Without --cookie: ClientHello #1 (message_seq 0), prints the HVR's cookie in hex, or "none".
With --cookie: ClientHello #2 (message_seq 1, record seq 1) carrying it; prints "sent" (what
the gateway did with it shows in its counters). The same --random and ports must be given
for both, as a real client resends its hello unchanged.
"""
import argparse
import socket
import struct
import sys
import time

ETH_P_ALL = 3


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def client_hello(random, cookie, message_seq, record_seq):
    body = (b"\xfe\xfd" + random + b"\x00" + bytes([len(cookie)]) + cookie +
            b"\x00\x04\xc0\x2b\xc0\x2f" + b"\x01\x00" + b"\x00\x00")
    hs = (b"\x01" + len(body).to_bytes(3, "big") + message_seq.to_bytes(2, "big") + bytes(3) +
          len(body).to_bytes(3, "big") + body)
    return b"\x16\xfe\xff\x00\x00" + record_seq.to_bytes(6, "big") + len(hs).to_bytes(2, "big") + hs


def udp_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload, proto=17):
    """Ethernet/IPv4/UDP around payload, both checksums right. proto != 17 labels the same bytes
    as another IP protocol (a not-UDP frame for the filter to drop)."""
    udp_len = 8 + len(payload)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, proto, 0, src_ip,
                     dst_ip)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def hvr_cookie(frame, src_ip, dst_ip, sport, dport):
    """The cookie if frame is an HVR from dst:dport to src:sport, else None."""
    if len(frame) < 14 + 20 + 8 + 28 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != 17 or ip[12:16] != dst_ip or ip[16:20] != src_ip:
        return None
    udp = ip[ihl:]
    if struct.unpack("!HH", udp[:4]) != (dport, sport):
        return None
    dtls = udp[8:]
    if len(dtls) < 28 or dtls[0] != 0x16 or dtls[13] != 3:
        return None
    n = dtls[27]
    return dtls[28:28 + n] if len(dtls) >= 28 + n else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--sport", type=int, required=True)
    ap.add_argument("--dport", type=int, default=4433)
    ap.add_argument("--random", required=True)
    ap.add_argument("--cookie")
    ap.add_argument("--wait", type=float, default=1.0)
    args = ap.parse_args()
    random = bytes.fromhex(args.random)
    if len(random) != 32 or min(args.wait, 10) != args.wait:
        sys.exit("dtls_probe.py: --random is 32 bytes in hex; --wait <= 10")

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((args.iface, 0))
    src_mac = sock.getsockname()[4][:6]
    dst_mac = bytes.fromhex(args.dst_mac.replace(":", ""))
    src_ip, dst_ip = socket.inet_aton(args.src), socket.inet_aton(args.dst)
    cookie = bytes.fromhex(args.cookie) if args.cookie else b""
    payload = client_hello(random, cookie, 1 if cookie else 0, 1 if cookie else 0)
    sock.send(udp_frame(src_mac, dst_mac, src_ip, dst_ip, args.sport, args.dport, payload))
    if cookie:
        print("sent")
        return
    deadline = time.monotonic() + args.wait
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            frame = sock.recv(65536)
        except socket.timeout:
            break
        found = hvr_cookie(frame, src_ip, dst_ip, args.sport, args.dport)
        if found is not None:
            print(found.hex())
            return
    print("none")


if __name__ == "__main__":
    main()
