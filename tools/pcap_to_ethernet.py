#!/usr/bin/python3
"""Turns a loopback capture into frames a NIC would hand dtlsgate.

Keeps the UDP datagrams sent to the server port, gives them Ethernet MACs (loopback frames
carry zeros, or come as DLT_NULL / Linux cooked), and recomputes IP and UDP checksums (loopback
leaves them partial, the kernel never checks them there).

  pcap_to_ethernet.py IN.pcap OUT.pcap [--port 4433]
"""
import argparse

from scapy.all import IP, UDP, Ether, IPv6, rdpcap, wrpcap  # Debian's python3-scapy

SERVER_MAC = "02:00:00:00:00:01"
CLIENT_MAC = "02:00:00:00:00:02"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--port", type=int, default=4433)
    args = ap.parse_args()

    frames = []
    for pkt in rdpcap(args.input):
        ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
        if ip is None or UDP not in ip or ip[UDP].dport != args.port:
            continue
        ip = ip.copy()
        if IP in ip:
            del ip[IP].chksum
            del ip[IP].len
        else:
            del ip[IPv6].plen
        del ip[UDP].chksum
        del ip[UDP].len
        frame = Ether(src=CLIENT_MAC, dst=SERVER_MAC) / ip
        frames.append(Ether(bytes(frame)))  # freeze the computed fields
    wrpcap(args.output, frames)
    print(f"{args.output}: {len(frames)} client datagrams to UDP {args.port}")


if __name__ == "__main__":
    main()
