#include "support/frame_builder.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <algorithm>
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

Endpoint endpoint(const std::string& ip, uint16_t port) {
  const Bytes a = parse_ip(ip);
  return a.size() == 4 ? Endpoint::ipv4(a.data(), port) : Endpoint::ipv6(a.data(), port);
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

Bytes build_arp_frame(const ArpSpec& spec) {
  // Reserved up front: GCC 12 at -O3 otherwise warns (-Warray-bounds, falsely) about growing
  // a 6-byte vector.
  Bytes f;
  f.reserve(64);
  f.assign(6, 0xff);  // broadcast
  append(f, spec.sender_mac);
  for (uint16_t tci : spec.vlans) {
    append16(f, 0x8100);
    append16(f, tci);
  }
  append16(f, 0x0806);
  append16(f, 1);       // hardware type Ethernet
  append16(f, 0x0800);  // protocol type IPv4
  f.push_back(6);
  f.push_back(4);
  append16(f, spec.operation);
  append(f, spec.sender_mac);
  append(f, parse_ip(spec.sender_ip));
  append(f, Bytes(6, 0));  // target MAC: unknown, that is the question
  append(f, parse_ip(spec.target_ip));
  if (spec.pad_to_60 && f.size() < 60) f.resize(60, 0);
  return f;
}

Bytes build_neighbour_solicitation(const NeighbourSolicitationSpec& spec) {
  const Bytes src = parse_ip(spec.src_ip);
  const Bytes target = parse_ip(spec.target_ip);
  Bytes dst = parse_ip("ff02::1:ff00:0");
  std::memcpy(&dst[13], &target[13], 3);
  Bytes f;
  f.reserve(128);  // see build_arp_frame
  append(f, Bytes{0x33, 0x33, 0xff, target[13], target[14], target[15]});
  append(f, spec.src_mac);
  for (uint16_t tci : spec.vlans) {
    append16(f, 0x8100);
    append16(f, tci);
  }
  append16(f, 0x86dd);
  const bool unspecified_source = src == Bytes(16, 0);
  Bytes icmp{135, 0, 0, 0, 0, 0, 0, 0};  // type, code, checksum, reserved
  append(icmp, target);
  if (!unspecified_source && spec.source_link_layer_option) {
    append(icmp, Bytes{1, 1});  // source link-layer address, 8 bytes
    append(icmp, spec.src_mac);
  }
  const std::size_t l3 = f.size();
  append(f, Bytes{0x60, 0, 0, 0});
  append16(f, static_cast<uint16_t>(icmp.size()));
  f.push_back(58);
  f.push_back(spec.hop_limit);
  append(f, src);
  append(f, dst);
  const std::size_t l4 = f.size();
  append(f, icmp);
  const uint16_t c = icmpv6_checksum(&f[l3 + 8], &f[l3 + 24], &f[l4], icmp.size());
  std::memcpy(&f[l4 + 2], &c, 2);
  return f;
}

std::optional<ParsedFrame> parse_frame(std::span<const uint8_t> f) {
  ParsedFrame p;
  std::size_t off = 12;
  if (f.size() < 14) return std::nullopt;
  uint16_t type = load_be16(&f[off]);
  while (type == 0x8100 || type == 0x88a8) {
    if (f.size() < off + 8) return std::nullopt;
    off += 4;
    ++p.vlan_count;
    type = load_be16(&f[off]);
  }
  p.ether_type = type;
  p.l3 = off + 2;
  if (type == 0x0800) {
    if (f.size() < p.l3 + 20) return std::nullopt;
    const std::size_t ihl = 4u * (f[p.l3] & 0x0f);
    p.l4 = p.l3 + ihl;
    p.l4_end = std::min<std::size_t>(f.size(), p.l3 + load_be16(&f[p.l3 + 2]));
    p.protocol = f[p.l3 + 9];
  } else if (type == 0x86dd) {
    if (f.size() < p.l3 + 40) return std::nullopt;
    p.ipv6 = true;
    p.l4 = p.l3 + 40;
    p.l4_end = std::min<std::size_t>(f.size(), p.l4 + load_be16(&f[p.l3 + 4]));
    p.protocol = f[p.l3 + 6];
  } else {
    p.l4 = p.l4_end = p.l3;
  }
  if (p.l4 > p.l4_end) p.l4_end = p.l4;
  return p;
}

void refresh_checksums(Bytes& f) {
  const std::optional<ParsedFrame> p = parse_frame(f);
  if (!p || p->l4 > f.size()) return;
  if (p->ether_type == 0x0800) {
    std::memset(&f[p->l3 + 10], 0, 2);
    const uint16_t ip = ipv4_header_checksum(&f[p->l3], p->l4 - p->l3);
    std::memcpy(&f[p->l3 + 10], &ip, 2);
    if (p->protocol != 17 || p->l4_end < p->l4 + 8) return;
    uint8_t* udp = &f[p->l4];
    if (udp[6] == 0 && udp[7] == 0) return;  // "not computed" stays so
    std::memset(udp + 6, 0, 2);
    const uint16_t c = udp_checksum_ipv4(&f[p->l3 + 12], &f[p->l3 + 16], udp, p->l4_end - p->l4);
    std::memcpy(udp + 6, &c, 2);
  } else if (p->ipv6) {
    const std::size_t len = p->l4_end - p->l4;
    if (p->protocol == 17 && len >= 8) {
      std::memset(&f[p->l4 + 6], 0, 2);
      const uint16_t c = udp_checksum_ipv6(&f[p->l3 + 8], &f[p->l3 + 24], &f[p->l4], len);
      std::memcpy(&f[p->l4 + 6], &c, 2);
    } else if (p->protocol == 58 && len >= 4) {
      std::memset(&f[p->l4 + 2], 0, 2);
      const uint16_t c = icmpv6_checksum(&f[p->l3 + 8], &f[p->l3 + 24], &f[p->l4], len);
      std::memcpy(&f[p->l4 + 2], &c, 2);
    }
  }
}

std::optional<HvrView> parse_hvr(std::span<const uint8_t> r, std::string* why) {
  auto fail = [why](const char* reason) -> std::optional<HvrView> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (r.size() < 28) return fail("shorter than an HVR with an empty cookie (28 bytes)");
  HvrView h;
  h.content_type = r[0];
  h.record_version = load_be16(&r[1]);
  h.epoch = load_be16(&r[3]);
  h.record_seq = load_be48(&r[5]);
  h.record_length = load_be16(&r[11]);
  h.msg_type = r[13];
  h.message_length = load_be24(&r[14]);
  h.message_seq = load_be16(&r[17]);
  h.fragment_offset = load_be24(&r[19]);
  h.fragment_length = load_be24(&r[22]);
  h.server_version = load_be16(&r[25]);
  const std::size_t cookie_len = r[27];
  if (h.content_type != kContentHandshake) return fail("content type is not handshake");
  if (h.msg_type != kHelloVerifyRequest) return fail("handshake type is not hello_verify_request");
  if (r.size() != 28 + cookie_len) return fail("datagram length is not 28 + cookie length");
  if (h.record_length != r.size() - 13) return fail("record length disagrees with the datagram");
  if (h.message_length != 3 + cookie_len) return fail("message length is not 3 + cookie length");
  if (h.fragment_offset != 0 || h.fragment_length != h.message_length)
    return fail("HVR is fragmented");
  h.cookie.assign(r.begin() + 28, r.end());
  return h;
}

struct OpenSslHelloClient::State {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  BIO* from_server = nullptr;  // owned by ssl
  BIO* to_server = nullptr;    // owned by ssl
};

OpenSslHelloClient::OpenSslHelloClient() : state_(new State) {
  state_->ctx = SSL_CTX_new(DTLS_client_method());
  state_->ssl = SSL_new(state_->ctx);
  state_->from_server = BIO_new(BIO_s_mem());
  state_->to_server = BIO_new(BIO_s_mem());
  // A memory BIO cannot report a path MTU: give one, as a UDP client on Ethernet would have.
  SSL_set_options(state_->ssl, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(state_->ssl, 1400);
  SSL_set_bio(state_->ssl, state_->from_server, state_->to_server);
  SSL_set_connect_state(state_->ssl);
}

OpenSslHelloClient::~OpenSslHelloClient() {
  SSL_free(state_->ssl);
  SSL_CTX_free(state_->ctx);
  delete state_;
}

Bytes OpenSslHelloClient::drain() {
  Bytes out(BIO_ctrl_pending(state_->to_server));
  if (!out.empty()) {
    const int n = BIO_read(state_->to_server, out.data(), static_cast<int>(out.size()));
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  return out;
}

Bytes OpenSslHelloClient::first_client_hello() {
  SSL_do_handshake(state_->ssl);  // wants to read: the ClientHello is in to_server
  return drain();
}

Bytes OpenSslHelloClient::respond(std::span<const uint8_t> datagram) {
  BIO_write(state_->from_server, datagram.data(), static_cast<int>(datagram.size()));
  SSL_do_handshake(state_->ssl);
  return drain();
}

}  // namespace dtlsgate::test
