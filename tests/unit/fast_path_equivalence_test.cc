// The fast path tests some rules as one combined expression and falls back to the ranked,
// check-by-check form only to name a failure. Specified here: the two forms give the same
// answer for every single-byte change (all 256 values) of every header byte of a valid frame
// and of a valid ClientHello, plus truncations, so the combined test never lets through what
// the ranked rules refuse, and never refuses what they let through (which would only cost
// speed, but would mean the two had drifted apart). The same for the header predictions
// (UdpToUsPrediction, UdpToUsIpv6Prediction) against the walk, address and port checks and UDP
// parse they replace.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

#include <cstring>

#include "dtlsgate/bytes.h"
#include "dtlsgate/wire/client_hello.h"
#include "dtlsgate/wire/packet.h"
#include "dtlsgate/wire/udp_prediction.h"
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

// The fields a fast form fills must be the walk's (the payload fields only after UDP).
void expect_same_view(const FrameView& fast, const FrameView& walked, bool through_udp,
                      const std::string& what) {
  EXPECT_EQ(fast.kind, walked.kind) << what;
  EXPECT_EQ(fast.l4_proto, walked.l4_proto) << what;
  EXPECT_EQ(fast.l3, walked.l3) << what;
  EXPECT_EQ(fast.l4, walked.l4) << what;
  EXPECT_EQ(fast.l4_len, walked.l4_len) << what;
  if (through_udp) {
    EXPECT_EQ(fast.payload, walked.payload) << what;
    EXPECT_EQ(fast.payload_len, walked.payload_len) << what;
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
    expect_same_view(at_once, walked, false, what);
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

// What the prediction replaces: the walk, then the classifier's address and port checks, then
// the UDP header and checksum.
bool walk_udp_to_us(const Bytes& frame, uint16_t n, RxChecksums rx, const Bytes& address,
                    uint16_t port, FrameView* v) {
  Verdict drop = Verdict::kReplyHvr;
  if (!parse_l2_l3(frame.data(), n, v, &drop, rx)) return false;
  if (v->kind != L3Kind::kIpv4 || v->l4_proto != kIpProtoUdp) return false;
  if (std::memcmp(frame.data() + v->l3 + 16, address.data(), 4) != 0) return false;
  if (v->l4_len < 8 || load_be16(frame.data() + v->l4 + 2) != port) return false;
  return parse_udp(frame.data(), v, &drop, rx);
}

void expect_same_udp_to_us_answer(const UdpToUsPrediction& prediction, const Bytes& frame,
                                  std::size_t len, RxChecksums rx, const test::UdpFrameSpec& spec,
                                  const std::string& what) {
  const Bytes address = test::parse_ip(spec.dst_ip);
  const auto n = static_cast<uint16_t>(len);
  FrameView walked;
  FrameView predicted;
  const bool walk_ok = walk_udp_to_us(frame, n, rx, address, spec.dst_port, &walked);
  if (prediction.predict(frame.data(), n, rx, &predicted)) {
    ASSERT_TRUE(walk_ok) << what << ": predicted, but the walk refuses it";
    expect_same_view(predicted, walked, true, what);
    return;
  }
  // Not predicted: not its shape (tags, options, another address or port, too short to
  // compare), or refused by the walk too.
  const bool its_shape = len >= UdpToUsPrediction::kFirst + UdpToUsPrediction::kSpan &&
                         frame[12] == 0x08 && frame[13] == 0x00 && frame[14] == 0x45 &&
                         std::memcmp(&frame[30], address.data(), 4) == 0 &&
                         load_be16(&frame[36]) == spec.dst_port;
  if (its_shape) {
    EXPECT_FALSE(walk_ok) << what << ": the walk accepts what was not predicted";
  }
}

TEST(FastPathEquivalence, UdpToUsPredictionAndTheWalkAgree) {
  for (bool udp_checksum : {true, false}) {
    test::UdpFrameSpec spec;
    spec.udp_checksum = udp_checksum;
    const Bytes valid = test::build_udp_frame(spec, Bytes(40, 0x16));
    const Bytes address = test::parse_ip(spec.dst_ip);
    const UdpToUsPrediction prediction({address[0], address[1], address[2], address[3]},
                                       spec.dst_port);
    FrameView view;
    ASSERT_TRUE(prediction.predict(valid.data(), static_cast<uint16_t>(valid.size()), {}, &view))
        << "the valid frame is predicted";
    for (RxChecksums rx : {RxChecksums{}, RxChecksums{true, false}, RxChecksums{false, true},
                           RxChecksums{true, true}}) {
      SCOPED_TRACE(std::string(udp_checksum ? "UDP checksum" : "no UDP checksum") +
                   (rx.ipv4_header_good ? ", IP header marked good" : "") +
                   (rx.l4_good ? ", UDP marked good" : ""));
      expect_same_udp_to_us_answer(prediction, valid, valid.size(), rx, spec, "unchanged");
      // Ethernet, IPv4 and UDP headers and the first payload bytes: every value of every byte.
      for (std::size_t at = 0; at < 14 + 20 + 8 + 4; ++at) {
        for (int value = 0; value < 256; ++value) {
          Bytes changed = valid;
          changed[at] = static_cast<uint8_t>(value);
          expect_same_udp_to_us_answer(prediction, changed, changed.size(), rx, spec,
                                       where(at, value));
        }
      }
      for (std::size_t len = 0; len <= valid.size(); ++len) {
        expect_same_udp_to_us_answer(prediction, valid, len, rx, spec,
                                     "cut to " + std::to_string(len));
      }
      Bytes padded = valid;
      padded.resize(valid.size() + 6, 0);
      expect_same_udp_to_us_answer(prediction, padded, padded.size(), rx, spec,
                                   "Ethernet padding after the datagram");
    }
  }
  // Predicting nothing is always right.
  test::UdpFrameSpec spec;
  const Bytes valid = test::build_udp_frame(spec, Bytes(40, 0x16));
  FrameView view;
  EXPECT_FALSE(
      UdpToUsPrediction{}.predict(valid.data(), static_cast<uint16_t>(valid.size()), {}, &view));
}

// What the IPv6 prediction replaces: the walk, then the classifier's address and port checks
// (parse_udp runs after either, so it is not part of the comparison).
bool walk_ipv6_udp_to_us(const Bytes& frame, uint16_t n, const Bytes& address, uint16_t port,
                         FrameView* v) {
  Verdict drop = Verdict::kReplyHvr;
  if (!parse_l2_l3(frame.data(), n, v, &drop, {})) return false;
  if (v->kind != L3Kind::kIpv6 || v->l4_proto != kIpProtoUdp) return false;
  if (std::memcmp(frame.data() + v->l3 + 24, address.data(), 16) != 0) return false;
  // The classifier refuses a too-short UDP length before it reads the port; parse_udp refuses
  // it after a prediction the same way (kDropBadUdpLength), so either verdict is the same.
  return v->l4_len < 8 || load_be16(frame.data() + v->l4 + 2) == port;
}

void expect_same_ipv6_udp_to_us_answer(const UdpToUsIpv6Prediction& prediction, const Bytes& frame,
                                       std::size_t len, const test::UdpFrameSpec& spec,
                                       const std::string& what) {
  const Bytes address = test::parse_ip(spec.dst_ip);
  const auto n = static_cast<uint16_t>(len);
  FrameView walked;
  FrameView predicted;
  const bool walk_ok = walk_ipv6_udp_to_us(frame, n, address, spec.dst_port, &walked);
  if (prediction.predict(frame.data(), n, &predicted)) {
    ASSERT_TRUE(walk_ok) << what << ": predicted, but the walk refuses it";
    expect_same_view(predicted, walked, false, what);
    return;
  }
  // Not predicted: not its shape (tags, an extension header, another address or port, too
  // short to compare), or refused by the walk too.
  const bool its_shape = len >= UdpToUsIpv6Prediction::kEnd && frame[12] == 0x86 &&
                         frame[13] == 0xdd && (frame[14] >> 4) == 6 && frame[20] == kIpProtoUdp &&
                         std::memcmp(&frame[38], address.data(), 16) == 0 &&
                         load_be16(&frame[56]) == spec.dst_port;
  if (its_shape) {
    EXPECT_FALSE(walk_ok) << what << ": the walk accepts what was not predicted";
  }
}

TEST(FastPathEquivalence, UdpToUsIpv6PredictionAndTheWalkAgree) {
  test::UdpFrameSpec spec;
  spec.src_ip = "2001:db8:1::10";
  spec.dst_ip = "2001:db8::1";
  const Bytes valid = test::build_udp_frame(spec, Bytes(40, 0x16));
  const Bytes address = test::parse_ip(spec.dst_ip);
  std::array<uint8_t, 16> ours{};
  std::memcpy(ours.data(), address.data(), 16);
  const UdpToUsIpv6Prediction prediction(ours, spec.dst_port);
  FrameView view;
  ASSERT_TRUE(prediction.predict(valid.data(), static_cast<uint16_t>(valid.size()), &view))
      << "the valid frame is predicted";
  expect_same_ipv6_udp_to_us_answer(prediction, valid, valid.size(), spec, "unchanged");
  // Ethernet, IPv6 and UDP headers and the first payload bytes: every value of every byte.
  for (std::size_t at = 0; at < 14 + 40 + 8 + 4; ++at) {
    for (int value = 0; value < 256; ++value) {
      Bytes changed = valid;
      changed[at] = static_cast<uint8_t>(value);
      expect_same_ipv6_udp_to_us_answer(prediction, changed, changed.size(), spec,
                                        where(at, value));
    }
  }
  for (std::size_t len = 0; len <= valid.size(); ++len) {
    expect_same_ipv6_udp_to_us_answer(prediction, valid, len, spec,
                                      "cut to " + std::to_string(len));
  }
  Bytes padded = valid;
  padded.resize(valid.size() + 6, 0);
  expect_same_ipv6_udp_to_us_answer(prediction, padded, padded.size(), spec,
                                    "Ethernet padding after the datagram");
  // The IPv4 frame of the same test is not its shape; predicting nothing is always right.
  test::UdpFrameSpec ipv4;
  const Bytes ipv4_frame = test::build_udp_frame(ipv4, Bytes(40, 0x16));
  EXPECT_FALSE(
      prediction.predict(ipv4_frame.data(), static_cast<uint16_t>(ipv4_frame.size()), &view));
  EXPECT_FALSE(
      UdpToUsIpv6Prediction{}.predict(valid.data(), static_cast<uint16_t>(valid.size()), &view));
}

}  // namespace
}  // namespace dtlsgate
