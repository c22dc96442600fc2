// The fast path tests some rules as one combined expression and falls back to the ranked,
// check-by-check form only to name a failure. Specified here: the two forms give the same
// answer for every single-byte change (all 256 values) of every header byte of a valid frame
// and of a valid ClientHello, plus truncations, so the combined test never lets through what
// the ranked rules refuse, and never refuses what they let through (which would only cost
// speed, but would mean the two had drifted apart).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "dtlsgate/wire/client_hello.h"
#include "dtlsgate/wire/packet.h"
#include "support/frame_builder.h"

namespace dtlsgate {
namespace {

using test::Bytes;

std::string where(std::size_t at, int value) {
  return "byte " + std::to_string(at) + " = " + std::to_string(value);
}

void expect_same_hello_header_answer(const Bytes& payload, std::size_t len,
                                     const std::string& what) {
  Verdict drop = Verdict::kReplyHvr;
  const bool ranked =
      detail::hello_headers_pass_in_order(payload.data(), static_cast<uint16_t>(len), &drop);
  const bool at_once =
      detail::hello_headers_pass_at_once(payload.data(), static_cast<uint16_t>(len));
  EXPECT_EQ(at_once, ranked) << what << " (ranked: " << (ranked ? "pass" : verdict_name(drop))
                             << ")";
}

TEST(FastPathEquivalence, HelloHeaderRulesAtOnceAndInOrderAgree) {
  for (uint16_t message_seq : {0, 1}) {
    test::ClientHelloSpec hello;
    const Bytes valid = test::client_hello_record(hello, test::kDtls10, message_seq, message_seq);
    {
      SCOPED_TRACE("unchanged, message_seq " + std::to_string(message_seq));
      expect_same_hello_header_answer(valid, valid.size(), "unchanged");
    }
    // Record header (13) and handshake header (12): every value of every byte.
    for (std::size_t at = 0; at < 25; ++at) {
      for (int value = 0; value < 256; ++value) {
        Bytes changed = valid;
        changed[at] = static_cast<uint8_t>(value);
        expect_same_hello_header_answer(changed, changed.size(), where(at, value));
      }
    }
    // Datagrams cut short, and with bytes after the record.
    for (std::size_t len = 0; len <= valid.size(); ++len) {
      expect_same_hello_header_answer(valid, len, "cut to " + std::to_string(len));
    }
    Bytes longer = valid;
    longer.resize(valid.size() + 7, 0xee);
    expect_same_hello_header_answer(longer, longer.size(), "7 bytes after the record");
  }
}

void expect_same_l2_l3_answer(const Bytes& frame, std::size_t len, RxChecksums rx,
                              const std::string& what) {
  FrameView walked;
  FrameView at_once;
  Verdict drop = Verdict::kReplyHvr;
  const auto n = static_cast<uint16_t>(len);
  const bool walk_ok = detail::parse_l2_l3_walk(frame.data(), n, &walked, &drop, rx);
  const bool fast_ok = detail::untagged_ipv4_passes_at_once(frame.data(), n, &at_once, rx);
  if (fast_ok) {
    // What the fast form accepts, the walk accepts, with the same view.
    ASSERT_TRUE(walk_ok) << what << ": the walk refuses it (" << verdict_name(drop) << ")";
    EXPECT_EQ(at_once.kind, walked.kind) << what;
    EXPECT_EQ(at_once.l3, walked.l3) << what;
    EXPECT_EQ(at_once.l4, walked.l4) << what;
    EXPECT_EQ(at_once.l4_len, walked.l4_len) << what;
    EXPECT_EQ(at_once.l4_proto, walked.l4_proto) << what;
    return;
  }
  // What the fast form passes on is either not its shape (tags, options, IPv6, ARP) or refused
  // by the walk too.
  const bool its_shape = len >= 34 && frame[12] == 0x08 && frame[13] == 0x00 && frame[14] == 0x45;
  if (its_shape) {
    EXPECT_FALSE(walk_ok) << what << ": the walk accepts what the fast form refused";
  }
}

TEST(FastPathEquivalence, UntaggedIpv4AtOnceAndTheWalkAgree) {
  test::UdpFrameSpec spec;
  const Bytes valid = test::build_udp_frame(spec, Bytes(40, 0x16));
  for (RxChecksums rx : {RxChecksums{}, RxChecksums{true, true}}) {
    SCOPED_TRACE(rx.ipv4_header_good ? "NIC marked the header good" : "software checksums");
    expect_same_l2_l3_answer(valid, valid.size(), rx, "unchanged");
    // Ethertype, the whole IPv4 header, and the first UDP byte: every value of every byte.
    for (std::size_t at = 12; at < 14 + 20 + 1; ++at) {
      for (int value = 0; value < 256; ++value) {
        Bytes changed = valid;
        changed[at] = static_cast<uint8_t>(value);
        expect_same_l2_l3_answer(changed, changed.size(), rx, where(at, value));
      }
    }
    for (std::size_t len = 0; len <= valid.size(); ++len) {
      expect_same_l2_l3_answer(valid, len, rx, "cut to " + std::to_string(len));
    }
  }
}

}  // namespace
}  // namespace dtlsgate
