// Builds test frames layer by layer: Ethernet (+0-2 VLAN tags) / IPv4 or IPv6 / UDP around a
// DTLS record, with correct lengths and checksums unless a test asks otherwise. Tests then
// mutate single bytes to express "this one field is wrong".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dtlsgate::test {

using Bytes = std::vector<uint8_t>;

inline constexpr uint8_t kContentHandshake = 22;
inline constexpr uint8_t kClientHello = 1;
inline constexpr uint8_t kHelloVerifyRequest = 3;
inline constexpr uint16_t kDtls10 = 0xfeff;
inline constexpr uint16_t kDtls12 = 0xfefd;

// "192.0.2.1" -> 4 bytes, "2001:db8::1" -> 16 bytes; aborts the test on bad text.
Bytes parse_ip(const std::string& text);

struct UdpFrameSpec {
  std::array<uint8_t, 6> dst_mac{0x02, 0, 0, 0, 0, 0x01};  // ours
  std::array<uint8_t, 6> src_mac{0x02, 0, 0, 0, 0, 0x02};  // the client's
  std::vector<uint16_t> vlans;                             // outermost first (TPID 0x8100)
  std::string src_ip = "192.0.2.10";                       // family follows the address
  std::string dst_ip = "192.0.2.1";
  uint16_t src_port = 50000;
  uint16_t dst_port = 4433;
  bool udp_checksum = true;  // false: IPv4 checksum field 0 ("not computed")
  uint8_t ttl = 64;
};

// Ethernet/IP/UDP around payload, every length and checksum right.
Bytes build_udp_frame(const UdpFrameSpec& spec, std::span<const uint8_t> payload);

// Offsets of the layers in a frame built by build_udp_frame.
struct FrameLayout {
  std::size_t l3 = 0;       // IP header
  std::size_t l4 = 0;       // UDP header
  std::size_t payload = 0;  // UDP payload
};
FrameLayout layout_of(const UdpFrameSpec& spec);

// Recomputes the IPv4 header checksum and the UDP checksum after a test edited the frame
// (lengths are left as they are: edit them too if the test means them to be consistent).
void fix_checksums(const UdpFrameSpec& spec, Bytes& frame);

// DTLS record: type | version | epoch | seq48 | length | fragment.
Bytes dtls_record(uint8_t content_type, uint16_t version, uint16_t epoch, uint64_t seq,
                  std::span<const uint8_t> fragment);

// Handshake header | body. fragment_offset/fragment_length/message_length default to one
// whole, unfragmented message.
struct HandshakeSpec {
  uint8_t msg_type = kClientHello;
  uint16_t message_seq = 0;
  std::optional<uint32_t> message_length;
  uint32_t fragment_offset = 0;
  std::optional<uint32_t> fragment_length;
};
Bytes handshake(const HandshakeSpec& spec, std::span<const uint8_t> body);

struct ClientHelloSpec {
  uint16_t client_version = kDtls12;
  std::array<uint8_t, 32> random{};
  Bytes session_id;
  Bytes cookie;
  std::vector<uint16_t> cipher_suites{0xc02b, 0xc02f, 0x009e};
  Bytes compression_methods{0};
  std::optional<Bytes> extensions = Bytes{};  // raw extension block without its length prefix;
                                              // nullopt: no extensions length at all
};
Bytes client_hello_body(const ClientHelloSpec& spec);

// One extension: type | length | data.
Bytes extension(uint16_t type, std::span<const uint8_t> data);

// A whole cookie-less (or cookie-bearing) ClientHello datagram payload: record + handshake.
Bytes client_hello_record(const ClientHelloSpec& hello, uint16_t record_version = kDtls10,
                          uint64_t record_seq = 0, uint16_t message_seq = 0);

}  // namespace dtlsgate::test
