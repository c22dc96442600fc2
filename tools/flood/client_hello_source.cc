#include "flood/client_hello_source.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "dtlsgate/wire/client_hello.h"
#include "dtlsgate/wire/packet.h"

namespace dtlsgate::flood {
namespace {

std::string openssl_reason(const char* what) {
  char text[256] = "no OpenSSL error recorded";
  if (const unsigned long code = ERR_get_error(); code != 0) {
    ERR_error_string_n(code, text, sizeof text);
  }
  return std::string(what) + ": " + text;
}

bool is_cookie_less_hello(const uint8_t* payload, uint16_t len) {
  ClientHelloView hello;
  Verdict drop = Verdict::kDropTruncated;
  return parse_client_hello(payload, len, &hello, &drop) && hello.cookie_len == 0;
}

uint32_t load_u32(const uint8_t* p, bool swapped) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swapped ? __builtin_bswap32(v) : v;
}

}  // namespace

std::vector<uint8_t> openssl_client_hello(std::string* error) {
  SSL_CTX* ctx = SSL_CTX_new(DTLS_client_method());
  if (ctx == nullptr) {
    *error = openssl_reason("SSL_CTX_new");
    return {};
  }
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  std::vector<uint8_t> datagram;
  if (ssl == nullptr || in == nullptr || out == nullptr) {
    *error = openssl_reason("SSL_new/BIO_new");
    BIO_free(in);
    BIO_free(out);
  } else {
    SSL_set_bio(ssl, in, out);  // ssl owns both BIOs now
    // A memory BIO has no path MTU to query: give it the Ethernet one.
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl, 1500);
    SSL_set_connect_state(ssl);
    const int rc = SSL_do_handshake(ssl);
    char* data = nullptr;
    const long len = BIO_get_mem_data(out, &data);
    if (rc == 1 || SSL_get_error(ssl, rc) != SSL_ERROR_WANT_READ || len <= 0) {
      *error = openssl_reason("OpenSSL client wrote no ClientHello");
    } else {
      datagram.assign(data, data + len);
      if (!is_cookie_less_hello(datagram.data(), static_cast<uint16_t>(datagram.size()))) {
        *error = "OpenSSL's first datagram does not parse as a cookie-less ClientHello";
        datagram.clear();
      }
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return datagram;
}

std::vector<uint8_t> client_hello_from_pcap(const std::string& path, std::string* error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    *error = "--pcap " + path + ": cannot open";
    return {};
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                   std::istreambuf_iterator<char>());
  constexpr std::size_t kGlobalHeaderLen = 24;
  constexpr std::size_t kRecordHeaderLen = 16;
  constexpr uint32_t kLinkTypeEthernet = 1;
  if (bytes.size() < kGlobalHeaderLen) {
    *error = "--pcap " + path + ": not a pcap file (too short)";
    return {};
  }
  const uint32_t magic = load_u32(bytes.data(), false);
  // Microsecond (a1b2c3d4) or nanosecond (a1b23c4d) timestamps, either byte order.
  bool swapped = false;
  if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
    swapped = true;
  } else if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
    *error = "--pcap " + path + ": not a pcap file (pcapng is not supported)";
    return {};
  }
  if (load_u32(bytes.data() + 20, swapped) != kLinkTypeEthernet) {
    *error = "--pcap " + path + ": link type is not Ethernet";
    return {};
  }
  for (std::size_t at = kGlobalHeaderLen; at + kRecordHeaderLen <= bytes.size();) {
    const uint32_t captured = load_u32(bytes.data() + at + 8, swapped);
    const std::size_t frame_at = at + kRecordHeaderLen;
    if (captured > 0xffff || frame_at + captured > bytes.size()) break;
    at = frame_at + captured;
    const uint8_t* frame = bytes.data() + frame_at;
    FrameView view;
    Verdict drop = Verdict::kDropTruncated;
    if (!parse_l2_l3(frame, static_cast<uint16_t>(captured), &view, &drop) ||
        view.kind == L3Kind::kArp || view.l4_proto != kIpProtoUdp) {
      continue;
    }
    // Captures from loopback carry partial checksums; only the payload matters here.
    const uint8_t* udp = frame + view.l4;
    const uint16_t udp_len = static_cast<uint16_t>(udp[4] << 8 | udp[5]);
    if (udp_len < 8 || view.l4 + udp_len > captured) continue;
    const uint8_t* payload = udp + 8;
    const uint16_t payload_len = static_cast<uint16_t>(udp_len - 8);
    if (is_cookie_less_hello(payload, payload_len)) {
      return std::vector<uint8_t>(payload, payload + payload_len);
    }
  }
  *error = "--pcap " + path + ": no cookie-less DTLS ClientHello in it";
  return {};
}

}  // namespace dtlsgate::flood
