#include "dtlsgate/udp_frame_writer.h"

#include <cstring>

#include "dtlsgate/checksum.h"
#include "dtlsgate/wire/packet.h"

namespace dtlsgate {
namespace {

constexpr uint8_t kDefaultTtl = 64;

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

std::size_t write_udp_frame(std::span<uint8_t> out, const FlowKey& flow, const LinkAddresses& link,
                            std::span<const uint8_t> payload) {
  const AddressFamily family = flow.server.family;
  if (flow.client.family != family) return 0;
  const bool v4 = family == AddressFamily::kIpv4;
  const std::size_t ip_header = v4 ? 20 : 40;
  const std::size_t udp_len = kUdpHeaderLen + payload.size();
  const std::size_t ip_total = ip_header + udp_len;  // IPv4 total length; IPv6 uses udp_len
  if ((v4 ? ip_total : udp_len) > UINT16_MAX) return 0;
  const std::size_t frame_len = kEthernetHeaderLen + ip_total;
  if (frame_len > out.size()) return 0;

  uint8_t* f = out.data();
  std::memcpy(f, link.destination.data(), 6);
  std::memcpy(f + 6, link.source.data(), 6);
  put16(f + 12, v4 ? kEtherTypeIpv4 : kEtherTypeIpv6);

  uint8_t* ip = f + kEthernetHeaderLen;
  uint8_t* udp = ip + ip_header;
  if (v4) {
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, static_cast<uint16_t>(ip_total));
    put16(ip + 4, 0);       // identification: DF is set, nothing will reassemble
    put16(ip + 6, 0x4000);  // DF, offset 0
    ip[8] = kDefaultTtl;
    ip[9] = kIpProtoUdp;
    put16(ip + 10, 0);
    std::memcpy(ip + 12, flow.server.addr.data(), 4);
    std::memcpy(ip + 16, flow.client.addr.data(), 4);
    const uint16_t sum = ipv4_header_checksum(ip, 20);
    std::memcpy(ip + 10, &sum, 2);
  } else {
    ip[0] = 0x60;
    ip[1] = ip[2] = ip[3] = 0;
    put16(ip + 4, static_cast<uint16_t>(udp_len));
    ip[6] = kIpProtoUdp;
    ip[7] = kDefaultTtl;
    std::memcpy(ip + 8, flow.server.addr.data(), 16);
    std::memcpy(ip + 24, flow.client.addr.data(), 16);
  }

  put16(udp, flow.server.port);
  put16(udp + 2, flow.client.port);
  put16(udp + 4, static_cast<uint16_t>(udp_len));
  put16(udp + 6, 0);
  if (!payload.empty()) std::memcpy(udp + kUdpHeaderLen, payload.data(), payload.size());
  uint16_t sum = v4 ? udp_checksum_ipv4(ip + 12, ip + 16, udp, udp_len)
                    : udp_checksum_ipv6(ip + 8, ip + 24, udp, udp_len);
  // RFC 768 / 8200: a computed 0 is sent as all ones (0 means "no checksum" over IPv4 and is
  // invalid over IPv6).
  if (sum == 0) sum = 0xffff;
  std::memcpy(udp + 6, &sum, 2);
  return frame_len;
}

}  // namespace dtlsgate
