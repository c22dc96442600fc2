// The Internet checksum (RFC 1071) for IPv4 headers and UDP over IPv4/IPv6.
//
// Sums are kept in host byte order over native 32-bit loads (byte order does not matter to a
// one's-complement sum as long as it is consistent) and stored back with memcpy, so no byte
// swapping happens per word. ~70 instructions for a 230-byte UDP datagram (AVX2, below).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <immintrin.h>

namespace dtlsgate {

// Adds len bytes (starting at an even offset of the checksummed stream) to a running sum,
// unfolded: for len < 64 KiB it grows by < 2^46, so chained sums and added 16-bit fields never
// overflow; checksum_fold/checksum_finish reduce it. Inline so that fixed-size headers (20-byte
// IPv4, 32 bytes of IPv6 addresses) compile to a few straight-line instructions.
inline uint64_t checksum_add(uint64_t sum, const uint8_t* data, std::size_t len);

// Folds a running sum to 16 bits and complements it: the value to store (with memcpy, it is in
// the same native layout as the sum).
inline uint16_t checksum_finish(uint64_t sum);

// True when a sum over data that carries its own checksum folds to all ones: the checksum is
// right (same answer as checksum_fold(sum) == 0xffff, cheaper).
inline bool checksum_verifies(uint64_t sum);

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
  // Little-endian 32-bit words summed into 64-bit lanes: 2^16 = 1 (mod 2^16 - 1), so any
  // grouping of whole 16-bit words gives the same one's-complement sum, and wide lanes need no
  // carry chain. AVX2: one vpmovzxdq (load + widen) and one vpaddq per 16 bytes, ~2.5
  // instructions per 16 bytes with the loop; the add-with-carry loop it replaced took ~7
  // (compilers spill the carry flag between _addcarry_u64 calls). The loops run to end
  // pointers: no length bookkeeping per round or after them.
  uint64_t acc = sum;
  if (len >= 16) {
    __m256i lanes = _mm256_setzero_si256();
    auto add16 = [&lanes](const uint8_t* p) {
      const __m128i words = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      lanes = _mm256_add_epi64(lanes, _mm256_cvtepu32_epi64(words));
    };
    const uint8_t* const end64 = data + (len & ~std::size_t{63});
    const uint8_t* const end16 = data + (len & ~std::size_t{15});
    for (; data != end64; data += 64) {
      add16(data);
      add16(data + 16);
      add16(data + 32);
      add16(data + 48);
    }
    for (; data != end16; data += 16) add16(data);
    len &= 15;
    const __m128i pair =
        _mm_add_epi64(_mm256_castsi256_si128(lanes), _mm256_extracti128_si256(lanes, 1));
    // Each lane holds < 2^32 words of < 2^32 each per 16 bytes: no overflow below 2^34 bytes.
    acc += static_cast<uint64_t>(_mm_cvtsi128_si64(pair)) +
           static_cast<uint64_t>(_mm_extract_epi64(pair, 1));
  }
  // The last 0-15 bytes. A 2-byte word or an odd last byte may be added unshifted whatever
  // its position in a 32-bit word, as 2^16 = 1: the odd byte is the high-order (first) byte
  // of its 16-bit word, which is the low byte in the native little-endian layout.
  if (len >= 8) {
    const uint64_t w = checksum_detail::load64(data);
    acc += (w & 0xffffffffu) + (w >> 32);
    data += 8;
    len -= 8;
  }
  if (len >= 4) {
    uint32_t w;
    std::memcpy(&w, data, 4);
    acc += w;
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, data, 2);
    acc += w;
    data += 2;
    len -= 2;
  }
  if (len != 0) acc += data[0];
  // Not folded here: checksum_fold takes any 64-bit sum, and a datagram adds < 2^46 (2^14
  // words of < 2^32), so callers may chain sums and add fields freely. Folding each partial sum
  // cost 3 instructions per call, ~15 per HVR.
  return acc;
}

inline uint16_t checksum_fold(uint64_t sum) {
  // 64 -> 32 bits as a 32-bit add whose carry comes back in (add, adc), then 32 -> 16: the high
  // half of s + rotl(s, 16) is hi + lo with the carry out of lo + hi already added back in.
  const auto lo = static_cast<uint32_t>(sum);
  uint32_t s = lo + static_cast<uint32_t>(sum >> 32);
  s += s < lo ? 1 : 0;
  return static_cast<uint16_t>((s + (s << 16 | s >> 16)) >> 16);
}

inline uint16_t checksum_finish(uint64_t sum) {
  return static_cast<uint16_t>(~checksum_fold(sum));
}

inline bool checksum_verifies(uint64_t sum) {
  // The fold is congruent to the sum modulo 2^16 - 1 and is zero only for a zero sum, so it is
  // all ones exactly when the sum is a non-zero multiple of 0xffff. Compilers test that by one
  // multiplication by the inverse of 0xffff and a compare (~5 instructions instead of the
  // fold's ~10; 2 per datagram on the verify side).
  return sum % 0xffff == 0 && sum != 0;
}

inline bool ipv4_header_valid(const uint8_t* header, std::size_t len) {
  // The option-less header, the common case, as straight-line code.
  const uint64_t sum = len == 20 ? checksum_add(0, header, 20) : checksum_add(0, header, len);
  return checksum_verifies(sum);
}

}  // namespace dtlsgate
