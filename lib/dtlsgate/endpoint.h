// A UDP endpoint in a canonical, padding-free form. Cookies MAC this encoding and the flow table
// hashes it, never a raw sockaddr (whose padding bytes are not defined).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace dtlsgate {

enum class AddressFamily : uint8_t { kIpv4 = 4, kIpv6 = 6 };

struct Endpoint {
  AddressFamily family = AddressFamily::kIpv4;
  std::array<uint8_t, 16> addr{};  // IPv4 in the first 4 bytes, the rest zero
  uint16_t port = 0;               // host byte order

  static Endpoint ipv4(const uint8_t a[4], uint16_t port) {
    Endpoint e;
    e.set_ipv4(a, port);
    return e;
  }
  static Endpoint ipv6(const uint8_t a[16], uint16_t port) {
    Endpoint e;
    e.set_ipv6(a, port);
    return e;
  }
  // Every field written where the Endpoint lives, with copies of a fixed size. For a hot
  // destination (the classifier's PassInfo): built elsewhere and copied, the fields' narrow
  // stores were read back by 16-byte loads that cannot be forwarded from them, a stall that
  // cost the verify path ~10 % of its rate.
  void set_ipv4(const uint8_t a[4], uint16_t host_port) {
    set(AddressFamily::kIpv4, a, 4, host_port);
  }
  void set_ipv6(const uint8_t a[16], uint16_t host_port) {
    set(AddressFamily::kIpv6, a, 16, host_port);
  }
  bool operator==(const Endpoint&) const = default;

 private:
  void set(AddressFamily f, const uint8_t* a, std::size_t len, uint16_t host_port) {
    family = f;
    addr = {};
    std::memcpy(addr.data(), a, len);
    port = host_port;
  }
};

// The 5-tuple of a session (protocol is always UDP).
struct FlowKey {
  Endpoint client;
  Endpoint server;
  bool operator==(const FlowKey&) const = default;
};

// The same 5-tuple where it lies in a datagram, network byte order: the IP header's source and
// destination addresses side by side, the UDP header's source and destination ports side by
// side. What the fast path has without building two Endpoints (~25 instructions each way).
struct WireFlow {
  bool ipv6 = false;
  const uint8_t* addresses = nullptr;  // client then server: 8 or 32 bytes
  const uint8_t* ports = nullptr;      // client then server port: 4 bytes
};

}  // namespace dtlsgate
