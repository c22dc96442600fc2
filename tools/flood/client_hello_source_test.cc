// Where dtlsgate-flood's ClientHello comes from when the user hands it a capture (--pcap): the
// first cookie-less ClientHello in a pcap of either byte order and timestamp unit, over
// Ethernet, Linux cooked headers or raw IP, and a one-line reason for every file that has
// none. Each row of the table is a crafted file; real tcpdump captures follow it.
#include "flood/client_hello_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dtlsgate/bytes.h"
#include "dtlsgate/checksum.h"
#include "dtlsgate/wire/packet.h"

namespace dtlsgate::flood {
namespace {

using Bytes = std::vector<uint8_t>;

// OpenSSL's own cookie-less hello, made once.
const Bytes& openssl_hello() {
  static const Bytes hello = [] {
    std::string error;
    Bytes h = openssl_client_hello(&error);
    EXPECT_FALSE(h.empty()) << error;
    return h;
  }();
  return hello;
}

// The same hello with a cookie: message_seq 1 and a 2-byte cookie after the session_id, the
// lengths grown to match (what a client sends second, and what the reader must pass over).
Bytes hello_with_cookie() {
  Bytes h = openssl_hello();
  const std::size_t session_id_len_at = 13 + 12 + 2 + 32;
  const std::size_t cookie_len_at = session_id_len_at + 1 + h[session_id_len_at];
  h[cookie_len_at] = 2;
  h.insert(h.begin() + static_cast<std::ptrdiff_t>(cookie_len_at) + 1, {0xab, 0xcd});
  store_be16(&h[11], static_cast<uint16_t>(load_be16(&h[11]) + 2));  // record length
  const uint32_t body = load_be24(&h[14]) + 2;
  store_be24(&h[14], body);  // message length
  store_be24(&h[22], body);  // fragment length
  store_be16(&h[17], 1);     // message_seq
  return h;
}

struct FrameShape {
  bool ipv6 = false;
  uint8_t protocol = kIpProtoUdp;
  int udp_len_delta = 0;              // added to the UDP length field
  std::size_t ip_payload_cut = 0;     // bytes of the UDP datagram left out of the IP payload
  bool cut_bytes_as_trailer = false;  // ... but still in the frame, as an Ethernet trailer
};

// Ethernet + IP + UDP around payload. The IPv4 header checksum is right (the reader checks
// it, as the filter does); the UDP checksum is zero, as loopback captures often leave it.
Bytes frame(const Bytes& payload, const FrameShape& shape = {}) {
  const std::size_t udp_len = 8 + payload.size();
  const std::size_t ip_payload = udp_len - shape.ip_payload_cut;
  Bytes f(14, 0);
  f[12] = shape.ipv6 ? 0x86 : 0x08;
  f[13] = shape.ipv6 ? 0xdd : 0x00;
  if (shape.ipv6) {
    // 2001:db8::2 -> 2001:db8::1, hop limit 64.
    const auto host = [](uint8_t last) {
      Bytes a = {0x20, 0x01, 0x0d, 0xb8};
      a.resize(16, 0);
      a[15] = last;
      return a;
    };
    Bytes ip = {0x60, 0, 0, 0, 0, 0, shape.protocol, 64};
    for (const Bytes& a : {host(2), host(1)}) ip.insert(ip.end(), a.begin(), a.end());
    store_be16(&ip[4], static_cast<uint16_t>(ip_payload));
    f.insert(f.end(), ip.begin(), ip.end());
  } else {
    // 198.51.100.2 -> 192.0.2.1, TTL 64.
    Bytes ip = {0x45, 0,  0,   0, 0,   0, 0, 0, 64, shape.protocol, 0, 0,  //
                198,  51, 100, 2, 192, 0, 2, 1};
    store_be16(&ip[2], static_cast<uint16_t>(20 + ip_payload));
    const uint16_t sum = ipv4_header_checksum(ip.data(), ip.size());
    std::memcpy(&ip[10], &sum, 2);
    f.insert(f.end(), ip.begin(), ip.end());
  }
  Bytes udp(8, 0);
  store_be16(&udp[0], 40000);
  store_be16(&udp[2], 4433);
  store_be16(&udp[4], static_cast<uint16_t>(static_cast<int>(udp_len) + shape.udp_len_delta));
  f.insert(f.end(), udp.begin(), udp.end());
  f.insert(f.end(), payload.begin(), payload.end());
  if (!shape.cut_bytes_as_trailer) f.resize(14 + (shape.ipv6 ? 40 : 20) + ip_payload);
  return f;
}

// An Ethernet frame's IP packet behind another link type's header: Linux cooked (113: 16
// bytes, protocol last), Linux cooked v2 (276: 20 bytes, protocol first) or raw IP (101, 228,
// 229: none).
Bytes relink(const Bytes& ethernet, uint32_t link_type) {
  const Bytes packet(ethernet.begin() + 14, ethernet.end());
  Bytes header;
  if (link_type == 113) {
    header.assign(16, 0);
    header[14] = ethernet[12];
    header[15] = ethernet[13];
  } else if (link_type == 276) {
    header.assign(20, 0);
    header[0] = ethernet[12];
    header[1] = ethernet[13];
  }
  header.insert(header.end(), packet.begin(), packet.end());
  return header;
}

struct PcapShape {
  uint32_t magic = 0xa1b2c3d4;
  bool swapped = false;  // fields written in the other byte order (the magic says so)
  uint32_t link_type = 1;
  uint32_t last_record_claims_extra = 0;  // the last record's captured length overstated
};

void put32(Bytes& out, uint32_t v, bool swapped) {
  if (swapped) v = __builtin_bswap32(v);
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + 4);
}

Bytes pcap(const std::vector<Bytes>& frames, const PcapShape& shape = {}) {
  Bytes out;
  put32(out, shape.magic, false);         // as written by a host of the file's byte order
  put32(out, 0x00040002, shape.swapped);  // version 2.4
  put32(out, 0, shape.swapped);           // zone
  put32(out, 0, shape.swapped);           // sigfigs
  put32(out, 65535, shape.swapped);       // snaplen
  put32(out, shape.link_type, shape.swapped);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Bytes& f = frames[i];
    const uint32_t extra = i + 1 == frames.size() ? shape.last_record_claims_extra : 0;
    put32(out, 1, shape.swapped);  // seconds
    put32(out, 0, shape.swapped);  // fraction
    put32(out, static_cast<uint32_t>(f.size()) + extra, shape.swapped);
    put32(out, static_cast<uint32_t>(f.size()), shape.swapped);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

struct PcapCase {
  const char* name;
  Bytes file;
  bool finds_hello;  // else *error contains `why`
  const char* why;
};

std::vector<PcapCase> cases() {
  const Bytes& hello = openssl_hello();
  const Bytes hello_frame = frame(hello);
  PcapShape swapped;
  swapped.magic = 0xd4c3b2a1;  // read on this little-endian host: big-endian file
  swapped.swapped = true;
  PcapShape nanoseconds;
  nanoseconds.magic = 0xa1b23c4d;
  PcapShape pcapng;
  pcapng.magic = 0x0a0d0d0a;
  auto link = [](uint32_t type) {
    PcapShape shape;
    shape.link_type = type;
    return shape;
  };
  PcapShape cut_off;
  cut_off.last_record_claims_extra = 1;
  FrameShape tcp;
  tcp.protocol = 6;
  FrameShape ipv6;
  ipv6.ipv6 = true;
  const Bytes hello_frame6 = frame(hello, ipv6);
  FrameShape udp_longer_than_ip;  // the UDP length runs past the IP payload
  udp_longer_than_ip.udp_len_delta = 1;
  FrameShape hello_ends_in_trailer;  // the IP packet ends 1 byte short of the UDP length
  hello_ends_in_trailer.ip_payload_cut = 1;
  hello_ends_in_trailer.cut_bytes_as_trailer = true;
  FrameShape udp_shorter;  // the UDP length cuts the hello short
  udp_shorter.udp_len_delta = -1;
  FrameShape four_byte_udp;  // an IP payload too short for a UDP header, last in the file
  four_byte_udp.ip_payload_cut = 8 + hello.size() - 4;
  const Bytes garbage(40, 0x16);

  return {
      {"microseconds_host_order", pcap({hello_frame}), true, ""},
      {"microseconds_other_order", pcap({hello_frame}, swapped), true, ""},
      {"nanoseconds", pcap({hello_frame}, nanoseconds), true, ""},
      {"ipv6", pcap({hello_frame6}), true, ""},
      {"linux_cooked_ipv4", pcap({relink(hello_frame, 113)}, link(113)), true, ""},
      {"linux_cooked_ipv6", pcap({relink(hello_frame6, 113)}, link(113)), true, ""},
      {"linux_cooked_v2", pcap({relink(hello_frame, 276)}, link(276)), true, ""},
      {"raw_ip_v4", pcap({relink(hello_frame, 101)}, link(101)), true, ""},
      {"raw_ip_v6", pcap({relink(hello_frame6, 101)}, link(101)), true, ""},
      {"raw_ipv4", pcap({relink(hello_frame, 228)}, link(228)), true, ""},
      {"raw_ipv6", pcap({relink(hello_frame6, 229)}, link(229)), true, ""},
      {"raw_ipv6_link_type_with_an_ipv4_packet", pcap({relink(hello_frame, 229)}, link(229)), false,
       "no cookie-less"},
      {"linux_cooked_record_shorter_than_its_header", pcap({Bytes(10, 0x08)}, link(113)), false,
       "no cookie-less"},
      {"after_tcp_garbage_and_a_cookie_hello",
       pcap({frame(hello, tcp), frame(garbage), frame(hello_with_cookie()), hello_frame}), true,
       ""},
      {"empty_file", Bytes{}, false, "not a pcap file (too short)"},
      {"header_only", pcap({}), false, "no cookie-less DTLS ClientHello in it"},
      {"pcapng", pcap({hello_frame}, pcapng), false, "pcapng is not supported"},
      {"text", Bytes(40, 'x'), false, "not a pcap file (no pcap magic number)"},
      {"ieee802_11_link_type", pcap({hello_frame}, link(105)), false,
       "link type 105 is not supported (Ethernet, Linux cooked or raw IP)"},
      {"only_a_cookie_hello", pcap({frame(hello_with_cookie())}), false, "no cookie-less"},
      {"hello_over_tcp", pcap({frame(hello, tcp)}), false, "no cookie-less"},
      {"record_cut_off", pcap({hello_frame}, cut_off), false, "no cookie-less"},
      {"udp_length_past_ip_payload", pcap({frame(hello, udp_longer_than_ip)}), false,
       "no cookie-less"},
      {"udp_datagram_runs_into_the_ethernet_trailer", pcap({frame(hello, hello_ends_in_trailer)}),
       false, "no cookie-less"},
      {"udp_length_short_of_the_hello", pcap({frame(hello, udp_shorter)}), false, "no cookie-less"},
      {"ip_payload_shorter_than_udp_header", pcap({frame(hello, four_byte_udp)}), false,
       "no cookie-less"},
  };
}

TEST(ClientHelloFromPcap, FirstCookieLessHelloOrOneLineWhy) {
  const Bytes& hello = openssl_hello();
  ASSERT_FALSE(hello.empty());
  for (const PcapCase& c : cases()) {
    SCOPED_TRACE(c.name);
    // A copy of exactly the file's size, so ASan sees any read past its end.
    const auto file = std::make_unique<uint8_t[]>(c.file.size());
    std::copy(c.file.begin(), c.file.end(), file.get());
    std::string error;
    const Bytes got = client_hello_from_pcap_bytes(file.get(), c.file.size(), &error);
    if (c.finds_hello) {
      EXPECT_EQ(got, hello) << error;
    } else {
      EXPECT_TRUE(got.empty());
      EXPECT_NE(error.find(c.why), std::string::npos) << error;
      EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    }
  }
}

TEST(ClientHelloFromPcap, RealCapturesAndFileErrorsNamingThePath) {
  // Captures made by tcpdump: on Ethernet-framed interfaces, and with -i any in both of its
  // Linux cooked formats (-y LINUX_SLL, -y LINUX_SLL2) of an openssl s_client -dtls1_2 hello.
  for (const char* name :
       {"client_hellos.pcap", "client_hello_linux_sll.pcap", "client_hello_linux_sll2.pcap"}) {
    SCOPED_TRACE(name);
    std::string error;
    const Bytes hello =
        client_hello_from_pcap(std::string(DTLSGATE_SOURCE_ROOT "/tests/data/") + name, &error);
    ASSERT_FALSE(hello.empty()) << error;
    EXPECT_EQ(hello[0], 22);
  }
  std::string error;
  EXPECT_TRUE(client_hello_from_pcap("/nonexistent.pcap", &error).empty());
  EXPECT_EQ(error, "--pcap /nonexistent.pcap: cannot open");
  EXPECT_TRUE(client_hello_from_pcap(DTLSGATE_SOURCE_ROOT "/README.md", &error).empty());
  EXPECT_EQ(error,
            "--pcap " DTLSGATE_SOURCE_ROOT "/README.md: not a pcap file (no pcap magic number)");
}

}  // namespace
}  // namespace dtlsgate::flood
