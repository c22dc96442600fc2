// Builds test frames layer by layer: Ethernet (+0-2 VLAN tags) / IPv4 or IPv6 / UDP around a
// DTLS record, with correct lengths and checksums unless a test asks otherwise. Tests then
// mutate single bytes to express "this one field is wrong".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dtlsgate/endpoint.h"

namespace dtlsgate::test {

using Bytes = std::vector<uint8_t>;

inline constexpr uint8_t kContentHandshake = 22;
inline constexpr uint8_t kClientHello = 1;
inline constexpr uint8_t kHelloVerifyRequest = 3;
inline constexpr uint16_t kDtls10 = 0xfeff;
inline constexpr uint16_t kDtls12 = 0xfefd;

// "192.0.2.1" -> 4 bytes, "2001:db8::1" -> 16 bytes; aborts the test on bad text.
Bytes parse_ip(const std::string& text);

// The endpoint at that address (either family) and port.
Endpoint endpoint(const std::string& ip, uint16_t port);

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

// --- Frames that are not UDP, and reading frames back (added for the classifier spec) ---

// An ARP request "who has target_ip? tell sender_ip" (Ethernet broadcast), 42 bytes unless
// pad_to_60 (the minimum Ethernet frame a NIC delivers).
struct ArpSpec {
  std::array<uint8_t, 6> sender_mac{0x02, 0, 0, 0, 0, 0x02};
  std::string sender_ip = "192.0.2.10";
  std::string target_ip = "192.0.2.1";
  uint16_t operation = 1;  // 1 request, 2 reply
  std::vector<uint16_t> vlans;
  bool pad_to_60 = false;
};
Bytes build_arp_frame(const ArpSpec& spec);

// An IPv6 neighbour solicitation for target_ip, sent to its solicited-node multicast address
// (RFC 4861 4.3), with a source link-layer address option unless the source is unspecified.
struct NeighbourSolicitationSpec {
  std::array<uint8_t, 6> src_mac{0x02, 0, 0, 0, 0, 0x02};
  std::string src_ip = "2001:db8::10";
  std::string target_ip = "2001:db8::1";
  uint8_t hop_limit = 255;               // RFC 4861 7.1.1: anything else must be discarded
  bool source_link_layer_option = true;  // never sent when the source is unspecified (::)
  std::vector<uint16_t> vlans;
};
Bytes build_neighbour_solicitation(const NeighbourSolicitationSpec& spec);

// Where the layers of a frame are, found by walking the frame's own headers (VLAN tags, IHL),
// so it also works on frames a test has edited or on replies.
struct ParsedFrame {
  std::size_t l3 = 0;
  std::size_t l4 = 0;       // first byte after the IPv4 header (IHL) or the fixed IPv6 header
  std::size_t l4_end = 0;   // end of the IP datagram (from its length field, clamped to frame)
  uint16_t ether_type = 0;  // after the VLAN tags
  std::size_t vlan_count = 0;
  bool ipv6 = false;
  uint8_t protocol = 0;  // IPv4 protocol / IPv6 next header
};
std::optional<ParsedFrame> parse_frame(std::span<const uint8_t> frame);

// Recomputes the IPv4 header checksum (over IHL*4 bytes) and the UDP or ICMPv6 checksum from
// the frame's own headers. An IPv4 UDP checksum of 0 ("not computed") stays 0.
void refresh_checksums(Bytes& frame);

// A HelloVerifyRequest record as DESIGN.md lays it out, read back field by field.
struct HvrView {
  uint8_t content_type = 0;
  uint16_t record_version = 0;
  uint16_t epoch = 0;
  uint64_t record_seq = 0;
  uint16_t record_length = 0;
  uint8_t msg_type = 0;
  uint32_t message_length = 0;
  uint16_t message_seq = 0;
  uint32_t fragment_offset = 0;
  uint32_t fragment_length = 0;
  uint16_t server_version = 0;
  Bytes cookie;
};
// Reads a UDP payload as one HVR record; nullopt (and why) if it is not exactly one, with every
// length consistent.
std::optional<HvrView> parse_hvr(std::span<const uint8_t> udp_payload, std::string* why = nullptr);

// Just the two ClientHellos of a real OpenSSL 3 client (DTLS_client_method, plain memory BIOs),
// byte for byte as OpenSSL writes them; no dependency on lib's session code. For whole
// handshakes use support/openssl_dtls_client.h. Each instance is one connection attempt.
class OpenSslHelloClient {
 public:
  OpenSslHelloClient();
  ~OpenSslHelloClient();
  OpenSslHelloClient(const OpenSslHelloClient&) = delete;
  OpenSslHelloClient& operator=(const OpenSslHelloClient&) = delete;

  // The first flight: a cookie-less ClientHello (UDP payload).
  Bytes first_client_hello();
  // Feeds a server datagram (e.g. an HVR) and returns the client's next datagram (the
  // ClientHello with the cookie after an HVR), or empty if it wrote nothing.
  Bytes respond(std::span<const uint8_t> server_datagram);

 private:
  Bytes drain();
  struct State;
  State* state_;
};

}  // namespace dtlsgate::test
