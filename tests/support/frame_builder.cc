#include "support/frame_builder.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "dtlsgate/bytes.h"
#include "dtlsgate/checksum.h"

namespace dtlsgate::test {
namespace {

bool is_v6(const std::string& ip) {
  return ip.find(':') != std::string::npos;
}

void append(Bytes& out, std::span<const uint8_t> b) {
  out.insert(out.end(), b.begin(), b.end());
}
void append16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void append24(Bytes& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 16));
  append16(out, static_cast<uint16_t>(v));
}

}  // namespace

Bytes parse_ip(const std::string& text) {
  Bytes out(is_v6(text) ? 16 : 4);
  if (inet_pton(is_v6(text) ? AF_INET6 : AF_INET, text.c_str(), out.data()) != 1) {
    ADD_FAILURE() << "bad IP literal in test: " << text;
    std::abort();
  }
  return out;
}

FrameLayout layout_of(const UdpFrameSpec& spec) {
  FrameLayout l;
  l.l3 = 14 + 4 * spec.vlans.size();
  l.l4 = l.l3 + (is_v6(spec.src_ip) ? 40 : 20);
  l.payload = l.l4 + 8;
  return l;
}

Bytes build_udp_frame(const UdpFrameSpec& spec, std::span<const uint8_t> payload) {
  const bool v6 = is_v6(spec.src_ip);
  EXPECT_EQ(v6, is_v6(spec.dst_ip)) << "mixed address families in one frame spec";
  Bytes f;
  append(f, spec.dst_mac);
  append(f, spec.src_mac);
  for (uint16_t tci : spec.vlans) {
    append16(f, 0x8100);
    append16(f, tci);
  }
  append16(f, v6 ? 0x86dd : 0x0800);
  const Bytes src = parse_ip(spec.src_ip);
  const Bytes dst = parse_ip(spec.dst_ip);
  const std::size_t udp_len = 8 + payload.size();
  if (v6) {
    append(f, Bytes{0x60, 0, 0, 0});
    append16(f, static_cast<uint16_t>(udp_len));
    f.push_back(17);
    f.push_back(spec.ttl);
    append(f, src);
    append(f, dst);
  } else {
    f.push_back(0x45);
    f.push_back(0);
    append16(f, static_cast<uint16_t>(20 + udp_len));
    append(f, Bytes{0x12, 0x34, 0x40, 0x00});  // id, DF, offset 0
    f.push_back(spec.ttl);
    f.push_back(17);
    append16(f, 0);
    append(f, src);
    append(f, dst);
  }
  append16(f, spec.src_port);
  append16(f, spec.dst_port);
  append16(f, static_cast<uint16_t>(udp_len));
  append16(f, 0);
  append(f, payload);
  fix_checksums(spec, f);
  return f;
}

void fix_checksums(const UdpFrameSpec& spec, Bytes& f) {
  const FrameLayout l = layout_of(spec);
  const std::size_t udp_len = f.size() - l.l4;
  uint8_t* udp = f.data() + l.l4;
  std::memset(udp + 6, 0, 2);
  if (is_v6(spec.src_ip)) {
    const uint16_t c = udp_checksum_ipv6(&f[l.l3 + 8], &f[l.l3 + 24], udp, udp_len);
    std::memcpy(udp + 6, &c, 2);
    return;
  }
  std::memset(&f[l.l3 + 10], 0, 2);
  const uint16_t ip = ipv4_header_checksum(&f[l.l3], 20);
  std::memcpy(&f[l.l3 + 10], &ip, 2);
  if (spec.udp_checksum) {
    const uint16_t c = udp_checksum_ipv4(&f[l.l3 + 12], &f[l.l3 + 16], udp, udp_len);
    std::memcpy(udp + 6, &c, 2);
  }
}

Bytes dtls_record(uint8_t content_type, uint16_t version, uint16_t epoch, uint64_t seq,
                  std::span<const uint8_t> fragment) {
  Bytes r;
  r.push_back(content_type);
  append16(r, version);
  append16(r, epoch);
  append16(r, static_cast<uint16_t>(seq >> 32));
  append16(r, static_cast<uint16_t>(seq >> 16));
  append16(r, static_cast<uint16_t>(seq));
  append16(r, static_cast<uint16_t>(fragment.size()));
  append(r, fragment);
  return r;
}

Bytes handshake(const HandshakeSpec& spec, std::span<const uint8_t> body) {
  Bytes h;
  h.push_back(spec.msg_type);
  append24(h, spec.message_length.value_or(static_cast<uint32_t>(body.size())));
  append16(h, spec.message_seq);
  append24(h, spec.fragment_offset);
  append24(h, spec.fragment_length.value_or(static_cast<uint32_t>(body.size())));
  append(h, body);
  return h;
}

Bytes extension(uint16_t type, std::span<const uint8_t> data) {
  Bytes e;
  append16(e, type);
  append16(e, static_cast<uint16_t>(data.size()));
  append(e, data);
  return e;
}

Bytes client_hello_body(const ClientHelloSpec& spec) {
  Bytes b;
  append16(b, spec.client_version);
  append(b, spec.random);
  b.push_back(static_cast<uint8_t>(spec.session_id.size()));
  append(b, spec.session_id);
  b.push_back(static_cast<uint8_t>(spec.cookie.size()));
  append(b, spec.cookie);
  append16(b, static_cast<uint16_t>(2 * spec.cipher_suites.size()));
  for (uint16_t s : spec.cipher_suites) append16(b, s);
  b.push_back(static_cast<uint8_t>(spec.compression_methods.size()));
  append(b, spec.compression_methods);
  if (spec.extensions) {
    append16(b, static_cast<uint16_t>(spec.extensions->size()));
    append(b, *spec.extensions);
  }
  return b;
}

Bytes client_hello_record(const ClientHelloSpec& hello, uint16_t record_version,
                          uint64_t record_seq, uint16_t message_seq) {
  HandshakeSpec hs;
  hs.message_seq = message_seq;
  return dtls_record(kContentHandshake, record_version, 0, record_seq,
                     handshake(hs, client_hello_body(hello)));
}

}  // namespace dtlsgate::test
