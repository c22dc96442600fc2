#!/usr/bin/python3
"""build/dpdk_app/dtlsgate on net_pcap over ClientHellos of real clients (OpenSSL s_client
-dtls1_2/-dtls1, GnuTLS gnutls-cli --udp; IPv4 and IPv6; tests/data/client_hellos.pcap, made by
tools/capture-client-hellos), plus malformed frames derived from them.

Run 1, the captures: every cookie-less ClientHello gets exactly one HVR, in order; tshark finds
nothing malformed, both checksums good, the record sequence echoed; the HVR bytes follow
DESIGN.md; addresses and ports swapped; never larger than the ClientHello; the summary's
verdicts add up to rx_packets.
Run 2, malformed frames only: no reply at all, and each lands in the drop counter named for it.

  pcap_test.py DTLSGATE CAPTURE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    from scapy.all import IP, UDP, Ether, IPv6, Raw, rdpcap, wrpcap
except ImportError:
    print("SKIP: needs python3-scapy (tools/setup installs it)")
    sys.exit(77)
if shutil.which("tshark") is None:
    print("SKIP: needs tshark (tools/setup installs it)")
    sys.exit(77)

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def dtls_payload(frame):
    return bytes(frame[UDP].payload)


def is_cookieless_client_hello(payload):
    # record(13) | handshake(12) | client_version(2) random(32) | sid_len sid | cookie_len
    if len(payload) < 13 + 12 + 35 or payload[0] != 22 or payload[13] != 1:
        return False
    at = 13 + 12 + 2 + 32
    at += 1 + payload[at]
    return at < len(payload) and payload[at] == 0


def refresh(frame):
    """Recomputes lengths and checksums after an edit of the UDP payload."""
    ip = frame.getlayer(IP) or frame.getlayer(IPv6)
    if IP in frame:
        del frame[IP].len
        del frame[IP].chksum
    else:
        del frame[IPv6].plen
    del frame[UDP].len
    del frame[UDP].chksum
    return Ether(bytes(frame))


def with_payload(frame, payload):
    f = frame.copy()
    f[UDP].remove_payload()
    f[UDP].add_payload(Raw(payload))
    return refresh(f)


def malformed_variants(hellos):
    """(expected counter, frame) derived from real cookie-less ClientHellos."""
    out = []
    for h in hellos:
        p = dtls_payload(h)
        out.append(("drop_truncated", Ether(bytes(h)[:40])))
        bad_sum = bytearray(bytes(h))
        bad_sum[-1] ^= 0xFF
        out.append(("drop_bad_udp_checksum", Ether(bytes(bad_sum))))
        out.append(("drop_nonzero_epoch", with_payload(h, p[:3] + b"\x00\x01" + p[5:])))
        # Inside the record after the handshake fragment (OpenSSL: length mismatch). Bytes
        # after the record are a possible second record, which OpenSSL ignores, and so do we.
        grown = (int.from_bytes(p[11:13], "big") + 3).to_bytes(2, "big")
        out.append(("drop_trailing_bytes", with_payload(h, p[:11] + grown + p[13:] + bytes(3))))
        out.append(("drop_record_length", with_payload(h, p[:-1])))
        out.append(("drop_record_short", with_payload(h, p[:10])))
        out.append(("drop_not_client_hello", with_payload(h, p[:13] + b"\x02" + p[14:])))
    return out


def run_dtlsgate(dtlsgate, workdir, name, frames):
    in_pcap = os.path.join(workdir, name + "-in.pcap")
    out_pcap = os.path.join(workdir, name + "-out.pcap")
    # TX queue 0 is the worker's (HVRs), TX queue 1 the slow-path thread's.
    slow_pcap = os.path.join(workdir, name + "-slow-out.pcap")
    summary = os.path.join(workdir, name + ".json")
    wrpcap(in_pcap, frames)
    cmd = [dtlsgate, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
           "--no-telemetry", "--vdev", f"net_pcap0,rx_pcap={in_pcap},tx_pcap={out_pcap},tx_pcap={slow_pcap}",
           "--", "--addr", "127.0.0.1", "--addr", "::1", "--duration", "3",
           "--summary-json", summary]
    print("+", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, timeout=60, capture_output=True, text=True)
    print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n")
    check(proc.returncode == 0, f"{name}: dtlsgate exit code {proc.returncode}")
    with open(summary) as f:
        counters = json.load(f)
    replies = rdpcap(out_pcap) if os.path.getsize(out_pcap) > 24 else []
    return counters, replies, out_pcap


def verdict_sum(counters):
    names = [k for k in counters if k.startswith(("drop_", "passed_")) or
             k in ("hvr_sent", "arp_replied", "nd_replied")]
    return sum(counters[k] for k in names)


def tshark_rows(pcap, fields):
    cmd = ["tshark", "-r", pcap, "-d", "udp.port==4433,dtls", "-o", "ip.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "occurrence=a"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [dict(zip(fields, line.split("\t"))) for line in out.splitlines()]


def check_hvr_bytes(i, hello, reply):
    hp, rp = dtls_payload(hello), dtls_payload(reply)
    L = rp[27] if len(rp) > 27 else -1
    check(len(rp) == 28 + L, f"reply {i}: HVR length {len(rp)} != 28 + cookie {L}")
    check(L == 17, f"reply {i}: cookie length {L} (key id + 16-byte tag)")
    expect = (bytes([0x16, 0xFE, 0xFF, 0, 0]) + hp[5:11] + (15 + L).to_bytes(2, "big") +
              bytes([3]) + (3 + L).to_bytes(3, "big") + bytes(5) + (3 + L).to_bytes(3, "big") +
              bytes([0xFE, 0xFF, L]))
    check(rp[:28] == expect, f"reply {i}: HVR header {rp[:28].hex()} != {expect.hex()}")
    hip = hello.getlayer(IP) or hello.getlayer(IPv6)
    rip = reply.getlayer(IP) or reply.getlayer(IPv6)
    check((rip.src, rip.dst) == (hip.dst, hip.src), f"reply {i}: addresses not swapped")
    check((reply[UDP].sport, reply[UDP].dport) == (hello[UDP].dport, hello[UDP].sport),
          f"reply {i}: ports not swapped")
    check((reply.src, reply.dst) == (hello.dst, hello.src) or reply.dst == hello.src,
          f"reply {i}: MACs not swapped")
    check(len(reply) <= len(hello), f"reply {i}: {len(reply)} bytes > ClientHello {len(hello)}")


def main():
    dtlsgate, capture = sys.argv[1], sys.argv[2]
    real = [Ether(bytes(f)) for f in rdpcap(capture)]
    hellos = [f for f in real if is_cookieless_client_hello(dtls_payload(f))]
    check(len(hellos) >= 6, f"capture has {len(hellos)} cookie-less ClientHellos, expected >= 6")
    check(any(IPv6 in h for h in hellos) and any(IP in h for h in hellos), "IPv4 and IPv6 present")

    with tempfile.TemporaryDirectory() as work:
        # Run 1: the captures as they are.
        counters, replies, out_pcap = run_dtlsgate(dtlsgate, work, "captures", real)
        check(counters["rx_packets"] == len(real), f"rx_packets {counters['rx_packets']} != {len(real)}")
        check(verdict_sum(counters) == counters["rx_packets"], "verdicts add up to rx_packets")
        check(counters["hvr_sent"] == len(hellos), f"hvr_sent {counters['hvr_sent']} != {len(hellos)}")
        check(len(replies) == len(hellos), f"{len(replies)} replies for {len(hellos)} ClientHellos")
        for i, (hello, reply) in enumerate(zip(hellos, replies)):
            check_hvr_bytes(i, hello, reply)
        rows = tshark_rows(out_pcap, ["frame.number", "dtls.handshake.type", "_ws.malformed",
                                      "_ws.expert.severity", "ip.checksum.status",
                                      "udp.checksum.status", "dtls.record.sequence_number"])
        hello_seqs = [str(int.from_bytes(dtls_payload(h)[5:11], "big")) for h in hellos]
        for i, row in enumerate(rows):
            check(row["dtls.handshake.type"] == "3", f"tshark reply {i}: handshake type {row}")
            check(row["_ws.malformed"] == "", f"tshark reply {i}: malformed")
            check(row["udp.checksum.status"] == "1", f"tshark reply {i}: UDP checksum {row}")
            if row["ip.checksum.status"]:
                check(row["ip.checksum.status"] == "1", f"tshark reply {i}: IPv4 checksum {row}")
            if i < len(hello_seqs):
                check(row["dtls.record.sequence_number"] == hello_seqs[i],
                      f"tshark reply {i}: record sequence {row['dtls.record.sequence_number']} "
                      f"!= ClientHello's {hello_seqs[i]}")
        print(f"captures: {len(real)} frames, {len(hellos)} cookie-less ClientHellos, "
              f"{len(replies)} HVRs checked with tshark")

        # Run 2: malformed frames only.
        variants = malformed_variants(hellos)
        counters, replies, _ = run_dtlsgate(dtlsgate, work, "malformed", [f for _, f in variants])
        check(len(replies) == 0, f"{len(replies)} replies to malformed frames")
        expected = {}
        for name, _ in variants:
            expected[name] = expected.get(name, 0) + 1
        for name, count in sorted(expected.items()):
            check(counters.get(name) == count, f"{name}: {counters.get(name)} != {count}")
        check(verdict_sum(counters) == counters["rx_packets"] == len(variants),
              "malformed: verdicts add up to rx_packets")
        print(f"malformed: {len(variants)} frames, counters {expected}")

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("pcap test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
