#include "flood/client_hello_source.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <string>

#include "dtlsgate/printable.h"
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

// The pcap link types whose records hold an IP packet this reader can find: Ethernet, Linux
// "cooked" headers (what tcpdump -i any writes) and raw IP. Records of the others are rewritten
// as untagged Ethernet frames, so that one parser (the filter's own) reads them all.
enum class Link : uint8_t { kEthernet, kLinuxCooked, kLinuxCooked2, kRawIp, kRawIpv4, kRawIpv6 };

std::optional<Link> link_of(uint32_t link_type) {
  switch (link_type) {
    case 1:
      return Link::kEthernet;
    case 113:
      return Link::kLinuxCooked;  // LINKTYPE_LINUX_SLL: 16-byte header, protocol at 14
    case 276:
      return Link::kLinuxCooked2;  // LINKTYPE_LINUX_SLL2: 20-byte header, protocol at 0
    case 101:
      return Link::kRawIp;  // LINKTYPE_RAW: the IP version nibble tells
    case 228:
      return Link::kRawIpv4;
    case 229:
      return Link::kRawIpv6;
    default:
      return std::nullopt;
  }
}

// The record as an Ethernet frame: the record itself for Ethernet, else a copy behind a
// zero-address Ethernet header in *scratch. Empty when the record cannot hold an IP packet.
std::span<const uint8_t> as_ethernet(Link link, const uint8_t* record, std::size_t len,
                                     std::vector<uint8_t>* scratch) {
  constexpr std::size_t kEthHeader = 14;
  if (link == Link::kEthernet) return {record, len};
  std::size_t header = 0;
  uint16_t ether_type = 0;
  switch (link) {
    case Link::kLinuxCooked:
      header = 16;
      if (len >= header) ether_type = static_cast<uint16_t>(record[14] << 8 | record[15]);
      break;
    case Link::kLinuxCooked2:
      header = 20;
      if (len >= header) ether_type = static_cast<uint16_t>(record[0] << 8 | record[1]);
      break;
    case Link::kRawIp:
      if (len >= 1) ether_type = (record[0] >> 4) == 6 ? kEtherTypeIpv6 : kEtherTypeIpv4;
      break;
    case Link::kRawIpv4:
      ether_type = kEtherTypeIpv4;
      break;
    case Link::kRawIpv6:
      ether_type = kEtherTypeIpv6;
      break;
    case Link::kEthernet:
      break;
  }
  if (len < header || ether_type == 0 || kEthHeader + (len - header) > 0xffff) return {};
  scratch->assign(kEthHeader, 0);
  scratch->at(12) = static_cast<uint8_t>(ether_type >> 8);
  scratch->at(13) = static_cast<uint8_t>(ether_type);
  scratch->insert(scratch->end(), record + header, record + len);
  return {scratch->data(), scratch->size()};
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
    *error = "--pcap " + printable(path) + ": cannot open";
    return {};
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                   std::istreambuf_iterator<char>());
  std::vector<uint8_t> hello = client_hello_from_pcap_bytes(bytes.data(), bytes.size(), error);
  if (hello.empty()) *error = "--pcap " + printable(path) + ": " + *error;
  return hello;
}

std::vector<uint8_t> client_hello_from_pcap_bytes(const uint8_t* bytes, std::size_t size,
                                                  std::string* error) {
  constexpr std::size_t kGlobalHeaderLen = 24;
  constexpr std::size_t kRecordHeaderLen = 16;
  if (size < kGlobalHeaderLen) {
    *error = "not a pcap file (too short)";
    return {};
  }
  const uint32_t magic = load_u32(bytes, false);
  // Microsecond (a1b2c3d4) or nanosecond (a1b23c4d) timestamps, either byte order.
  bool swapped = false;
  if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
    swapped = true;
  } else if (magic == 0x0a0d0d0a) {  // a pcapng section header block
    *error = "pcapng is not supported (convert it: editcap -F pcap IN OUT)";
    return {};
  } else if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
    *error = "not a pcap file (no pcap magic number)";
    return {};
  }
  const uint32_t link_type = load_u32(bytes + 20, swapped);
  const std::optional<Link> link = link_of(link_type);
  if (!link) {
    *error = "link type " + std::to_string(link_type) +
             " is not supported (Ethernet, Linux cooked or raw IP)";
    return {};
  }
  std::vector<uint8_t> scratch;
  for (std::size_t at = kGlobalHeaderLen; size - at >= kRecordHeaderLen;) {
    const uint32_t captured = load_u32(bytes + at + 8, swapped);
    const std::size_t record_at = at + kRecordHeaderLen;
    if (captured > 0xffff || captured > size - record_at) break;  // a cut-off last record
    at = record_at + captured;
    const std::span<const uint8_t> ethernet =
        as_ethernet(*link, bytes + record_at, captured, &scratch);
    const uint8_t* frame = ethernet.data();
    const auto frame_len = static_cast<uint16_t>(ethernet.size());
    FrameView view;
    Verdict drop = Verdict::kDropTruncated;
    if (frame_len == 0 || !parse_l2_l3(frame, frame_len, &view, &drop) ||
        view.kind == L3Kind::kArp || view.l4_proto != kIpProtoUdp || view.l4_len < 8) {
      continue;
    }
    // Captures from loopback carry partial checksums, so parse_udp (which checks them) is not
    // used; only the payload matters here. The UDP length must fit the IP payload, which
    // parse_l2_l3 has checked against the capture.
    const uint8_t* udp = frame + view.l4;
    const uint16_t udp_len = static_cast<uint16_t>(udp[4] << 8 | udp[5]);
    if (udp_len < 8 || udp_len > view.l4_len) continue;
    const uint8_t* payload = udp + 8;
    const auto payload_len = static_cast<uint16_t>(udp_len - 8);
    if (is_cookie_less_hello(payload, payload_len)) {
      return std::vector<uint8_t>(payload, payload + payload_len);
    }
  }
  *error = "no cookie-less DTLS ClientHello in it";
  return {};
}

}  // namespace dtlsgate::flood
