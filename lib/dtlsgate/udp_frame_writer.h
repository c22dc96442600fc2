// Ethernet / IPv4-or-IPv6 / UDP headers around a datagram the slow path sends, built from the
// session's 5-tuple (flow.server is the source, flow.client the destination) and the two MACs
// the I/O shell remembers (ours from the port, the peer's from the frame that made the
// session). Both checksums in software: af_packet and most virtual ports offer no TX offload.
//
// Cost: one header write and one pass of the checksum over the payload (~20 ns for a 1400-byte
// datagram here); no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dtlsgate/endpoint.h"

namespace dtlsgate {

inline constexpr std::size_t kEthernetHeaderLen = 14;
inline constexpr std::size_t kUdpHeaderLen = 8;

struct LinkAddresses {
  std::array<uint8_t, 6> source{};       // our MAC
  std::array<uint8_t, 6> destination{};  // the peer's (or its router's) MAC
};

// Bytes of headers in front of the payload for this address family.
constexpr std::size_t udp_frame_header_len(AddressFamily family) {
  return kEthernetHeaderLen + (family == AddressFamily::kIpv4 ? 20 : 40) + kUdpHeaderLen;
}

// Writes the whole frame (headers + a copy of payload) into out. Returns its length, or 0 when
// it does not fit in out or the payload is too long for one IP datagram (nothing written then).
// IPv4: DF set, identification 0, TTL 64. IPv6: hop limit 64, flow label 0.
std::size_t write_udp_frame(std::span<uint8_t> out, const FlowKey& flow, const LinkAddresses& link,
                            std::span<const uint8_t> payload);

}  // namespace dtlsgate
