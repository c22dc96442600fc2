// A client's source prefix as one 64-bit word: the key the reflection guard counts HVRs by,
// and the name it reports refusals under. The /24 (IPv4) or /56 (IPv6) lies in the low bytes
// as in memory, the family (4 or 6) in the top byte, so no key is 0 and the two families never
// meet. "198.51.100.0/24", "2001:db8:0:1200::/56".
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace dtlsgate {

// The key of the prefix an address (as it lies in a header) belongs to.
inline uint64_t prefix_key(bool ipv6, const uint8_t* address) {
  // One whole load each (the IPv4 header's destination follows its source; an IPv6 address
  // is 16 bytes), masked to the prefix.
  uint64_t key = 0;
  if (ipv6) {
    std::memcpy(&key, address, 8);
    return (key & 0x00ffffffffffffffULL) | uint64_t{6} << 56;
  }
  uint32_t word;
  std::memcpy(&word, address, 4);
  return (word & 0x00ffffffU) | uint64_t{4} << 56;
}

// The prefix in the usual notation; "?" for a word no address makes.
std::string prefix_text(uint64_t key);

}  // namespace dtlsgate
