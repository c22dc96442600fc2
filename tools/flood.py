#!/usr/bin/python3
"""A bounded spoofed-source flood of cookie-less DTLS 1.2 ClientHellos, for the demo and
namespace tests only: sends prebuilt Ethernet frames on a raw AF_PACKET socket (run it inside
the client network namespace), each from a random source in 198.18.0.0/15 (RFC 2544's
benchmarking range). Stops after --count frames or --seconds, whichever comes first.

  flood.py --iface IF --dst-mac MAC --dst IP [--port 4433] [--count N] [--seconds S]
           [--rate PPS]   (0 = as fast as Python sends; a veth drops what its peer cannot take)
"""
import argparse
import os
import random
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def client_hello(rng):
    body = (b"\xfe\xfd" + rng.randbytes(32) + b"\x00" + b"\x00" +  # version random sid cookie
            b"\x00\x04\xc0\x2b\xc0\x2f" + b"\x01\x00" + b"\x00\x00")  # suites comp ext(empty)
    hs = b"\x01" + len(body).to_bytes(3, "big") + b"\x00\x00" + bytes(3) + \
        len(body).to_bytes(3, "big") + body
    return b"\x16\xfe\xff" + b"\x00\x00" + bytes(6) + len(hs).to_bytes(2, "big") + hs


def frame(rng, src_mac, dst_mac, dst_ip, port):
    src_ip = bytes([198, 18 + rng.randrange(2), rng.randrange(256), 1 + rng.randrange(254)])
    sport = 1024 + rng.randrange(60000)
    payload = client_hello(rng)
    udp_len = 8 + len(payload)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, port, udp_len, 0) + payload
    udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0, src_ip, dst_ip)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, default=4433)
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=int, default=0)
    args = ap.parse_args()
    if args.count > 10_000_000 or args.seconds > 60:
        sys.exit("flood.py: bounded by design: --count <= 10M, --seconds <= 60")

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((args.iface, 0))
    src_mac = sock.getsockname()[4][:6]
    dst_mac = bytes.fromhex(args.dst_mac.replace(":", ""))
    rng = random.Random(os.getpid())
    frames = [frame(rng, src_mac, dst_mac, socket.inet_aton(args.dst), args.port)
              for _ in range(1024)]

    sent = 0
    start = time.monotonic()
    deadline = start + args.seconds
    batch = 256
    while sent < args.count and time.monotonic() < deadline:
        for f in frames[(sent % len(frames)):][:min(batch, args.count - sent)]:
            try:
                sock.send(f)
            except OSError:  # socket buffer full: not sent, go on
                continue
            sent += 1
        if args.rate > 0:  # pace: sleep until this many frames are due
            due = start + sent / args.rate
            now = time.monotonic()
            if due > now:
                time.sleep(min(due - now, max(0.0, deadline - now)))
    elapsed = time.monotonic() - start
    print(f"flood: {sent} spoofed ClientHellos in {elapsed:.1f} s ({sent / elapsed:.0f} pps)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
