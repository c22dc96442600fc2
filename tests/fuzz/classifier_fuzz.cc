// libFuzzer target over Classifier::classify: any byte string as a received frame.
//
// Besides memory safety (ASan/UBSan), it checks what must hold for every input:
//   - classification is deterministic (same bytes, same verdict, same output bytes);
//   - header prediction changes nothing: without it, the same verdict, bytes and pass;
//   - a reply is never longer than the request (no amplification);
//   - only replies change the frame; passes and drops leave every byte alone;
//   - a pass names a payload inside the frame, and a flow with our address and port;
//   - an HVR parses as DESIGN.md's layout (17-byte cookie, versions FE FF, message_seq 0),
//     with a valid IPv4 header checksum and UDP checksum, sent from our address and port.
// Any crash found here becomes a row in tests/unit/classifier_test.cc.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dtlsgate/bytes.h"
#include "dtlsgate/checksum.h"
#include "fuzz/fuzz_world.h"
#include "support/frame_builder.h"

namespace {

using namespace dtlsgate;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

bool is_ours(const Endpoint& e) {
  if (e.port != fuzz::kOurPort) return false;
  return e.family == AddressFamily::kIpv4
             ? std::memcmp(e.addr.data(), fuzz::kOurIpv4.data(), 4) == 0
             : std::memcmp(e.addr.data(), fuzz::kOurIpv6.data(), 16) == 0;
}

void check_hvr(const uint8_t* f, std::size_t len) {
  const auto p = test::parse_frame({f, len});
  require(p.has_value(), "HVR frame walks");
  require(p->protocol == 17 && p->l4 + 8 <= len, "HVR is UDP");
  require(p->l4_end == len, "HVR IP length covers exactly the frame");
  const uint8_t* udp = f + p->l4;
  const std::size_t udp_len = len - p->l4;
  require(load_be16(udp) == fuzz::kOurPort, "HVR leaves from our port");
  require(load_be16(udp + 4) == udp_len, "HVR UDP length");
  if (p->ipv6) {
    require(std::memcmp(f + p->l3 + 8, fuzz::kOurIpv6.data(), 16) == 0, "HVR from our IPv6");
    require(udp_checksum_valid_ipv6(f + p->l3 + 8, f + p->l3 + 24, udp, udp_len),
            "HVR UDP checksum (IPv6)");
  } else {
    require(std::memcmp(f + p->l3 + 12, fuzz::kOurIpv4.data(), 4) == 0, "HVR from our IPv4");
    require(ipv4_header_valid(f + p->l3, p->l4 - p->l3), "HVR IPv4 header checksum");
    require(load_be16(udp + 6) == 0 ||
                udp_checksum_valid_ipv4(f + p->l3 + 12, f + p->l3 + 16, udp, udp_len),
            "HVR UDP checksum (IPv4)");
  }
  const auto h = test::parse_hvr({udp + 8, udp_len - 8});
  require(h.has_value(), "HVR record parses");
  require(h->record_version == 0xfeff && h->server_version == 0xfeff, "HVR versions FE FF");
  require(h->epoch == 0 && h->message_seq == 0, "HVR epoch 0, message_seq 0");
  require(h->cookie.size() == kCookieLen, "HVR cookie length");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size > 65535) return 0;
  const fuzz::World& w = fuzz::world();
  // Exactly the input's bytes in a heap buffer of their own: ASan flags any read past the end.
  std::vector<uint8_t> first(data, data + size);
  std::vector<uint8_t> second(data, data + size);
  FrameRef a{first.data(), static_cast<uint16_t>(size), static_cast<uint16_t>(size)};
  FrameRef b{second.data(), static_cast<uint16_t>(size), 0};
  PassInfo pass_a{};
  PassInfo pass_b{};
  const Verdict v = w.classifier.classify(w.keys(), a, &pass_a);
  const Verdict again = w.classifier.classify(w.keys(), b, &pass_b);
  std::vector<uint8_t> third(data, data + size);
  FrameRef c{third.data(), static_cast<uint16_t>(size), static_cast<uint16_t>(size)};
  PassInfo pass_c{};
  const Verdict walked = w.unpredicted.classify(w.keys(), c, &pass_c);

  require(static_cast<std::size_t>(v) < kVerdictCount, "verdict in range");
  require(v == again, "deterministic verdict");
  require(a.len == b.len && (a.len == 0 || std::memcmp(first.data(), second.data(), a.len) == 0),
          "deterministic output");
  require(walked == v, "same verdict without header prediction");
  require(c.len == a.len && (a.len == 0 || std::memcmp(first.data(), third.data(), a.len) == 0),
          "same output without header prediction");
  require(pass_c.flow == pass_a.flow && pass_c.payload_offset == pass_a.payload_offset &&
              pass_c.payload_len == pass_a.payload_len,
          "same pass without header prediction");
  require(a.len <= size, "reply not longer than request");
  switch (v) {
    case Verdict::kReplyHvr:
      check_hvr(first.data(), a.len);
      break;
    case Verdict::kReplyArp:
    case Verdict::kReplyNd:
      require(a.len >= 42, "ARP/ND reply holds its headers");
      break;
    case Verdict::kPassVerified:
    case Verdict::kPassFlow:
      require(pass_a.payload_offset + pass_a.payload_len <= size, "payload inside the frame");
      require(is_ours(pass_a.flow.server), "passed flow is to our address and port");
      [[fallthrough]];
    default:
      require(a.len == size && (size == 0 || std::memcmp(first.data(), data, size) == 0),
              "passes and drops leave the frame alone");
  }
  return 0;
}
