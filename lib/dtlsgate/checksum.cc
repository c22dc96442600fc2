#include "dtlsgate/checksum.h"

#include <cstring>

namespace dtlsgate {
namespace {

constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpv6 = 58;

// Native representation of a big-endian 16-bit field, for adding protocol and length words.
uint64_t native_be16(uint16_t v) {
  uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  uint16_t n;
  std::memcpy(&n, b, 2);
  return n;
}

uint64_t pseudo_header(const uint8_t* src, const uint8_t* dst, std::size_t addr_len, uint8_t proto,
                       std::size_t len) {
  uint64_t sum = checksum_add(0, src, addr_len);
  sum = checksum_add(sum, dst, addr_len);
  return sum + native_be16(proto) + native_be16(static_cast<uint16_t>(len)) +
         native_be16(static_cast<uint16_t>(len >> 16));
}

}  // namespace

uint16_t ipv4_header_checksum(const uint8_t* header, std::size_t len) {
  return checksum_finish(checksum_add(0, header, len));
}

uint16_t udp_checksum_ipv4(const uint8_t src[4], const uint8_t dst[4], const uint8_t* udp,
                           std::size_t udp_len) {
  uint16_t c =
      checksum_finish(checksum_add(pseudo_header(src, dst, 4, kProtoUdp, udp_len), udp, udp_len));
  return c == 0 ? 0xffff : c;  // RFC 768: a computed zero is sent as all ones
}

uint16_t udp_checksum_ipv6(const uint8_t src[16], const uint8_t dst[16], const uint8_t* udp,
                           std::size_t udp_len) {
  uint16_t c =
      checksum_finish(checksum_add(pseudo_header(src, dst, 16, kProtoUdp, udp_len), udp, udp_len));
  return c == 0 ? 0xffff : c;
}

bool udp_checksum_valid_ipv4(const uint8_t src[4], const uint8_t dst[4], const uint8_t* udp,
                             std::size_t udp_len) {
  return checksum_verifies(
      checksum_add(pseudo_header(src, dst, 4, kProtoUdp, udp_len), udp, udp_len));
}

bool udp_checksum_valid_ipv6(const uint8_t src[16], const uint8_t dst[16], const uint8_t* udp,
                             std::size_t udp_len) {
  return checksum_verifies(
      checksum_add(pseudo_header(src, dst, 16, kProtoUdp, udp_len), udp, udp_len));
}

uint16_t icmpv6_checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t* icmp,
                         std::size_t len) {
  return checksum_finish(checksum_add(pseudo_header(src, dst, 16, kProtoIcmpv6, len), icmp, len));
}

}  // namespace dtlsgate
