// Every counter dtlsgate keeps, declared once. The stats line, the telemetry dict, the summary
// JSON and the README table are all generated from these lists, so a counter cannot exist in
// one place and be missing from another.
//
// DTLSGATE_VERDICTS: one entry per fast-path verdict. Each classified frame gets exactly one,
// so the sum of these counters equals rx_packets (tests assert it).
//   X(enum name, counter name, help text)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#define DTLSGATE_VERDICTS(X)                                                                       \
  X(kReplyHvr, hvr_sent, "cookie-less ClientHello answered in place with a HelloVerifyRequest")    \
  X(kPassVerified, passed_verified, "ClientHello with a valid cookie, passed to the slow path")    \
  X(kPassFlow, passed_flow, "datagram of a known session 5-tuple, passed to the slow path")        \
  X(kReplyArp, arp_replied, "ARP request for one of our IPv4 addresses, answered in place")        \
  X(kReplyNd, nd_replied, "IPv6 neighbour solicitation for one of our addresses, answered")        \
  X(kDropTruncated, drop_truncated, "frame shorter than the headers it announces")                 \
  X(kDropNotIp, drop_not_ip, "EtherType is not IPv4, IPv6 or ARP (or more than two VLAN tags)")    \
  X(kDropNotForUs, drop_not_for_us, "destination address or UDP port is not one we serve")         \
  X(kDropBadIpHeader, drop_bad_ip_header, "bad IPv4 version/IHL/length/checksum or IPv6 length")   \
  X(kDropIpFragment, drop_ip_fragment, "IPv4 fragment (a stateless filter cannot reassemble)")     \
  X(kDropIpv6ExtHeader, drop_ipv6_ext_header, "IPv6 extension header before the transport")        \
  X(kDropNotUdp, drop_not_udp, "IP protocol is not UDP (nor an ICMPv6 solicitation for us)")       \
  X(kDropBadUdpLength, drop_bad_udp_length, "UDP length disagrees with the IP payload length")     \
  X(kDropBadUdpChecksum, drop_bad_udp_checksum, "UDP checksum wrong (or zero over IPv6)")          \
  X(kDropRecordShort, drop_record_short, "UDP payload shorter than a DTLS record header")          \
  X(kDropNotHandshake, drop_not_handshake, "unknown 5-tuple and content type is not handshake")    \
  X(kDropBadVersion, drop_bad_version, "record or client_version major byte is not 0xFE")          \
  X(kDropNonzeroEpoch, drop_nonzero_epoch, "unknown 5-tuple and record epoch is not 0")            \
  X(kDropRecordLength, drop_record_length, "record length runs past the datagram")                 \
  X(kDropTrailingBytes, drop_trailing_bytes,                                                       \
    "bytes inside the record after the handshake fragment")                                        \
  X(kDropNotClientHello, drop_not_client_hello, "unknown 5-tuple and handshake is no ClientHello") \
  X(kDropFragmentedHello, drop_fragmented_hello, "ClientHello fragment (offset != 0 or partial)")  \
  X(kDropBadHandshakeLength, drop_bad_handshake_length, "fragment length > message length etc.")   \
  X(kDropMalformedHello, drop_malformed_hello, "ClientHello body fails its length checks")         \
  X(kDropBadCookie, drop_bad_cookie, "cookie present but its MAC does not verify")                 \
  X(kDropExpiredCookie, drop_expired_cookie, "cookie minted under a key that is retired")          \
  X(kDropHelloSeq, drop_hello_seq, "message_seq > 1, or a valid cookie with message_seq != 1")     \
  X(kDropReplyTooLarge, drop_reply_too_large, "reply would not fit where the request was")         \
  X(kDropRateLimited, drop_rate_limited, "HVR withheld: source /24 (/56) or global HVR rate cap")

// Counters kept by the I/O shell around the classifier (not verdicts: they do not add up to rx).
//   X(counter name, help text)
#define DTLSGATE_IO_COUNTERS(X)                                                       \
  X(rx_packets, "frames received from the NIC queues")                                \
  X(rx_bytes, "bytes received from the NIC queues")                                   \
  X(tx_packets, "frames sent by the workers (HVR, ARP, ND)")                          \
  X(tx_dropped, "replies dropped: TX queue full, or refused by the PMD (tx_prepare)") \
  X(ring_dropped, "passed datagrams dropped because the slow-path ring was full")

// The slow-path threads' I/O counters (around the session engine, not in it), kept by the
// I/O shell.
//   X(counter name, help text)
#define DTLSGATE_SLOW_IO_COUNTERS(X)                                                    \
  X(slow_path_received, "passed datagrams the slow-path threads took from their rings") \
  X(slow_tx_packets, "datagrams the slow-path threads sent")                            \
  X(slow_tx_dropped, "slow-path datagrams dropped: TX queue full or no mbuf")           \
  X(slow_tx_unroutable, "slow-path datagrams with no remembered peer MAC or too large")

namespace dtlsgate {

enum class Verdict : uint8_t {
#define DTLSGATE_X(e, name, help) e,
  DTLSGATE_VERDICTS(DTLSGATE_X)
#undef DTLSGATE_X
};

inline constexpr std::size_t kVerdictCount = 0
#define DTLSGATE_X(e, name, help) +1
    DTLSGATE_VERDICTS(DTLSGATE_X)
#undef DTLSGATE_X
    ;

struct CounterInfo {
  std::string_view name;
  std::string_view help;
};

inline constexpr std::array<CounterInfo, kVerdictCount> kVerdictInfo{{
#define DTLSGATE_X(e, name, help) {#name, help},
    DTLSGATE_VERDICTS(DTLSGATE_X)
#undef DTLSGATE_X
}};

constexpr std::string_view verdict_name(Verdict v) {
  return kVerdictInfo[static_cast<std::size_t>(v)].name;
}

constexpr bool is_drop(Verdict v) {
  return v >= Verdict::kDropTruncated;
}

// Per-verdict counts for one worker. Owned by one core; summed by the main lcore.
struct alignas(64) VerdictCounters {
  std::array<uint64_t, kVerdictCount> count{};
  void add(Verdict v) { ++count[static_cast<std::size_t>(v)]; }
  uint64_t operator[](Verdict v) const { return count[static_cast<std::size_t>(v)]; }
  uint64_t total() const {
    uint64_t t = 0;
    for (uint64_t c : count) t += c;
    return t;
  }
};

}  // namespace dtlsgate
