#!/usr/bin/python3
"""A bounded spoofed-source flood of cookie-less DTLS 1.2 ClientHellos, for the demo and
namespace tests only: sends prebuilt Ethernet frames on a raw AF_PACKET socket (run it inside
the client network namespace), each from a random source in 198.18.0.0/15 (RFC 2544's
benchmarking range). Stops after --count frames or --seconds, whichever comes first.

  flood.py --iface IF --dst-mac MAC --dst IP [--port 4433] [--count N] [--seconds S]
           [--rate PPS]   (0 = as fast as Python sends; a veth drops what its peer cannot take)
           [--mix KIND=WEIGHT,...] [--report FILE]

--mix sends a weighted mix of frame kinds instead of only cookie-less hellos (the soak test):
  hello         cookie-less ClientHello from a random spoofed source
  forged        ClientHello with message_seq 1 and a random 17-byte cookie (spoofed source)
  garbage       random bytes as the UDP payload to our port (spoofed source)
  nondtls       UDP to another port, and ICMP-less junk IP protocol 253 (spoofed source)
  replay_other  a cookie this flood obtained (one real exchange at start, from 198.18.255.1)
                replayed from other spoofed addresses and ports
  replay_same   that cookie-bearing hello replayed unchanged from its own 5-tuple
  one_prefix    cookie-less ClientHello from random sources in 203.0.113.0/24 only (a
                reflection attempt aimed at one victim network)
  verified_many cookie-bearing hellos with valid cookies from 256 different 5-tuples (real
                exchanges at start, from 198.18.254.0/24): slow-path saturation
--report FILE writes how many frames of each kind were sent, as JSON.
"""
import argparse
import json
import os
import random
import socket
import sys
import time

import dtls_probe  # same folder: the frame and ClientHello builders


def client_hello(rng):
    """A cookie-less ClientHello #1 with a fresh random (record and message sequence 0)."""
    return dtls_probe.client_hello(rng.randbytes(32), b"", 0, 0)


def spoofed_ip(rng):
    return bytes([198, 18 + rng.randrange(2), rng.randrange(255), 1 + rng.randrange(254)])


def frame(rng, src_mac, dst_mac, dst_ip, port):
    """A cookie-less ClientHello from a random spoofed source address and port."""
    return udp_ip_frame(src_mac, dst_mac, spoofed_ip(rng), dst_ip, 1024 + rng.randrange(60000),
                        port, client_hello(rng))


udp_ip_frame = dtls_probe.udp_frame


def obtain_cookie(sock, src_mac, dst_mac, dst_ip, port, rng, src_ip=bytes([198, 18, 255, 1]),
                  sport=40000):
    """One real cookie exchange from src_ip:sport; returns (random, cookie) or None."""
    random_bytes = rng.randbytes(32)
    hello = dtls_probe.client_hello(random_bytes, b"", 0, 0)
    # A receiving socket only for the exchange (the flood's own socket receives nothing).
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)) as rx:
        rx.bind((sock.getsockname()[0], 0))
        for _ in range(3):
            sock.send(udp_ip_frame(src_mac, dst_mac, src_ip, dst_ip, sport, port, hello))
            deadline = time.monotonic() + 1.0
            while (left := deadline - time.monotonic()) > 0:
                rx.settimeout(left)
                try:
                    f = rx.recv(65536)
                except socket.timeout:
                    break
                cookie = dtls_probe.hvr_cookie(f, src_ip, dst_ip, sport, port)
                if cookie:
                    return random_bytes, cookie
    return None


def mixed_frames(rng, kinds, src_mac, dst_mac, dst_ip, port, exchange, many=(), n=4096):
    """n frames drawn from kinds (name -> weight), and the kind of each."""
    names = [k for k, w in kinds.items() for _ in range(w)]
    out = []
    for _ in range(n):
        kind = rng.choice(names)
        sip, sport = spoofed_ip(rng), 1024 + rng.randrange(60000)
        if kind == "hello":
            f = frame(rng, src_mac, dst_mac, dst_ip, port)
        elif kind == "forged":
            p = dtls_probe.client_hello(rng.randbytes(32), rng.randbytes(17), 1, 1)
            f = udp_ip_frame(src_mac, dst_mac, sip, dst_ip, sport, port, p)
        elif kind == "garbage":
            p = rng.randbytes(1 + rng.randrange(200))
            f = udp_ip_frame(src_mac, dst_mac, sip, dst_ip, sport, port, p)
        elif kind == "nondtls":
            p = rng.randbytes(1 + rng.randrange(100))
            other = rng.choice([53, 123, 443, 5683])
            f = udp_ip_frame(src_mac, dst_mac, sip, dst_ip, sport, other, p,
                             proto=rng.choice([17, 17, 253]))
        elif kind == "one_prefix":
            p = client_hello(rng)
            f = udp_ip_frame(src_mac, dst_mac, bytes([203, 0, 113, 1 + rng.randrange(254)]),
                             dst_ip, sport, port, p)
        elif kind == "verified_many" and many:
            (mip, mport), (random_bytes, cookie) = rng.choice(many)
            p = dtls_probe.client_hello(random_bytes, cookie, 1, 1)
            f = udp_ip_frame(src_mac, dst_mac, mip, dst_ip, mport, port, p)
        elif kind in ("replay_other", "replay_same") and exchange:
            random_bytes, cookie = exchange
            p = dtls_probe.client_hello(random_bytes, cookie, 1, 1)
            if kind == "replay_same":
                f = udp_ip_frame(src_mac, dst_mac, bytes([198, 18, 255, 1]), dst_ip, 40000, port, p)
            else:
                f = udp_ip_frame(src_mac, dst_mac, sip, dst_ip, sport, port, p)
        else:
            continue
        out.append((kind, f))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, default=4433)
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--mix", default="")
    ap.add_argument("--report", default="")
    args = ap.parse_args()
    if args.count > 10_000_000 or args.seconds > 60:
        sys.exit("flood.py: bounded by design: --count <= 10M, --seconds <= 60")

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((args.iface, 0))
    src_mac = sock.getsockname()[4][:6]
    dst_mac = bytes.fromhex(args.dst_mac.replace(":", ""))
    rng = random.Random(os.getpid())
    if args.mix:
        kinds = {k: int(w) for k, w in (item.split("=") for item in args.mix.split(","))}
        exchange = None
        if any(k.startswith("replay") for k in kinds):
            exchange = obtain_cookie(sock, src_mac, dst_mac, socket.inet_aton(args.dst),
                                     args.port, rng)
            if exchange is None:
                sys.exit("flood.py: no HVR came back for the replay exchange")
        many = []
        if "verified_many" in kinds:
            for i in range(256):
                src = (bytes([198, 18, 254, 1 + i % 254]), 41000 + i)
                got = obtain_cookie(sock, src_mac, dst_mac, socket.inet_aton(args.dst),
                                    args.port, rng, *src)
                if got:
                    many.append((src, got))
            if not many:
                sys.exit("flood.py: no HVR came back for the verified_many exchanges")
        tagged = mixed_frames(rng, kinds, src_mac, dst_mac, socket.inet_aton(args.dst),
                              args.port, exchange, many)
    else:
        tagged = [("hello", frame(rng, src_mac, dst_mac, socket.inet_aton(args.dst), args.port))
                  for _ in range(1024)]
    frames = [f for _, f in tagged]
    # 5-tuples this flood holds real cookies for (each may rightly get one SSL object).
    exchanges = 0
    if args.mix:
        exchanges = len(many) + (1 if exchange and "replay_same" in kinds else 0)
    sent_by_kind = {}

    sent = 0
    start = time.monotonic()
    deadline = start + args.seconds
    batch = 256
    while sent < args.count and time.monotonic() < deadline:
        base = sent % len(frames)
        for j in range(base, min(len(frames), base + min(batch, args.count - sent))):
            try:
                sock.send(frames[j])
            except OSError:  # socket buffer full: not sent, go on
                continue
            if args.report:
                kind = tagged[j][0]
                sent_by_kind[kind] = sent_by_kind.get(kind, 0) + 1
            sent += 1
        if args.rate > 0:  # pace: sleep until this many frames are due
            due = start + sent / args.rate
            now = time.monotonic()
            if due > now:
                time.sleep(min(due - now, max(0.0, deadline - now)))
    elapsed = time.monotonic() - start
    what = "frames (" + args.mix + ")" if args.mix else "spoofed ClientHellos"
    print(f"flood: {sent} {what} in {elapsed:.1f} s ({sent / elapsed:.0f} pps)")
    if args.report:
        with open(args.report, "w") as out:
            json.dump({"sent": sent, "seconds": elapsed, "by_kind": sent_by_kind,
                       "exchanges": exchanges}, out)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
