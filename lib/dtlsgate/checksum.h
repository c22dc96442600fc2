// The Internet checksum (RFC 1071) for IPv4 headers and UDP over IPv4/IPv6.
//
// Sums are kept in host byte order over native 32-bit loads (byte order does not matter to a
// one's-complement sum as long as it is consistent) and stored back with memcpy, so no byte
// swapping happens per word. ~12 ns for a 200-byte ClientHello here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dtlsgate {

// Adds len bytes (starting at an even offset of the checksummed stream) to a running sum.
uint64_t checksum_add(uint64_t sum, const uint8_t* data, std::size_t len);

// Folds a running sum to 16 bits and complements it: the value to store (with memcpy, it is in
// the same native layout as the sum).
uint16_t checksum_finish(uint64_t sum);

// The value to store in an IPv4 header's checksum field (the field must be zero first, or use
// ipv4_header_valid to check a received header).
uint16_t ipv4_header_checksum(const uint8_t* header, std::size_t len);
bool ipv4_header_valid(const uint8_t* header, std::size_t len);

// UDP checksum over the pseudo-header and the UDP header+payload (its checksum field must be
// zero to compute, or left in place to verify: a valid datagram sums to 0xFFFF).
uint16_t udp_checksum_ipv4(const uint8_t src[4], const uint8_t dst[4], const uint8_t* udp,
                           std::size_t udp_len);
uint16_t udp_checksum_ipv6(const uint8_t src[16], const uint8_t dst[16], const uint8_t* udp,
                           std::size_t udp_len);
bool udp_checksum_valid_ipv4(const uint8_t src[4], const uint8_t dst[4], const uint8_t* udp,
                             std::size_t udp_len);
bool udp_checksum_valid_ipv6(const uint8_t src[16], const uint8_t dst[16], const uint8_t* udp,
                             std::size_t udp_len);

// ICMPv6 uses the IPv6 pseudo-header with next header 58.
uint16_t icmpv6_checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t* icmp,
                         std::size_t len);

}  // namespace dtlsgate
