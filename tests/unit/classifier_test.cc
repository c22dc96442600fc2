// The classifier's specification: one crafted frame per row (a valid ClientHello datagram with
// one field made wrong, or a frame of another kind) and the verdict DESIGN.md and OpenSSL's
// DTLSv1_listen call for. Then the replies byte by byte (HVR, ARP, ND), the cookie round trip
// with a real OpenSSL client, PassInfo, and the burst counters.
//
// Where the expected verdict is a judgement call (which of two drop counters a frame lands in),
// the row's comment says why it is this one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "dtlsgate/bytes.h"
#include "dtlsgate/checksum.h"
#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/cookie.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/hvr_rate_limiter.h"
#include "support/frame_builder.h"

namespace dtlsgate {
namespace {

using test::Bytes;
using test::ClientHelloSpec;
using test::HandshakeSpec;
using test::UdpFrameSpec;

constexpr MasterSecret kMaster = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
constexpr uint64_t kRotation = 60;
constexpr uint64_t kNow = 1'700'000'000;

constexpr std::array<uint8_t, 6> kOurMac{0x02, 0, 0, 0, 0, 0x01};
constexpr char kOurIpv4[] = "192.0.2.1";
constexpr char kOurIpv6[] = "2001:db8::1";
constexpr char kClientIpv6[] = "2001:db8::10";
// Sessions the slow path already owns (in the flow table).
constexpr char kKnownIpv4[] = "192.0.2.77";
constexpr char kKnownIpv6[] = "2001:db8::77";
constexpr uint16_t kKnownPort = 40000;

// Offsets in the UDP payload of a ClientHello record.
constexpr std::size_t kHandshake = 13;  // handshake header
constexpr std::size_t kBody = 25;       // ClientHello body: client_version, random, ...

Endpoint endpoint_of(const std::string& ip, uint16_t port) {
  const Bytes a = test::parse_ip(ip);
  return a.size() == 4 ? Endpoint::ipv4(a.data(), port) : Endpoint::ipv6(a.data(), port);
}

// The world every row is classified in: our addresses, the cookie keys of now, keys of an
// earlier epoch (still accepted) and of a retired one, and two known sessions.
struct World {
  World() {
    ClassifierConfig config;
    std::array<uint8_t, 4> v4;
    std::array<uint8_t, 16> v6;
    const Bytes a4 = test::parse_ip(kOurIpv4);
    const Bytes a6 = test::parse_ip(kOurIpv6);
    std::copy(a4.begin(), a4.end(), v4.begin());
    std::copy(a6.begin(), a6.end(), v6.begin());
    config.ipv4 = {v4};
    config.ipv6 = {v6};
    config.ports = {4433};
    config.mac = kOurMac;
    classifier.emplace(config, &flows);
    config.header_prediction = false;
    unpredicted.emplace(config, &flows);
    config.header_prediction = true;
    config.tx_checksums = TxChecksums::kOffload;
    offloading.emplace(config, &flows);
    flows.insert({endpoint_of(kKnownIpv4, kKnownPort), endpoint_of(kOurIpv4, 4433)});
    flows.insert({endpoint_of(kKnownIpv6, kKnownPort), endpoint_of(kOurIpv6, 4433)});
  }
  const CookieKeySet& keys() const { return *now.snapshot(); }

  CookieKeyring now{kMaster, kRotation, kNow};
  CookieKeyring previous{kMaster, kRotation, kNow - kRotation};
  CookieKeyring retired{kMaster, kRotation, kNow - 5 * kRotation};
  FlowTable flows{64};
  std::optional<Classifier> classifier;
  // Every frame through the general walk: classify() holds the two to the same answers.
  std::optional<Classifier> unpredicted;
  // Leaves HVR reply checksums to the NIC (a port with TX checksum offload).
  std::optional<Classifier> offloading;
};

const World& world() {
  static const World w;
  return w;
}

ClientHelloSpec default_hello() {
  ClientHelloSpec h;
  for (std::size_t i = 0; i < h.random.size(); ++i) h.random[i] = static_cast<uint8_t>(0x10 + i);
  h.cipher_suites = {0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0x009e, 0x009f, 0x00ff};
  Bytes ext;
  for (const Bytes& e : {test::extension(11, Bytes{1, 0}),                    // ec_point_formats
                         test::extension(10, Bytes{0, 4, 0, 0x1d, 0, 0x17}),  // groups
                         test::extension(22, Bytes{}),                        // encrypt_then_mac
                         test::extension(23, Bytes{}),                        // ext master secret
                         test::extension(13, Bytes{0, 4, 4, 3, 8, 4})}) {     // sig algs
    ext.insert(ext.end(), e.begin(), e.end());
  }
  h.extensions = ext;
  return h;
}

enum class CookieKind { kAsGiven, kValid, kPreviousEpoch, kRetiredEpoch, kJunk };

// How to build one row's frame: a valid cookie-less ClientHello datagram unless edited.
struct Recipe {
  UdpFrameSpec udp;
  ClientHelloSpec hello = default_hello();
  uint8_t content_type = test::kContentHandshake;
  uint16_t record_version = test::kDtls10;
  uint16_t epoch = 0;
  uint64_t record_seq = 0;
  HandshakeSpec hs;
  std::optional<Bytes> record_body;  // instead of the handshake message

  CookieKind cookie = CookieKind::kAsGiven;
  std::size_t junk_cookie_len = 0;  // kJunk: this many bytes, starting with the current key id
  std::function<void(ClientHelloSpec&)> edit_hello_after_mint;  // the cookie binds the old one
  std::function<void(UdpFrameSpec&)> edit_udp_after_mint;
  std::function<void(Bytes&)> edit_cookie;
  std::function<void(Bytes&)> edit_body;     // ClientHello body
  std::function<void(Bytes&)> edit_payload;  // UDP payload
  std::function<void(Bytes&)> edit_frame;    // whole frame; checksums refreshed afterwards
  bool keep_checksums = false;               // edit_frame broke a checksum on purpose
  std::function<Bytes()> raw_frame;          // not a UDP frame at all (ARP, ND, ...)
};

void ipv6(Recipe& r) {
  r.udp.src_ip = kClientIpv6;
  r.udp.dst_ip = kOurIpv6;
}
void from_known_flow(Recipe& r) {
  r.udp.src_ip = r.udp.dst_ip == kOurIpv6 ? kKnownIpv6 : kKnownIpv4;
  r.udp.src_port = kKnownPort;
}
void with_cookie(Recipe& r, CookieKind kind = CookieKind::kValid) {
  r.cookie = kind;
  r.hs.message_seq = 1;
  r.record_seq = 1;
}
void junk_cookie(Recipe& r, std::size_t len) {
  with_cookie(r, CookieKind::kJunk);
  r.junk_cookie_len = len;
}
// A record of another content type as an established session would send it (epoch 1).
void session_record(Recipe& r, uint8_t content_type) {
  r.content_type = content_type;
  r.epoch = 1;
  r.record_seq = 7;
  r.record_version = test::kDtls12;
  r.record_body = Bytes(48, 0xab);
}

CookieInput cookie_input(const UdpFrameSpec& udp, const ClientHelloSpec& hello) {
  CookieInput in;
  in.client = endpoint_of(udp.src_ip, udp.src_port);
  in.server = endpoint_of(udp.dst_ip, udp.dst_port);
  in.client_version = hello.client_version;
  in.random = hello.random.data();
  in.session_id = hello.session_id.data();
  in.session_id_len = static_cast<uint8_t>(hello.session_id.size());
  return in;
}

Bytes build(Recipe r) {
  if (r.raw_frame) return r.raw_frame();
  const World& w = world();
  if (r.cookie != CookieKind::kAsGiven && r.cookie != CookieKind::kJunk) {
    const CookieKeyring& ring = r.cookie == CookieKind::kValid           ? w.now
                                : r.cookie == CookieKind::kPreviousEpoch ? w.previous
                                                                         : w.retired;
    r.hello.cookie.assign(kCookieLen, 0);
    mint_cookie(*ring.snapshot(), cookie_input(r.udp, r.hello), r.hello.cookie.data());
  }
  if (r.cookie == CookieKind::kJunk) {
    r.hello.cookie.assign(r.junk_cookie_len, 0x5a);
    if (!r.hello.cookie.empty()) r.hello.cookie[0] = w.keys().keys[0].id;
  }
  if (r.edit_cookie) r.edit_cookie(r.hello.cookie);
  if (r.edit_hello_after_mint) r.edit_hello_after_mint(r.hello);
  if (r.edit_udp_after_mint) r.edit_udp_after_mint(r.udp);
  Bytes fragment;
  if (r.record_body) {
    fragment = *r.record_body;
  } else {
    Bytes body = test::client_hello_body(r.hello);
    if (r.edit_body) r.edit_body(body);
    fragment = test::handshake(r.hs, body);
  }
  Bytes payload =
      test::dtls_record(r.content_type, r.record_version, r.epoch, r.record_seq, fragment);
  if (r.edit_payload) r.edit_payload(payload);
  Bytes frame = test::build_udp_frame(r.udp, payload);
  if (r.edit_frame) {
    r.edit_frame(frame);
    if (!r.keep_checksums) test::refresh_checksums(frame);
  }
  return frame;
}

// Offsets of a frame's layers (the frame's own headers decide).
test::ParsedFrame layers(const Bytes& f) {
  const auto p = test::parse_frame(f);
  EXPECT_TRUE(p.has_value());
  return p.value_or(test::ParsedFrame{});
}

void set_be16(Bytes& b, std::size_t at, uint16_t v) {
  store_be16(&b[at], v);
}
void set_be24(Bytes& b, std::size_t at, uint32_t v) {
  store_be24(&b[at], v);
}

// Cuts the frame to n bytes and makes the IP length say so (the IP layer stays consistent).
std::function<void(Bytes&)> cut_with_ip_length(std::size_t keep_after_l4) {
  return [keep_after_l4](Bytes& f) {
    const test::ParsedFrame p = layers(f);
    f.resize(p.l4 + keep_after_l4);
    if (p.ipv6) {
      set_be16(f, p.l3 + 4, static_cast<uint16_t>(keep_after_l4));
    } else {
      set_be16(f, p.l3 + 2, static_cast<uint16_t>(p.l4 - p.l3 + keep_after_l4));
    }
  };
}

// Inserts an IPv6 extension header of 8 bytes between the fixed header and UDP.
std::function<void(Bytes&)> insert_ipv6_ext_header(uint8_t type) {
  return [type](Bytes& f) {
    const test::ParsedFrame p = layers(f);
    Bytes ext(8, 0);
    ext[0] = 17;                                  // next header: UDP
    if (type == 43) ext[2] = 4;                   // routing type 4 (SRH-like), segments left 0
    if (type == 44) store_be32(&ext[4], 0x1234);  // fragment: offset 0, M=0, id
    f.insert(f.begin() + static_cast<std::ptrdiff_t>(p.l4), ext.begin(), ext.end());
    f[p.l3 + 6] = type;
    set_be16(f, p.l3 + 4, static_cast<uint16_t>(load_be16(&f[p.l3 + 4]) + 8));
  };
}

struct Row {
  std::string name;
  Verdict expected;
  std::function<void(Recipe&)> edit;
};

// gtest prints a parameter on failure: the row's name, not its bytes.
void PrintTo(const Row& r, std::ostream* os) {
  *os << r.name << " -> " << verdict_name(r.expected);
}

Row row(std::string name, Verdict expected, std::function<void(Recipe&)> edit) {
  return {std::move(name), expected, std::move(edit)};
}

Bytes build_row(const Row& r) {
  Recipe recipe;
  if (r.edit) r.edit(recipe);
  return build(recipe);
}

using V = Verdict;

std::vector<Row> spec_rows() {
  std::vector<Row> rows = {
      // ---- Accepted shapes: answered with an HVR ----
      row("ipv4_cookieless_hello", V::kReplyHvr, nullptr),
      row("ipv6_cookieless_hello", V::kReplyHvr, ipv6),
      row("record_version_feff", V::kReplyHvr, [](Recipe& r) { r.record_version = 0xfeff; }),
      row("record_version_fefd", V::kReplyHvr, [](Recipe& r) { r.record_version = 0xfefd; }),
      row("client_version_feff", V::kReplyHvr, [](Recipe& r) { r.hello.client_version = 0xfeff; }),
      row("client_version_fefd", V::kReplyHvr, [](Recipe& r) { r.hello.client_version = 0xfefd; }),
      row("vlan_priority_tag_0", V::kReplyHvr, [](Recipe& r) { r.udp.vlans = {0}; }),
      row("one_vlan_tag", V::kReplyHvr, [](Recipe& r) { r.udp.vlans = {100}; }),
      row("two_vlan_tags", V::kReplyHvr,
          [](Recipe& r) {
            r.udp.vlans = {100, 200};
          }),
      row("two_vlan_tags_ipv6", V::kReplyHvr,
          [](Recipe& r) {
            ipv6(r);
            r.udp.vlans = {100, 200};
          }),
      row("ipv4_with_options", V::kReplyHvr,
          [](Recipe& r) {
            r.edit_frame = [](Bytes& f) {
              const test::ParsedFrame p = layers(f);
              const Bytes router_alert{0x94, 0x04, 0x00, 0x00};
              f.insert(f.begin() + static_cast<std::ptrdiff_t>(p.l4), router_alert.begin(),
                       router_alert.end());
              f[p.l3] = 0x46;
              set_be16(f, p.l3 + 2, static_cast<uint16_t>(load_be16(&f[p.l3 + 2]) + 4));
            };
          }),
      row("ipv4_udp_checksum_zero_means_none", V::kReplyHvr,
          [](Recipe& r) { r.udp.udp_checksum = false; }),
      // A NIC may hand over bytes after the IP datagram (Ethernet padding or trailer): the IP
      // length decides where the datagram ends.
      row("ethernet_trailer_after_ip_datagram", V::kReplyHvr,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { f.resize(f.size() + 4, 0); }; }),
      row("hello_without_extensions_block", V::kReplyHvr,
          [](Recipe& r) { r.hello.extensions.reset(); }),
      // The shortest hello the parser takes (67-byte record) is longer than the HVR (45):
      // every hello that parses can be answered in place (kHvrLen <= kMinClientHelloRecordLen).
      row("smallest_hello_gets_an_hvr", V::kReplyHvr,
          [](Recipe& r) {
            r.hello.extensions.reset();
            r.hello.cipher_suites = {0xc02b};
          }),
      row("session_id_32", V::kReplyHvr, [](Recipe& r) { r.hello.session_id = Bytes(32, 0x77); }),
      row("cookieless_message_seq_1_retransmit", V::kReplyHvr,
          [](Recipe& r) { r.hs.message_seq = 1; }),
      row("record_seq_high_bits_echoed", V::kReplyHvr,
          [](Recipe& r) { r.record_seq = 0xa1b2c3d4e5f6; }),

      // ---- Truncation: the frame ends inside a header ----
      row("empty_frame", V::kDropTruncated,
          [](Recipe& r) { r.raw_frame = [] { return Bytes{}; }; }),
      row("ethernet_header_13_bytes", V::kDropTruncated,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { f.resize(13); }; }),
      row("vlan_tag_cut", V::kDropTruncated,
          [](Recipe& r) {
            r.udp.vlans = {100};
            r.edit_frame = [](Bytes& f) { f.resize(17); };
          }),
      row("ipv4_header_cut_by_one", V::kDropTruncated,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { f.resize(14 + 19); }; }),
      row("ipv4_options_cut", V::kDropTruncated,
          [](Recipe& r) {
            r.edit_frame = [](Bytes& f) {
              f.resize(14 + 23);
              f[14] = 0x46;
            };
          }),
      row("ipv6_header_cut_by_one", V::kDropTruncated,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = [](Bytes& f) { f.resize(14 + 39); };
          }),
      // The frame ends inside the UDP header; the IP length still announces the whole datagram.
      row("udp_header_cut_by_one_ipv4", V::kDropTruncated,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { f.resize(14 + 20 + 7); }; }),
      row("udp_header_cut_by_one_ipv6", V::kDropTruncated,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = [](Bytes& f) { f.resize(14 + 40 + 7); };
          }),
      // The IP datagram is whole and consistent but holds only 7 bytes: too short for the UDP
      // header it carries, which is a UDP length fault (the frame is not cut).
      row("ip_payload_7_bytes_ipv4", V::kDropBadUdpLength,
          [](Recipe& r) { r.edit_frame = cut_with_ip_length(7); }),
      row("ip_payload_7_bytes_ipv6", V::kDropBadUdpLength,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = cut_with_ip_length(7);
          }),
      // The IP header announces one byte more than the frame holds.
      row("ipv4_frame_one_byte_short", V::kDropTruncated,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { f.pop_back(); }; }),
      row("ipv6_frame_one_byte_short", V::kDropTruncated,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = [](Bytes& f) { f.pop_back(); };
          }),
      row("arp_cut_by_one", V::kDropTruncated,
          [](Recipe& r) {
            r.raw_frame = [] {
              Bytes f = test::build_arp_frame({});
              f.pop_back();
              return f;
            };
          }),

      // ---- EtherType ----
      row("three_vlan_tags", V::kDropNotIp,
          [](Recipe& r) {
            r.udp.vlans = {100, 200, 300};
          }),
      row("ethertype_lldp", V::kDropNotIp,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { set_be16(f, 12, 0x88cc); }; }),
      row("ethertype_ipx", V::kDropNotIp,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { set_be16(f, 12, 0x8137); }; }),

      // ---- IPv4 header ----
      row("ipv4_version_6", V::kDropBadIpHeader,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { f[14] = 0x65; }; }),
      row("ipv4_ihl_4", V::kDropBadIpHeader,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { f[14] = 0x44; }; }),
      row("ipv4_ihl_0", V::kDropBadIpHeader,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { f[14] = 0x40; }; }),
      row("ipv4_total_length_below_header", V::kDropBadIpHeader,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { set_be16(f, 16, 19); }; }),
      row("ipv4_bad_header_checksum", V::kDropBadIpHeader,
          [](Recipe& r) {
            r.keep_checksums = true;
            r.edit_frame = [](Bytes& f) { f[14 + 10] ^= 0x01; };
          }),
      row("ipv4_more_fragments", V::kDropIpFragment,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { set_be16(f, 14 + 6, 0x2000); }; }),
      row("ipv4_fragment_offset_1", V::kDropIpFragment,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { set_be16(f, 14 + 6, 0x0001); }; }),
      row("ipv4_last_fragment", V::kDropIpFragment,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { set_be16(f, 14 + 6, 0x00b9); }; }),
      row("ipv4_protocol_tcp", V::kDropNotUdp,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { f[14 + 9] = 6; }; }),
      row("ipv4_protocol_icmp", V::kDropNotUdp,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { f[14 + 9] = 1; }; }),

      // ---- IPv6 header ----
      row("ipv6_version_4", V::kDropBadIpHeader,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = [](Bytes& f) { f[14] = 0x40; };
          }),
      row("ipv6_hop_by_hop_header", V::kDropIpv6ExtHeader,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = insert_ipv6_ext_header(0);
          }),
      row("ipv6_routing_header", V::kDropIpv6ExtHeader,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = insert_ipv6_ext_header(43);
          }),
      row("ipv6_fragment_header", V::kDropIpv6ExtHeader,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = insert_ipv6_ext_header(44);
          }),
      row("ipv6_destination_options_header", V::kDropIpv6ExtHeader,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = insert_ipv6_ext_header(60);
          }),
      row("ipv6_next_header_tcp", V::kDropNotUdp,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = [](Bytes& f) { f[14 + 6] = 6; };
          }),

      // ---- Addressing ----
      row("ipv4_other_destination", V::kDropNotForUs,
          [](Recipe& r) { r.udp.dst_ip = "192.0.2.2"; }),
      row("ipv4_broadcast_destination", V::kDropNotForUs,
          [](Recipe& r) { r.udp.dst_ip = "255.255.255.255"; }),
      row("ipv6_other_destination", V::kDropNotForUs,
          [](Recipe& r) {
            ipv6(r);
            r.udp.dst_ip = "2001:db8::2";
          }),
      row("other_destination_port", V::kDropNotForUs, [](Recipe& r) { r.udp.dst_port = 4434; }),
      row("ipv6_other_destination_port", V::kDropNotForUs,
          [](Recipe& r) {
            ipv6(r);
            r.udp.dst_port = 443;
          }),

      // ---- UDP header ----
      row("udp_length_below_8", V::kDropBadUdpLength,
          [](Recipe& r) { r.edit_frame = [](Bytes& f) { set_be16(f, 14 + 20 + 4, 7); }; }),
      row("udp_length_one_short", V::kDropBadUdpLength,
          [](Recipe& r) {
            r.edit_frame = [](Bytes& f) {
              set_be16(f, 14 + 20 + 4, static_cast<uint16_t>(load_be16(&f[14 + 24]) - 1));
            };
          }),
      row("udp_length_one_long", V::kDropBadUdpLength,
          [](Recipe& r) {
            r.edit_frame = [](Bytes& f) {
              set_be16(f, 14 + 20 + 4, static_cast<uint16_t>(load_be16(&f[14 + 24]) + 1));
            };
          }),
      row("ipv6_udp_length_one_short", V::kDropBadUdpLength,
          [](Recipe& r) {
            ipv6(r);
            r.edit_frame = [](Bytes& f) {
              set_be16(f, 14 + 40 + 4, static_cast<uint16_t>(load_be16(&f[14 + 44]) - 1));
            };
          }),
      // IP says the datagram ends one byte before the frame does, UDP disagrees with IP.
      row("ipv4_total_length_one_short", V::kDropBadUdpLength,
          [](Recipe& r) {
            r.edit_frame = [](Bytes& f) {
              set_be16(f, 14 + 2, static_cast<uint16_t>(load_be16(&f[14 + 2]) - 1));
            };
          }),
      row("ipv4_bad_udp_checksum", V::kDropBadUdpChecksum,
          [](Recipe& r) {
            r.keep_checksums = true;
            r.edit_frame = [](Bytes& f) { f[14 + 20 + 6] ^= 0x40; };
          }),
      row("ipv4_payload_byte_flipped", V::kDropBadUdpChecksum,
          [](Recipe& r) {
            r.keep_checksums = true;
            r.edit_frame = [](Bytes& f) { f[14 + 28 + kBody + 5] ^= 0x01; };
          }),
      row("ipv6_bad_udp_checksum", V::kDropBadUdpChecksum,
          [](Recipe& r) {
            ipv6(r);
            r.keep_checksums = true;
            r.edit_frame = [](Bytes& f) { f[14 + 40 + 7] ^= 0x01; };
          }),
      // RFC 8200 8.1: a zero UDP checksum over IPv6 must be discarded.
      row("ipv6_udp_checksum_zero", V::kDropBadUdpChecksum,
          [](Recipe& r) {
            ipv6(r);
            r.keep_checksums = true;
            r.edit_frame = [](Bytes& f) { set_be16(f, 14 + 40 + 6, 0); };
          }),

      // ---- DTLS record header ----
      row("udp_payload_empty", V::kDropRecordShort,
          [](Recipe& r) { r.edit_payload = [](Bytes& p) { p.clear(); }; }),
      row("record_12_bytes", V::kDropRecordShort,
          [](Recipe& r) { r.edit_payload = [](Bytes& p) { p.resize(12); }; }),
      // Short enough for the NIC to pad the frame to 60 bytes: the padding is not the record.
      row("record_12_bytes_with_ethernet_padding", V::kDropRecordShort,
          [](Recipe& r) {
            r.edit_payload = [](Bytes& p) { p.resize(12); };
            r.edit_frame = [](Bytes& f) { f.resize(std::max<std::size_t>(f.size(), 60), 0); };
          }),
      row("content_type_change_cipher_spec", V::kDropNotHandshake,
          [](Recipe& r) { r.content_type = 20; }),
      row("content_type_alert", V::kDropNotHandshake, [](Recipe& r) { r.content_type = 21; }),
      row("content_type_application_data", V::kDropNotHandshake,
          [](Recipe& r) { r.content_type = 23; }),
      row("content_type_0", V::kDropNotHandshake, [](Recipe& r) { r.content_type = 0; }),
      row("record_major_version_03", V::kDropBadVersion,
          [](Recipe& r) { r.record_version = 0x0303; }),
      row("record_major_version_fd", V::kDropBadVersion,
          [](Recipe& r) { r.record_version = 0xfdfd; }),
      row("client_version_major_03", V::kDropBadVersion,
          [](Recipe& r) { r.hello.client_version = 0x0303; }),
      row("epoch_1", V::kDropNonzeroEpoch, [](Recipe& r) { r.epoch = 1; }),
      row("epoch_8000", V::kDropNonzeroEpoch, [](Recipe& r) { r.epoch = 0x8000; }),
      row("record_length_one_past_datagram", V::kDropRecordLength,
          [](Recipe& r) {
            r.edit_payload = [](Bytes& p) {
              set_be16(p, 11, static_cast<uint16_t>(p.size() - 13 + 1));
            };
          }),
      row("record_length_ffff", V::kDropRecordLength,
          [](Recipe& r) { r.edit_payload = [](Bytes& p) { set_be16(p, 11, 0xffff); }; }),
      // Bytes after the ClientHello record: OpenSSL's listen ignores them (a second record
      // may follow in the datagram), so the fast path answers the first record.
      row("one_byte_after_record", V::kReplyHvr,
          [](Recipe& r) { r.edit_payload = [](Bytes& p) { p.push_back(0); }; }),
      row("second_record_after_hello", V::kReplyHvr,
          [](Recipe& r) {
            r.edit_payload = [](Bytes& p) {
              const Bytes second = test::dtls_record(21, 0xfeff, 0, 1, Bytes{1, 0});
              p.insert(p.end(), second.begin(), second.end());
            };
          }),

      // ---- Handshake header ----
      row("handshake_hello_request", V::kDropNotClientHello, [](Recipe& r) { r.hs.msg_type = 0; }),
      row("handshake_server_hello", V::kDropNotClientHello, [](Recipe& r) { r.hs.msg_type = 2; }),
      row("handshake_hello_verify_request", V::kDropNotClientHello,
          [](Recipe& r) { r.hs.msg_type = 3; }),
      row("handshake_client_key_exchange", V::kDropNotClientHello,
          [](Recipe& r) { r.hs.msg_type = 16; }),
      // Fewer than 12 bytes in the record: not even a handshake header.
      row("record_body_shorter_than_handshake_header", V::kDropBadHandshakeLength,
          [](Recipe& r) { r.record_body = Bytes{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; }),
      row("fragment_offset_1", V::kDropFragmentedHello,
          [](Recipe& r) { r.hs.fragment_offset = 1; }),
      row("fragment_length_above_message_length", V::kDropBadHandshakeLength,
          [](Recipe& r) {
            r.edit_payload = [](Bytes& p) {
              set_be24(p, kHandshake + 1, load_be24(&p[kHandshake + 9]) - 1);
            };
          }),
      // The first fragment of a longer ClientHello: OpenSSL's listen would look only at this
      // fragment; the fast path cannot check the rest of the body, so it drops it.
      row("partial_hello_first_fragment", V::kDropFragmentedHello,
          [](Recipe& r) {
            r.edit_payload = [](Bytes& p) {
              set_be24(p, kHandshake + 1, load_be24(&p[kHandshake + 9]) + 100);
            };
          }),
      // message and fragment length agree with each other but not with the record.
      row("handshake_lengths_one_past_record", V::kDropBadHandshakeLength,
          [](Recipe& r) {
            r.edit_payload = [](Bytes& p) {
              const uint32_t n = load_be24(&p[kHandshake + 9]) + 1;
              set_be24(p, kHandshake + 1, n);
              set_be24(p, kHandshake + 9, n);
            };
          }),
      // The record holds a byte after the handshake fragment: OpenSSL's length mismatch.
      row("handshake_lengths_one_short_of_record", V::kDropTrailingBytes,
          [](Recipe& r) {
            r.edit_payload = [](Bytes& p) {
              const uint32_t n = load_be24(&p[kHandshake + 9]) - 1;
              set_be24(p, kHandshake + 1, n);
              set_be24(p, kHandshake + 9, n);
            };
          }),
      row("cookieless_message_seq_3", V::kDropHelloSeq, [](Recipe& r) { r.hs.message_seq = 3; }),

      // ---- ClientHello body ----
      row("session_id_33", V::kDropMalformedHello,
          [](Recipe& r) { r.hello.session_id = Bytes(33, 0x77); }),
      row("cipher_suites_odd_length", V::kDropMalformedHello,
          [](Recipe& r) {
            r.edit_body = [](Bytes& b) {
              // session_id empty, cookie empty: the suites length is at 36.
              set_be16(b, 36, static_cast<uint16_t>(load_be16(&b[36]) - 1));
            };
          }),
      row("cipher_suites_empty", V::kDropMalformedHello,
          [](Recipe& r) { r.hello.cipher_suites.clear(); }),
      row("cipher_suites_past_the_end", V::kDropMalformedHello,
          [](Recipe& r) { r.edit_body = [](Bytes& b) { set_be16(b, 36, 0xfffe); }; }),
      row("compression_methods_empty", V::kDropMalformedHello,
          [](Recipe& r) { r.hello.compression_methods.clear(); }),
      row("compression_methods_past_the_end", V::kDropMalformedHello,
          [](Recipe& r) {
            r.hello.extensions.reset();
            r.edit_body = [](Bytes& b) {
              b.back() = 0;
              b[b.size() - 2] = 2;
            };
          }),
      row("extensions_block_length_one_long", V::kDropMalformedHello,
          [](Recipe& r) {
            r.edit_body = [](Bytes& b) {
              const std::size_t at = b.size() - default_hello().extensions->size() - 2;
              set_be16(b, at, static_cast<uint16_t>(load_be16(&b[at]) + 1));
            };
          }),
      row("extensions_block_length_one_short", V::kDropMalformedHello,
          [](Recipe& r) {
            r.edit_body = [](Bytes& b) {
              const std::size_t at = b.size() - default_hello().extensions->size() - 2;
              set_be16(b, at, static_cast<uint16_t>(load_be16(&b[at]) - 1));
            };
          }),
      // Inside a well-framed block the extensions are OpenSSL's to judge, after the cookie
      // exchange (DTLSv1_listen does not read them either): these get an HVR, and SSL_accept
      // refuses them if they come back with a cookie.
      row("extension_runs_past_the_end", V::kReplyHvr,
          [](Recipe& r) {
            // The last extension (signature_algorithms, 6 data bytes) claims 7.
            r.edit_body = [](Bytes& b) { set_be16(b, b.size() - 8, 7); };
          }),
      row("extensions_block_half_an_extension_header", V::kReplyHvr,
          [](Recipe& r) {
            r.hello.extensions = Bytes{0x00, 0x0b};
          }),
      row("hello_body_ends_inside_random", V::kDropMalformedHello,
          [](Recipe& r) { r.edit_body = [](Bytes& b) { b.resize(20); }; }),

      // ---- Cookies ----
      row("valid_cookie_seq_1", V::kPassVerified, [](Recipe& r) { with_cookie(r); }),
      row("valid_cookie_seq_1_ipv6", V::kPassVerified,
          [](Recipe& r) {
            ipv6(r);
            with_cookie(r);
          }),
      row("valid_cookie_record_fefd", V::kPassVerified,
          [](Recipe& r) {
            with_cookie(r);
            r.record_version = test::kDtls12;
          }),
      row("valid_cookie_with_session_id", V::kPassVerified,
          [](Recipe& r) {
            r.hello.session_id = Bytes(32, 0x42);
            with_cookie(r);
          }),
      row("valid_cookie_seq_0", V::kDropHelloSeq,
          [](Recipe& r) {
            with_cookie(r);
            r.hs.message_seq = 0;
          }),
      row("valid_cookie_seq_2", V::kDropHelloSeq,
          [](Recipe& r) {
            with_cookie(r);
            r.hs.message_seq = 2;
          }),
      row("cookie_of_previous_epoch", V::kPassVerified,
          [](Recipe& r) { with_cookie(r, CookieKind::kPreviousEpoch); }),
      row("cookie_of_retired_epoch", V::kDropExpiredCookie,
          [](Recipe& r) { with_cookie(r, CookieKind::kRetiredEpoch); }),
      row("cookie_tag_byte_flipped", V::kDropBadCookie,
          [](Recipe& r) {
            with_cookie(r);
            r.edit_cookie = [](Bytes& c) { c[9] ^= 0x01; };
          }),
      row("cookie_from_other_source_address", V::kDropBadCookie,
          [](Recipe& r) {
            with_cookie(r);
            r.edit_udp_after_mint = [](UdpFrameSpec& u) { u.src_ip = "192.0.2.11"; };
          }),
      row("cookie_from_other_source_port", V::kDropBadCookie,
          [](Recipe& r) {
            with_cookie(r);
            r.edit_udp_after_mint = [](UdpFrameSpec& u) { u.src_port = 50001; };
          }),
      row("cookie_ipv6_from_other_source_address", V::kDropBadCookie,
          [](Recipe& r) {
            ipv6(r);
            with_cookie(r);
            r.edit_udp_after_mint = [](UdpFrameSpec& u) { u.src_ip = "2001:db8::11"; };
          }),
      row("cookie_with_other_random", V::kDropBadCookie,
          [](Recipe& r) {
            with_cookie(r);
            r.edit_hello_after_mint = [](ClientHelloSpec& h) { h.random[31] ^= 1; };
          }),
      row("cookie_with_other_client_version", V::kDropBadCookie,
          [](Recipe& r) {
            with_cookie(r);
            r.edit_hello_after_mint = [](ClientHelloSpec& h) { h.client_version = 0xfeff; };
          }),
      row("cookie_with_other_session_id", V::kDropBadCookie,
          [](Recipe& r) {
            with_cookie(r);
            r.edit_hello_after_mint = [](ClientHelloSpec& h) { h.session_id = Bytes{1}; };
          }),
      row("cookie_length_16", V::kDropBadCookie, [](Recipe& r) { junk_cookie(r, 16); }),
      row("cookie_length_17_junk", V::kDropBadCookie, [](Recipe& r) { junk_cookie(r, 17); }),
      row("cookie_length_17_valid_cut_to_16", V::kDropBadCookie,
          [](Recipe& r) {
            with_cookie(r);
            r.edit_cookie = [](Bytes& c) { c.pop_back(); };
          }),
      row("cookie_length_18_valid_plus_a_byte", V::kDropBadCookie,
          [](Recipe& r) {
            with_cookie(r);
            r.edit_cookie = [](Bytes& c) { c.push_back(0); };
          }),
      row("cookie_length_32", V::kDropBadCookie, [](Recipe& r) { junk_cookie(r, 32); }),
      row("cookie_length_33", V::kDropBadCookie, [](Recipe& r) { junk_cookie(r, 33); }),
      row("cookie_length_255", V::kDropBadCookie, [](Recipe& r) { junk_cookie(r, 255); }),
      row("cookie_length_255_past_the_end", V::kDropMalformedHello,
          [](Recipe& r) {
            with_cookie(r);
            r.hello.extensions.reset();
            r.hello.cipher_suites = {0xc02b};
            r.edit_body = [](Bytes& b) { b[35] = 255; };
          }),

      // ---- Established sessions (5-tuple in the flow table) ----
      row("known_flow_change_cipher_spec", V::kPassFlow,
          [](Recipe& r) {
            from_known_flow(r);
            session_record(r, 20);
          }),
      row("known_flow_alert", V::kPassFlow,
          [](Recipe& r) {
            from_known_flow(r);
            session_record(r, 21);
          }),
      row("known_flow_application_data", V::kPassFlow,
          [](Recipe& r) {
            from_known_flow(r);
            session_record(r, 23);
          }),
      row("known_flow_application_data_ipv6", V::kPassFlow,
          [](Recipe& r) {
            ipv6(r);
            from_known_flow(r);
            session_record(r, 23);
          }),
      row("known_flow_handshake_epoch_1", V::kPassFlow,
          [](Recipe& r) {
            from_known_flow(r);
            session_record(r, 22);
          }),
      // RFC 9146 tls12_cid: the connection ID sits between the sequence number and the
      // length, so the plain record length rule must not be applied to it.
      row("known_flow_connection_id_record", V::kPassFlow,
          [](Recipe& r) {
            from_known_flow(r);
            session_record(r, 25);
            r.edit_payload = [](Bytes& p) {
              const Bytes cid{0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};
              p.insert(p.begin() + 11, cid.begin(), cid.end());
            };
          }),
      row("unknown_flow_change_cipher_spec", V::kDropNotHandshake,
          [](Recipe& r) { session_record(r, 20); }),
      row("unknown_flow_alert", V::kDropNotHandshake, [](Recipe& r) { session_record(r, 21); }),
      row("unknown_flow_application_data", V::kDropNotHandshake,
          [](Recipe& r) { session_record(r, 23); }),
      row("unknown_flow_application_data_ipv6", V::kDropNotHandshake,
          [](Recipe& r) {
            ipv6(r);
            session_record(r, 23);
          }),
      row("unknown_flow_handshake_epoch_1", V::kDropNonzeroEpoch,
          [](Recipe& r) { session_record(r, 22); }),
      row("unknown_flow_connection_id_record", V::kDropNotHandshake,
          [](Recipe& r) {
            session_record(r, 25);
            r.edit_payload = [](Bytes& p) {
              const Bytes cid{0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};
              p.insert(p.begin() + 11, cid.begin(), cid.end());
            };
          }),
      // Known client address and port, but another server port: not that session.
      row("known_client_to_other_port", V::kDropNotForUs,
          [](Recipe& r) {
            from_known_flow(r);
            session_record(r, 23);
            r.udp.dst_port = 4434;
          }),
      row("known_flow_bad_udp_checksum", V::kDropBadUdpChecksum,
          [](Recipe& r) {
            from_known_flow(r);
            session_record(r, 23);
            r.keep_checksums = true;
            r.edit_frame = [](Bytes& f) { f[f.size() - 1] ^= 0x01; };
          }),

      // ---- ARP and IPv6 neighbour discovery for our addresses ----
      row("arp_request_for_us", V::kReplyArp,
          [](Recipe& r) { r.raw_frame = [] { return test::build_arp_frame({}); }; }),
      row("arp_request_for_us_padded_to_60", V::kReplyArp,
          [](Recipe& r) {
            r.raw_frame = [] {
              test::ArpSpec a;
              a.pad_to_60 = true;
              return test::build_arp_frame(a);
            };
          }),
      row("arp_request_for_us_vlan", V::kReplyArp,
          [](Recipe& r) {
            r.raw_frame = [] {
              test::ArpSpec a;
              a.vlans = {100};
              return test::build_arp_frame(a);
            };
          }),
      row("arp_request_for_other_address", V::kDropNotForUs,
          [](Recipe& r) {
            r.raw_frame = [] {
              test::ArpSpec a;
              a.target_ip = "192.0.2.2";
              return test::build_arp_frame(a);
            };
          }),
      row("ns_for_us", V::kReplyNd,
          [](Recipe& r) { r.raw_frame = [] { return test::build_neighbour_solicitation({}); }; }),
      row("ns_for_us_vlan", V::kReplyNd,
          [](Recipe& r) {
            r.raw_frame = [] {
              test::NeighbourSolicitationSpec ns;
              ns.vlans = {100};
              return test::build_neighbour_solicitation(ns);
            };
          }),
      // As an ARP request for another address: a valid solicitation, not for us.
      row("ns_for_other_address", V::kDropNotForUs,
          [](Recipe& r) {
            r.raw_frame = [] {
              test::NeighbourSolicitationSpec ns;
              ns.target_ip = "2001:db8::2";
              return test::build_neighbour_solicitation(ns);
            };
          }),
      // RFC 4861 7.1.1: a solicitation whose hop limit is not 255 came through a router.
      row("ns_hop_limit_64", V::kDropNotUdp,
          [](Recipe& r) {
            r.raw_frame = [] {
              test::NeighbourSolicitationSpec ns;
              ns.hop_limit = 64;
              return test::build_neighbour_solicitation(ns);
            };
          }),
      // RFC 4861 7.1.1: the ICMP checksum must be valid.
      row("ns_bad_icmpv6_checksum", V::kDropNotUdp,
          [](Recipe& r) {
            r.raw_frame = [] {
              Bytes f = test::build_neighbour_solicitation({});
              f[14 + 40 + 2] ^= 0x01;
              return f;
            };
          }),
      row("icmpv6_echo_request", V::kDropNotUdp,
          [](Recipe& r) {
            r.raw_frame = [] {
              Bytes f = test::build_neighbour_solicitation({});
              f[14 + 40] = 128;
              test::refresh_checksums(f);
              return f;
            };
          }),
  };
  return rows;
}

bool is_reply(Verdict v) {
  return v == Verdict::kReplyHvr || v == Verdict::kReplyArp || v == Verdict::kReplyNd;
}

struct Outcome {
  Verdict verdict;
  Bytes frame;  // after classification, resized to frame.len
  PassInfo pass;
};

// One classifier's answer for a copy of the frame: exactly its bytes in a buffer of their
// own, so ASan sees any read past its end.
Outcome classify_with(const Classifier& classifier, const Bytes& input, const CookieKeySet& keys,
                      RxChecksums rx) {
  std::vector<uint8_t> buffer(input);
  FrameRef ref{buffer.data(), static_cast<uint16_t>(buffer.size()),
               static_cast<uint16_t>(buffer.size()), rx};
  Outcome out{};
  out.verdict = classifier.classify(keys, ref, &out.pass);
  EXPECT_LE(ref.len, input.size()) << "a reply is never longer than its request";
  out.frame.assign(buffer.data(), buffer.data() + std::min<std::size_t>(ref.len, buffer.size()));
  return out;
}

Outcome classify(const Bytes& input, const CookieKeySet* keys = nullptr, RxChecksums rx = {}) {
  const World& w = world();
  const CookieKeySet& k = keys ? *keys : w.keys();
  const Outcome out = classify_with(*w.classifier, input, k, rx);
  // Header prediction only saves instructions: without it, the same verdict, bytes and pass.
  const Outcome walked = classify_with(*w.unpredicted, input, k, rx);
  EXPECT_EQ(verdict_name(walked.verdict), verdict_name(out.verdict)) << "without prediction";
  EXPECT_EQ(walked.frame, out.frame) << "without prediction";
  EXPECT_TRUE(walked.pass.flow == out.pass.flow) << "without prediction";
  EXPECT_EQ(walked.pass.payload_offset, out.pass.payload_offset) << "without prediction";
  EXPECT_EQ(walked.pass.payload_len, out.pass.payload_len) << "without prediction";
  return out;
}

// RX checksum offload: a sum the NIC marked good is not redone (the frames below carry broken
// sums that a NIC would have flagged bad: they pass only to show the software sum was
// skipped); a sum it left unmarked is still verified, and IPv6's mandatory checksum is still
// required to be present.
TEST(ClassifierRxChecksums, SumsTheNicMarkedGoodAreNotRedone) {
  struct Case {
    std::string name;
    std::function<void(Recipe&)> edit;
    RxChecksums rx;
    Verdict expected;
  };
  auto bad_udp_sum = [](Recipe& r) {
    r.keep_checksums = true;
    r.edit_frame = [](Bytes& f) { f[14 + 20 + 6] ^= 0x40; };
  };
  auto bad_ip_sum = [](Recipe& r) {
    r.keep_checksums = true;
    r.edit_frame = [](Bytes& f) { f[14 + 10] ^= 0x01; };
  };
  auto ipv6_zero_udp_sum = [](Recipe& r) {
    ipv6(r);
    r.keep_checksums = true;
    r.edit_frame = [](Bytes& f) { set_be16(f, 14 + 40 + 6, 0); };
  };
  const Case cases[] = {
      {"valid_frame_both_marked", nullptr, {true, true}, V::kReplyHvr},
      {"bad_udp_sum_marked_good", bad_udp_sum, {false, true}, V::kReplyHvr},
      {"bad_udp_sum_only_ip_marked", bad_udp_sum, {true, false}, V::kDropBadUdpChecksum},
      {"bad_ip_sum_marked_good", bad_ip_sum, {true, false}, V::kReplyHvr},
      {"bad_ip_sum_only_udp_marked", bad_ip_sum, {false, true}, V::kDropBadIpHeader},
      {"ipv6_zero_udp_sum_marked_good", ipv6_zero_udp_sum, {true, true}, V::kDropBadUdpChecksum},
  };
  for (const Case& c : cases) {
    Recipe recipe;
    if (c.edit) c.edit(recipe);
    EXPECT_EQ(verdict_name(classify(build(recipe), nullptr, c.rx).verdict),
              verdict_name(c.expected))
        << c.name;
  }
}

class ClassifierSpec : public testing::TestWithParam<Row> {};

TEST_P(ClassifierSpec, Verdict) {
  const Row& r = GetParam();
  const Bytes frame = build_row(r);
  const Outcome out = classify(frame);
  EXPECT_EQ(verdict_name(out.verdict), verdict_name(r.expected));
  if (!is_reply(out.verdict)) {
    EXPECT_EQ(out.frame, frame) << "only replies may change the frame";
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, ClassifierSpec, testing::ValuesIn(spec_rows()),
                         [](const testing::TestParamInfo<Row>& info) { return info.param.name; });

TEST(ClassifierSpecTable, NamesAreUnique) {
  std::map<std::string, int> seen;
  for (const Row& r : spec_rows()) EXPECT_EQ(++seen[r.name], 1) << r.name;
}

// ---- Every value of a byte that has one accepted value ----

TEST(ClassifierExhaustive, EveryContentTypeButHandshakeFromUnknownSource) {
  for (int type = 0; type < 256; ++type) {
    if (type == test::kContentHandshake) continue;
    Recipe r;
    r.content_type = static_cast<uint8_t>(type);
    EXPECT_EQ(verdict_name(classify(build(r)).verdict), verdict_name(Verdict::kDropNotHandshake))
        << "content type " << type;
  }
}

TEST(ClassifierExhaustive, EveryHandshakeTypeButClientHello) {
  for (int type = 0; type < 256; ++type) {
    if (type == test::kClientHello) continue;
    Recipe r;
    r.hs.msg_type = static_cast<uint8_t>(type);
    EXPECT_EQ(verdict_name(classify(build(r)).verdict), verdict_name(Verdict::kDropNotClientHello))
        << "handshake type " << type;
  }
}

TEST(ClassifierExhaustive, EveryRecordMajorVersionButFE) {
  for (int major = 0; major < 256; ++major) {
    if (major == 0xfe) continue;
    Recipe r;
    r.record_version = static_cast<uint16_t>(major << 8 | 0xfd);
    EXPECT_EQ(verdict_name(classify(build(r)).verdict), verdict_name(Verdict::kDropBadVersion))
        << "record major version " << major;
  }
}

TEST(ClassifierExhaustive, EveryUdpPayloadLengthBelowARecordHeader) {
  for (std::size_t n = 0; n < 13; ++n) {
    Recipe r;
    r.edit_payload = [n](Bytes& p) { p.resize(n); };
    EXPECT_EQ(verdict_name(classify(build(r)).verdict), verdict_name(Verdict::kDropRecordShort))
        << n << " bytes";
  }
}

TEST(ClassifierExhaustive, EveryTruncationOfAValidFrameIsDropped) {
  // Cutting a valid ClientHello frame anywhere, IPv4 and IPv6, never yields an HVR nor reads
  // past the cut (ASan would say so: each cut is a buffer of its own).
  for (bool v6 : {false, true}) {
    Recipe r;
    if (v6) ipv6(r);
    const Bytes frame = build(r);
    for (std::size_t n = 0; n < frame.size(); ++n) {
      const Bytes cut(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_TRUE(is_drop(classify(cut).verdict)) << (v6 ? "IPv6" : "IPv4") << " cut at " << n;
    }
  }
}

// ---- The HVR reply, byte by byte ----

// Checks reply against DESIGN.md's HVR layout and the swapped headers of request; returns the
// cookie it carries.
Bytes expect_hvr_reply(const Bytes& request, const Bytes& reply) {
  const test::ParsedFrame q = layers(request);
  const test::ParsedFrame p = layers(reply);
  EXPECT_LE(reply.size(), request.size());
  // Ethernet: MACs swapped, VLAN tags and EtherType kept.
  EXPECT_TRUE(std::equal(reply.begin(), reply.begin() + 6, request.begin() + 6)) << "dst MAC";
  EXPECT_TRUE(std::equal(reply.begin() + 6, reply.begin() + 12, request.begin())) << "src MAC";
  EXPECT_EQ(p.vlan_count, q.vlan_count);
  EXPECT_TRUE(std::equal(reply.begin() + 12, reply.begin() + static_cast<std::ptrdiff_t>(p.l3),
                         request.begin() + 12))
      << "VLAN tags and EtherType";
  EXPECT_EQ(p.ipv6, q.ipv6);
  EXPECT_EQ(p.protocol, 17);
  const std::size_t udp_len = reply.size() - p.l4;
  if (p.ipv6) {
    EXPECT_EQ(reply[p.l3] >> 4, 6);
    EXPECT_EQ(load_be16(&reply[p.l3 + 4]), udp_len) << "IPv6 payload length";
    EXPECT_GT(reply[p.l3 + 7], 0) << "hop limit";
    EXPECT_TRUE(std::equal(&reply[p.l3 + 8], &reply[p.l3 + 24], &request[q.l3 + 24])) << "src";
    EXPECT_TRUE(std::equal(&reply[p.l3 + 24], &reply[p.l3 + 40], &request[q.l3 + 8])) << "dst";
  } else {
    EXPECT_EQ(reply[p.l3] >> 4, 4);
    EXPECT_EQ(load_be16(&reply[p.l3 + 2]), reply.size() - p.l3) << "IPv4 total length";
    EXPECT_TRUE(ipv4_header_valid(&reply[p.l3], p.l4 - p.l3)) << "IPv4 header checksum";
    EXPECT_EQ(load_be16(&reply[p.l3 + 6]) & 0x3fff, 0) << "a reply is not a fragment";
    EXPECT_GT(reply[p.l3 + 8], 0) << "TTL";
    EXPECT_TRUE(std::equal(&reply[p.l3 + 12], &reply[p.l3 + 16], &request[q.l3 + 16])) << "src";
    EXPECT_TRUE(std::equal(&reply[p.l3 + 16], &reply[p.l3 + 20], &request[q.l3 + 12])) << "dst";
  }
  // UDP: ports swapped, length, checksum (over IPv4 a zero one would also be legal, but only
  // if the request had none: we expect a computed one otherwise).
  const uint8_t* udp = &reply[p.l4];
  EXPECT_EQ(load_be16(udp), load_be16(&request[q.l4 + 2])) << "src port";
  EXPECT_EQ(load_be16(udp + 2), load_be16(&request[q.l4])) << "dst port";
  EXPECT_EQ(load_be16(udp + 4), udp_len) << "UDP length";
  const bool request_had_udp_checksum = p.ipv6 || load_be16(&request[q.l4 + 6]) != 0;
  if (request_had_udp_checksum || load_be16(udp + 6) != 0) {
    EXPECT_NE(load_be16(udp + 6), 0);
    EXPECT_TRUE(p.ipv6
                    ? udp_checksum_valid_ipv6(&reply[p.l3 + 8], &reply[p.l3 + 24], udp, udp_len)
                    : udp_checksum_valid_ipv4(&reply[p.l3 + 12], &reply[p.l3 + 16], udp, udp_len))
        << "UDP checksum";
  }
  // The HVR record (DESIGN.md layout).
  std::string why;
  const std::span<const uint8_t> payload(udp + 8, udp_len - 8);
  const std::optional<test::HvrView> h = test::parse_hvr(payload, &why);
  EXPECT_TRUE(h.has_value()) << why;
  if (!h) return {};
  const uint8_t* request_record = &request[q.l4 + 8];
  EXPECT_EQ(h->record_version, 0xfeff);
  EXPECT_EQ(h->epoch, 0);
  EXPECT_EQ(h->record_seq, load_be48(request_record + 5)) << "record sequence echoed";
  EXPECT_EQ(h->record_length, 15 + kCookieLen);
  EXPECT_EQ(h->message_length, 3 + kCookieLen);
  EXPECT_EQ(h->message_seq, 0);
  EXPECT_EQ(h->server_version, 0xfeff);
  EXPECT_EQ(h->cookie.size(), kCookieLen);
  EXPECT_EQ(payload.size(), 28 + kCookieLen);
  return h->cookie;
}

struct HvrCase {
  std::string name;
  std::function<void(Recipe&)> edit;
};

void PrintTo(const HvrCase& c, std::ostream* os) {
  *os << c.name;
}

class HvrReply : public testing::TestWithParam<HvrCase> {};

TEST_P(HvrReply, MatchesTheLayoutAndItsCookieIsThenAccepted) {
  Recipe r;
  if (GetParam().edit) GetParam().edit(r);
  const Bytes request = build(r);
  const Outcome out = classify(request);
  ASSERT_EQ(verdict_name(out.verdict), verdict_name(Verdict::kReplyHvr));
  const Bytes cookie = expect_hvr_reply(request, out.frame);
  ASSERT_EQ(cookie.size(), kCookieLen);
  EXPECT_EQ(cookie[0], world().keys().keys[0].id) << "minted under the current key";

  // The client resends the same ClientHello with the cookie, message_seq 1, next record.
  Recipe second = r;
  second.hello.cookie = cookie;
  second.hs.message_seq = 1;
  second.record_seq = r.record_seq + 1;
  const Bytes hello2 = build(second);
  const Outcome verified = classify(hello2);
  EXPECT_EQ(verdict_name(verified.verdict), verdict_name(Verdict::kPassVerified));
  EXPECT_EQ(verified.frame, hello2);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, HvrReply,
    testing::Values(
        HvrCase{"ipv4", nullptr}, HvrCase{"ipv6", ipv6},
        HvrCase{"ipv4_two_vlans",
                [](Recipe& r) {
                  r.udp.vlans = {100, 200};
                }},
        HvrCase{"ipv6_one_vlan",
                [](Recipe& r) {
                  ipv6(r);
                  r.udp.vlans = {7};
                }},
        HvrCase{"ipv4_no_udp_checksum", [](Recipe& r) { r.udp.udp_checksum = false; }},
        HvrCase{"record_fefd_session_id",
                [](Recipe& r) {
                  r.record_version = test::kDtls12;
                  r.hello.session_id = Bytes(32, 9);
                }},
        HvrCase{"record_seq_echoed", [](Recipe& r) { r.record_seq = 0x0000a1b2c3d4e5f6; }},
        HvrCase{"other_port_and_ttl",
                [](Recipe& r) {
                  r.udp.src_port = 1;
                  r.udp.ttl = 1;
                }},
        HvrCase{"ipv4_with_options",
                [](Recipe& r) {
                  r.edit_frame = [](Bytes& f) {
                    const Bytes nops{0x01, 0x01, 0x01, 0x00};
                    f.insert(f.begin() + 34, nops.begin(), nops.end());
                    f[14] = 0x46;
                    set_be16(f, 16, static_cast<uint16_t>(load_be16(&f[16]) + 4));
                  };
                }},
        // The reply's record starts 4 bytes before the request's: the sequence number must
        // be read before the reply overwrites it.
        HvrCase{"ipv4_with_options_record_seq_echoed",
                [](Recipe& r) {
                  r.record_seq = 0x0000a1b2c3d4e5f6;
                  r.edit_frame = [](Bytes& f) {
                    const Bytes nops{0x01, 0x01, 0x01, 0x00};
                    f.insert(f.begin() + 34, nops.begin(), nops.end());
                    f[14] = 0x46;
                    set_be16(f, 16, static_cast<uint16_t>(load_be16(&f[16]) + 4));
                  };
                }},
        HvrCase{"ethernet_trailer",
                [](Recipe& r) { r.edit_frame = [](Bytes& f) { f.resize(f.size() + 6, 0xee); }; }}),
    [](const testing::TestParamInfo<HvrCase>& info) { return info.param.name; });

// RFC 1071 over big-endian 16-bit words, folded, not complemented: written out here rather
// than taken from lib, so the offload spec below does not check lib against itself.
uint16_t folded_sum(const uint8_t* data, std::size_t len, uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < len; i += 2)
    sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (len % 2 != 0) sum += static_cast<uint32_t>(data[len - 1] << 8);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// What a NIC does to a frame marked RTE_MBUF_F_TX_IP_CKSUM / RTE_MBUF_F_TX_UDP_CKSUM with
// l2_len and l3_len (the Intel model DPDK's contract is written for): the IPv4 header sum over
// the header, the UDP sum over the datagram starting from the pseudo-header sum the
// application left in its checksum field.
void complete_checksums_as_a_nic(Bytes& frame, std::size_t l2_len, std::size_t l3_len) {
  uint8_t* ip = &frame[l2_len];
  if (ip[0] >> 4 == 4) set_be16(frame, l2_len + 10, static_cast<uint16_t>(~folded_sum(ip, l3_len)));
  const std::size_t l4 = l2_len + l3_len;
  const std::size_t udp_len = frame.size() - l4;
  uint16_t sum = static_cast<uint16_t>(~folded_sum(&frame[l4], udp_len));
  set_be16(frame, l4 + 6, sum == 0 ? 0xffff : sum);
}

// TX checksum offload: the reply leaves its IPv4 header checksum zero and the pseudo-header
// sum in its UDP checksum field, says where its IP header is, and once a NIC has done its part
// it is the software reply byte for byte.
TEST_P(HvrReply, WithTxChecksumOffloadTheNicCompletesTheSoftwareReply) {
  Recipe r;
  if (GetParam().edit) GetParam().edit(r);
  const Bytes request = build(r);
  const Outcome software = classify(request);
  ASSERT_EQ(verdict_name(software.verdict), verdict_name(Verdict::kReplyHvr));

  Bytes offloaded(request);
  FrameRef ref{offloaded.data(),
               static_cast<uint16_t>(offloaded.size()),
               static_cast<uint16_t>(offloaded.size()),
               {}};
  ASSERT_EQ(verdict_name(world().offloading->classify(world().keys(), ref, nullptr)),
            verdict_name(Verdict::kReplyHvr));
  offloaded.resize(ref.len);
  ASSERT_EQ(offloaded.size(), software.frame.size());

  const test::ParsedFrame p = layers(software.frame);
  EXPECT_EQ(ref.reply_l3, p.l3) << "the reply's l2_len";
  const std::size_t l3_len = p.l4 - p.l3;
  EXPECT_EQ(l3_len, p.ipv6 ? 40U : 20U) << "the reply's l3_len: a bare header";
  const uint8_t* ip = &offloaded[p.l3];
  if (!p.ipv6) {
    EXPECT_EQ(load_be16(ip + 10), 0) << "IPv4 header checksum left to the NIC";
  }
  const std::size_t address_len = p.ipv6 ? 16 : 4;
  const uint8_t* addresses = ip + (p.ipv6 ? 8 : 12);
  const auto udp_len = static_cast<uint32_t>(offloaded.size() - p.l4);
  EXPECT_EQ(load_be16(&offloaded[p.l4 + 6]), folded_sum(addresses, 2 * address_len, 17 + udp_len))
      << "the UDP checksum field holds the pseudo-header sum";

  complete_checksums_as_a_nic(offloaded, ref.reply_l3, l3_len);
  EXPECT_EQ(offloaded, software.frame);
}

// Which MAC an HVR answers from: the configured one (the app configures the port's), else the
// one the request was sent to; never a broadcast or multicast address. The reply goes to the
// request's source; VLAN tags and EtherType stay.
TEST(HvrReplyMacs, FromOurMacElseTheRequestsDestinationNeverAGroupAddress) {
  const std::array<uint8_t, 6> kConfigured{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  const std::array<uint8_t, 6> kNone{};
  const std::array<uint8_t, 6> kUnicast{0x02, 0, 0, 0, 0, 0x01};
  const std::array<uint8_t, 6> kBroadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const std::array<uint8_t, 6> kMulticast{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
  struct Case {
    std::string name;
    std::array<uint8_t, 6> configured;
    std::array<uint8_t, 6> request_to;
    std::vector<uint16_t> vlans;
    std::array<uint8_t, 6> expected_from;
  };
  const Case cases[] = {
      {"configured_unicast", kConfigured, kUnicast, {}, kConfigured},
      {"configured_broadcast", kConfigured, kBroadcast, {}, kConfigured},
      {"configured_multicast_two_vlans", kConfigured, kMulticast, {10, 20}, kConfigured},
      {"none_unicast", kNone, kUnicast, {}, kUnicast},
      {"none_unicast_vlan", kNone, kUnicast, {7}, kUnicast},
      // No MAC of ours to answer from and none the request names: all zeros, not the group.
      {"none_broadcast", kNone, kBroadcast, {}, kNone},
  };
  for (const Case& c : cases) {
    ClassifierConfig config = world().classifier->config();
    config.mac = c.configured;
    for (const TxChecksums tx : {TxChecksums::kSoftware, TxChecksums::kOffload}) {
      config.tx_checksums = tx;
      const Classifier classifier(config, nullptr);
      Recipe r;
      r.udp.dst_mac = c.request_to;
      r.udp.vlans = c.vlans;
      const Bytes request = build(r);
      const Outcome out = classify_with(classifier, request, world().keys(), {});
      ASSERT_EQ(verdict_name(out.verdict), verdict_name(Verdict::kReplyHvr)) << c.name;
      const auto at = [&](std::size_t from) {
        return std::array<uint8_t, 6>{out.frame[from],     out.frame[from + 1],
                                      out.frame[from + 2], out.frame[from + 3],
                                      out.frame[from + 4], out.frame[from + 5]};
      };
      EXPECT_EQ(at(0), r.udp.src_mac) << c.name << ": to the request's source";
      EXPECT_EQ(at(6), c.expected_from) << c.name << ": from";
      const std::size_t l3 = 14 + 4 * c.vlans.size();
      EXPECT_TRUE(std::equal(out.frame.begin() + 12, out.frame.begin() + static_cast<long>(l3),
                             request.begin() + 12))
          << c.name << ": VLAN tags and EtherType";
    }
  }
}

TEST(HvrReplyDeterminism, SameHelloSameCookieAcrossCalls) {
  const Bytes request = build({});
  EXPECT_EQ(classify(request).frame, classify(request).frame) << "stateless: same input, same HVR";
}

TEST(HvrReplyDeterminism, CookieDependsOnTheSource) {
  Recipe a;
  Recipe b;
  b.udp.src_port = 50001;
  const Bytes ca = expect_hvr_reply(build(a), classify(build(a)).frame);
  const Bytes cb = expect_hvr_reply(build(b), classify(build(b)).frame);
  EXPECT_NE(ca, cb);
}

// ---- Reflection guard ----

// The guard reads the source prefix from the datagram's header where it lies, on the predicted
// path (untagged IPv4) and on the walk (VLAN-tagged IPv4, IPv6): a prefix that spent its burst
// is refused whatever its host bits, the next prefix is answered. A large table, so the few
// prefixes here share no bucket (two do with probability ~2^-16).
TEST(ReflectionGuard, RefusesASpentSourcePrefixOnEveryPath) {
  struct Case {
    const char* name;
    std::vector<uint16_t> vlans;
    const char* first;        // spends its prefix's burst
    const char* same_prefix;  // other host bits: refused
    const char* next_prefix;  // answered
  };
  const Case cases[] = {
      {"ipv4_predicted", {}, "198.51.100.1", "198.51.100.254", "198.51.101.1"},
      {"ipv4_vlan_walked", {7}, "198.51.100.1", "198.51.100.254", "198.51.101.1"},
      {"ipv6_walked", {}, "2001:db8:0:1200::1", "2001:db8:0:12ff:ffff::9", "2001:db8:0:1300::1"},
  };
  const std::string hvr(verdict_name(Verdict::kReplyHvr));
  const std::string refused(verdict_name(Verdict::kDropRateLimited));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HvrRateLimit limit;
    limit.per_prefix_per_second = 1;
    limit.per_prefix_burst = 3;
    limit.table_size = 1 << 16;
    HvrRateLimiter limiter(limit);
    limiter.set_time(1'000'000'000);
    Classifier guarded = *world().classifier;
    guarded.set_rate_limiter(&limiter);
    auto hello_from = [&](const char* source) {
      Recipe r;
      if (std::string(source).find(':') != std::string::npos) ipv6(r);
      r.udp.src_ip = source;
      r.udp.vlans = c.vlans;
      return verdict_name(classify_with(guarded, build(r), world().keys(), {}).verdict);
    };
    for (int i = 0; i < 3; ++i) EXPECT_EQ(hello_from(c.first), hvr) << i;
    EXPECT_EQ(hello_from(c.first), refused);
    EXPECT_EQ(hello_from(c.same_prefix), refused);
    EXPECT_EQ(hello_from(c.next_prefix), hvr);
  }
}

// ---- PassInfo ----

TEST(PassInfoSpec, VerifiedHelloNamesItsFlowAndPayload) {
  for (bool v6 : {false, true}) {
    Recipe r;
    if (v6) ipv6(r);
    r.udp.vlans = {5};
    with_cookie(r);
    const Bytes frame = build(r);
    const Outcome out = classify(frame);
    ASSERT_EQ(verdict_name(out.verdict), verdict_name(Verdict::kPassVerified));
    const test::FrameLayout l = test::layout_of(r.udp);
    EXPECT_EQ(out.pass.flow.client, endpoint_of(r.udp.src_ip, r.udp.src_port));
    EXPECT_EQ(out.pass.flow.server, endpoint_of(r.udp.dst_ip, r.udp.dst_port));
    EXPECT_EQ(out.pass.payload_offset, l.payload);
    EXPECT_EQ(out.pass.payload_len, frame.size() - l.payload);
  }
}

TEST(PassInfoSpec, KnownFlowNamesItsFlowAndPayload) {
  for (bool v6 : {false, true}) {
    Recipe r;
    if (v6) ipv6(r);
    from_known_flow(r);
    session_record(r, 23);
    const Bytes frame = build(r);
    const Outcome out = classify(frame);
    ASSERT_EQ(verdict_name(out.verdict), verdict_name(Verdict::kPassFlow));
    const test::FrameLayout l = test::layout_of(r.udp);
    EXPECT_EQ(out.pass.flow.client, endpoint_of(r.udp.src_ip, kKnownPort));
    EXPECT_EQ(out.pass.flow.server, endpoint_of(r.udp.dst_ip, 4433));
    EXPECT_EQ(out.pass.payload_offset, l.payload);
    EXPECT_EQ(out.pass.payload_len, frame.size() - l.payload);
  }
}

TEST(PassInfoSpec, PassInfoMayBeNull) {
  Recipe r;
  with_cookie(r);
  Bytes frame = build(r);
  FrameRef ref{frame.data(), static_cast<uint16_t>(frame.size()),
               static_cast<uint16_t>(frame.size())};
  EXPECT_EQ(world().classifier->classify(world().keys(), ref, nullptr), Verdict::kPassVerified);
}

// ---- ARP and ND replies ----

TEST(ArpReply, AnswersWithOurMacAndSwapsTheAddresses) {
  for (bool padded : {false, true}) {
    test::ArpSpec a;
    a.pad_to_60 = padded;
    const Bytes request = test::build_arp_frame(a);
    const Outcome out = classify(request);
    ASSERT_EQ(verdict_name(out.verdict), verdict_name(Verdict::kReplyArp));
    const Bytes& f = out.frame;
    ASSERT_GE(f.size(), 42u);
    EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, a.sender_mac.begin())) << "dst MAC";
    EXPECT_TRUE(std::equal(f.begin() + 6, f.begin() + 12, kOurMac.begin())) << "src MAC";
    EXPECT_EQ(load_be16(&f[12]), 0x0806);
    EXPECT_EQ(load_be16(&f[14]), 1);
    EXPECT_EQ(load_be16(&f[16]), 0x0800);
    EXPECT_EQ(f[18], 6);
    EXPECT_EQ(f[19], 4);
    EXPECT_EQ(load_be16(&f[20]), 2) << "operation: reply";
    EXPECT_TRUE(std::equal(&f[22], &f[28], kOurMac.begin())) << "sender MAC";
    EXPECT_EQ(Bytes(&f[28], &f[32]), test::parse_ip(kOurIpv4)) << "sender IP";
    EXPECT_TRUE(std::equal(&f[32], &f[38], a.sender_mac.begin())) << "target MAC";
    EXPECT_EQ(Bytes(&f[38], &f[42]), test::parse_ip(a.sender_ip)) << "target IP";
  }
}

TEST(ArpReply, KeepsTheVlanTag) {
  test::ArpSpec a;
  a.vlans = {100};
  const Outcome out = classify(test::build_arp_frame(a));
  ASSERT_EQ(verdict_name(out.verdict), verdict_name(Verdict::kReplyArp));
  ASSERT_GE(out.frame.size(), 46u);
  EXPECT_EQ(load_be16(&out.frame[12]), 0x8100);
  EXPECT_EQ(load_be16(&out.frame[14]), 100);
  EXPECT_EQ(load_be16(&out.frame[16]), 0x0806);
  EXPECT_EQ(load_be16(&out.frame[18 + 6]), 2);
}

TEST(NdReply, NeighbourAdvertisementForOurAddress) {
  const test::NeighbourSolicitationSpec ns;
  const Bytes request = test::build_neighbour_solicitation(ns);
  const Outcome out = classify(request);
  ASSERT_EQ(verdict_name(out.verdict), verdict_name(Verdict::kReplyNd));
  const Bytes& f = out.frame;
  ASSERT_EQ(f.size(), 14u + 40 + 32);
  EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, ns.src_mac.begin())) << "dst MAC";
  EXPECT_TRUE(std::equal(f.begin() + 6, f.begin() + 12, kOurMac.begin())) << "src MAC";
  EXPECT_EQ(load_be16(&f[12]), 0x86dd);
  const std::size_t l3 = 14;
  const std::size_t icmp = l3 + 40;
  EXPECT_EQ(f[l3] >> 4, 6);
  EXPECT_EQ(load_be16(&f[l3 + 4]), 32) << "payload length";
  EXPECT_EQ(f[l3 + 6], 58) << "next header ICMPv6";
  EXPECT_EQ(f[l3 + 7], 255) << "hop limit (RFC 4861 7.1.2)";
  EXPECT_EQ(Bytes(&f[l3 + 8], &f[l3 + 24]), test::parse_ip(kOurIpv6)) << "src = target";
  EXPECT_EQ(Bytes(&f[l3 + 24], &f[l3 + 40]), test::parse_ip(ns.src_ip)) << "dst = solicitor";
  EXPECT_EQ(f[icmp], 136) << "neighbour advertisement";
  EXPECT_EQ(f[icmp + 1], 0) << "code";
  EXPECT_EQ(f[icmp + 4], 0x60) << "flags: Solicited + Override, not Router";
  EXPECT_EQ(f[icmp + 5] | f[icmp + 6] | f[icmp + 7], 0) << "reserved";
  EXPECT_EQ(Bytes(&f[icmp + 8], &f[icmp + 24]), test::parse_ip(kOurIpv6)) << "target";
  EXPECT_EQ(f[icmp + 24], 2) << "option: target link-layer address";
  EXPECT_EQ(f[icmp + 25], 1) << "option length in 8-byte units";
  EXPECT_TRUE(std::equal(&f[icmp + 26], &f[icmp + 32], kOurMac.begin())) << "our MAC";
  Bytes zeroed(f.begin() + static_cast<std::ptrdiff_t>(icmp), f.end());
  const uint16_t stored = load_be16(&zeroed[2]);
  zeroed[2] = zeroed[3] = 0;
  const uint16_t computed = icmpv6_checksum(&f[l3 + 8], &f[l3 + 24], zeroed.data(), zeroed.size());
  uint8_t computed_bytes[2];
  std::memcpy(computed_bytes, &computed, 2);
  EXPECT_EQ(stored, load_be16(computed_bytes)) << "ICMPv6 checksum";
}

// A solicitation without the source link-layer option (24 bytes of ICMPv6, as in a unicast
// reachability probe) gets a 32-byte advertisement: the only reply that grows, and only into
// the room the I/O shell says the buffer has.
TEST(NdReply, GrowsOnlyIntoTheCapacityGiven) {
  test::NeighbourSolicitationSpec ns;
  ns.source_link_layer_option = false;
  const Bytes request = test::build_neighbour_solicitation(ns);
  ASSERT_EQ(request.size(), 14u + 40 + 24);
  const World& w = world();

  Bytes exact = request;
  FrameRef no_room{exact.data(), static_cast<uint16_t>(exact.size()), 0};
  EXPECT_EQ(verdict_name(w.classifier->classify(w.keys(), no_room, nullptr)),
            verdict_name(Verdict::kDropReplyTooLarge));
  EXPECT_EQ(no_room.len, request.size());
  EXPECT_EQ(exact, request) << "a refused reply leaves the frame alone";

  Bytes roomy = request;
  roomy.resize(request.size() + 8, 0xee);
  FrameRef room{roomy.data(), static_cast<uint16_t>(request.size()),
                static_cast<uint16_t>(roomy.size())};
  ASSERT_EQ(verdict_name(w.classifier->classify(w.keys(), room, nullptr)),
            verdict_name(Verdict::kReplyNd));
  ASSERT_EQ(room.len, 14u + 40 + 32);
  EXPECT_EQ(load_be16(&roomy[14 + 4]), 32);
  EXPECT_EQ(roomy[14 + 40], 136);
  EXPECT_EQ(roomy[14 + 40 + 24], 2) << "target link-layer address option";
  EXPECT_TRUE(std::equal(&roomy[14 + 40 + 26], &roomy[14 + 40 + 32], kOurMac.begin()));
}

// RFC 4861 7.2.4: a solicitation from the unspecified address (duplicate address detection)
// is answered, if at all, to all-nodes (ff02::1) with the Solicited flag clear; never to ::.
TEST(NdReply, DuplicateAddressDetectionProbeIsNeverAnsweredToTheUnspecifiedAddress) {
  test::NeighbourSolicitationSpec ns;
  ns.src_ip = "::";
  const Outcome out = classify(test::build_neighbour_solicitation(ns));
  if (out.verdict != Verdict::kReplyNd) {
    EXPECT_TRUE(is_drop(out.verdict)) << verdict_name(out.verdict);
    return;
  }
  ASSERT_GE(out.frame.size(), 14u + 40 + 24);
  EXPECT_EQ(Bytes(&out.frame[14 + 24], &out.frame[14 + 40]), test::parse_ip("ff02::1"))
      << "destination";
  EXPECT_EQ(out.frame[14 + 40 + 4] & 0x40, 0) << "Solicited flag";
}

// ---- A real OpenSSL client, both ClientHellos ----

TEST(OpenSslClient, FirstHelloGetsHvrAndTheSecondIsVerified) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
    test::OpenSslHelloClient client;
    UdpFrameSpec udp;
    if (v6) {
      udp.src_ip = kClientIpv6;
      udp.dst_ip = kOurIpv6;
    }
    const Bytes hello1 = client.first_client_hello();
    ASSERT_GE(hello1.size(), 13u + 12 + 40);
    const Bytes request = test::build_udp_frame(udp, hello1);
    const Outcome hvr = classify(request);
    ASSERT_EQ(verdict_name(hvr.verdict), verdict_name(Verdict::kReplyHvr));
    expect_hvr_reply(request, hvr.frame);

    const std::size_t payload = test::layout_of(udp).payload;
    const Bytes hello2 = client.respond(std::span(hvr.frame).subspan(payload));
    ASSERT_FALSE(hello2.empty()) << "OpenSSL did not accept the HVR";
    EXPECT_EQ(load_be16(&hello2[kHandshake + 4]), 1) << "message_seq";
    const Outcome verified = classify(test::build_udp_frame(udp, hello2));
    EXPECT_EQ(verdict_name(verified.verdict), verdict_name(Verdict::kPassVerified));
  }
}

// ---- Bursts ----

TEST(ClassifyBurst, SameVerdictsAsOneByOneAndCountersAddUp) {
  const World& w = world();
  std::vector<Bytes> inputs;
  for (const Row& r : spec_rows()) inputs.push_back(build_row(r));
  std::vector<Bytes> buffers = inputs;
  std::vector<FrameRef> refs;
  for (Bytes& b : buffers) {
    refs.push_back({b.data(), static_cast<uint16_t>(b.size()), static_cast<uint16_t>(b.size())});
  }
  std::vector<Verdict> verdicts(refs.size());
  std::vector<PassInfo> pass(refs.size());
  VerdictCounters counters;
  w.classifier->classify_burst(w.keys(), refs.data(), refs.size(), verdicts.data(), pass.data(),
                               counters);
  EXPECT_EQ(counters.total(), inputs.size());
  std::array<uint64_t, kVerdictCount> expected{};
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Outcome one = classify(inputs[i]);
    EXPECT_EQ(verdict_name(verdicts[i]), verdict_name(one.verdict)) << "frame " << i;
    ++expected[static_cast<std::size_t>(verdicts[i])];
    if (verdicts[i] == Verdict::kPassVerified || verdicts[i] == Verdict::kPassFlow) {
      EXPECT_EQ(pass[i].flow, one.pass.flow) << "frame " << i;
      EXPECT_EQ(pass[i].payload_offset, one.pass.payload_offset) << "frame " << i;
      EXPECT_EQ(pass[i].payload_len, one.pass.payload_len) << "frame " << i;
    }
    EXPECT_EQ(Bytes(buffers[i].data(), buffers[i].data() + refs[i].len), one.frame)
        << "frame " << i;
  }
  for (std::size_t v = 0; v < kVerdictCount; ++v) {
    EXPECT_EQ(counters.count[v], expected[v]) << kVerdictInfo[v].name;
  }

  // The counters belong to the worker: a second burst adds to them.
  std::vector<Bytes> again = inputs;
  for (std::size_t i = 0; i < again.size(); ++i) {
    refs[i] = {again[i].data(), static_cast<uint16_t>(again[i].size()),
               static_cast<uint16_t>(again[i].size())};
  }
  w.classifier->classify_burst(w.keys(), refs.data(), refs.size(), verdicts.data(), pass.data(),
                               counters);
  EXPECT_EQ(counters.total(), 2 * inputs.size());
}

TEST(ClassifyBurst, EmptyBurstCountsNothing) {
  VerdictCounters counters;
  world().classifier->classify_burst(world().keys(), nullptr, 0, nullptr, nullptr, counters);
  EXPECT_EQ(counters.total(), 0u);
}

}  // namespace
}  // namespace dtlsgate
