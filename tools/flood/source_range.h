// Spoofed sources: an address prefix ("10.0.0.0/8", "2001:db8::/32", a bare address = /32 or
// /128) and a port range ("1024-65535", or one port), drawn uniformly at random per packet.
#pragma once

#include <cstdint>
#include <string>

#include "dtlsgate/endpoint.h"

namespace dtlsgate::flood {

// xorshift64*: ~1 ns per draw, plenty random for spreading sources; not for secrets.
class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) : state_(seed != 0 ? seed : 0x9e3779b97f4a7c15ull) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }

 private:
  uint64_t state_;
};

struct SourceRange {
  AddressFamily family = AddressFamily::kIpv4;
  std::array<uint8_t, 16> base{};  // network address, host bits zero
  std::array<uint8_t, 16> host_mask{};
  uint16_t port_first = 1024;
  uint16_t port_last = 65535;

  Endpoint draw(FastRandom& random) const;
};

// "10.0.0.0/8" or "2001:db8::/48" into *range (ports untouched). false + one-line *error.
bool parse_prefix(const std::string& text, SourceRange* range, std::string* error);
// "1024-65535" or "5000".
bool parse_port_range(const std::string& text, SourceRange* range, std::string* error);
// "192.0.2.1" or "2001:db8::1".
bool parse_address(const std::string& text, Endpoint* endpoint, std::string* error);

}  // namespace dtlsgate::flood
