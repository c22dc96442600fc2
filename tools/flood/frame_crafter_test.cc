// What dtlsgate-flood and the pipeline bench send must be what they claim: each kind of frame
// gets the verdict it is named after from the real classifier, for both address families, and
// the mix and source parsers mean what the usage text says.
#include "flood/frame_crafter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "dtlsgate/classifier.h"
#include "dtlsgate/flow_table.h"
#include "flood/client_hello_source.h"
#include "flood/mix.h"
#include "flood/source_range.h"

namespace dtlsgate::flood {
namespace {

struct Target {
  Target() {
    std::string error;
    hello = openssl_client_hello(&error);
    EXPECT_FALSE(hello.empty()) << error;
    Endpoint v4;
    v4.port = 4433;
    EXPECT_TRUE(parse_address("192.0.2.1", &v4, &error));
    Endpoint v6;
    v6.port = 4433;
    EXPECT_TRUE(parse_address("2001:db8::1", &v6, &error));
    spec.ipv4 = v4;
    spec.ipv6 = v6;
    secret.master.fill(0x5a);
    config.ipv4.push_back({192, 0, 2, 1});
    config.ipv6.push_back({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    config.ports = {4433};
    config.mac = spec.dst_mac;
  }
  std::vector<uint8_t> hello;
  TargetSpec spec;
  TargetSecret secret;
  ClassifierConfig config;
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
};

Verdict classify_crafted(const Target& t, Kind kind, const std::string& source_prefix,
                         uint64_t seed) {
  const FrameCrafter crafter(t.hello, t.spec, t.secret, t.now, seed);
  CookieKeyring keyring(t.secret.master, t.secret.rotation_seconds, t.now);
  FlowTable flows(1024);
  const Classifier classifier(t.config, &flows);
  SourceRange sources;
  std::string error;
  EXPECT_TRUE(parse_prefix(source_prefix, &sources, &error)) << error;
  FastRandom random(seed);
  const FrameTemplate& tpl = crafter.frame_template(kind, sources.family);
  std::vector<uint8_t> frame(2048);
  std::copy(tpl.bytes.begin(), tpl.bytes.end(), frame.begin());
  crafter.patch(tpl, frame.data(), sources.draw(random), random);
  FrameRef ref{frame.data(), static_cast<uint16_t>(tpl.bytes.size()),
               static_cast<uint16_t>(frame.size())};
  return classifier.classify(*keyring.snapshot(), ref, nullptr);
}

TEST(FrameCrafter, EveryKindGetsTheVerdictItIsNamedAfterInBothFamilies) {
  const Target target;
  struct Case {
    Kind kind;
    Verdict expected;
  };
  const Case cases[] = {
      {Kind::kHvr, Verdict::kReplyHvr},
      {Kind::kVerify, Verdict::kPassVerified},
      {Kind::kStale, Verdict::kDropExpiredCookie},
      {Kind::kForged, Verdict::kDropBadCookie},
      {Kind::kReplay, Verdict::kDropBadCookie},
      {Kind::kNonDtls, Verdict::kDropNotForUs},
      {Kind::kNonUdp, Verdict::kDropNotUdp},
  };
  for (const char* prefix : {"10.0.0.0/8", "2001:db8:ff00::/40"}) {
    for (const Case& c : cases) {
      // Several sources each: the checksum patch must hold for any address and port.
      for (uint64_t seed = 1; seed <= 50; ++seed) {
        EXPECT_EQ(verdict_name(classify_crafted(target, c.kind, prefix, seed)),
                  verdict_name(c.expected))
            << kind_name(c.kind) << " from " << prefix << " seed " << seed;
      }
    }
  }
}

TEST(FrameCrafter, ABurstIsPatchedByteForByteAsFrameByFrame) {
  // patch_burst batches the cookies (two key sets, interleaved MACs) but must send exactly
  // what patch() would: every kind, both families, bursts longer than one batch chunk and a
  // ragged last chunk, the same draws from the random source.
  const Target target;
  const FrameCrafter crafter(target.hello, target.spec, target.secret, target.now, 9);
  constexpr std::size_t kFrames = 2 * CookieBatch::kMaxBurst + 7;
  for (const char* prefix : {"10.0.0.0/8", "2001:db8:ff00::/40"}) {
    SourceRange sources;
    std::string error;
    ASSERT_TRUE(parse_prefix(prefix, &sources, &error)) << error;
    FastRandom draw(5);
    std::vector<std::vector<uint8_t>> one_by_one(kFrames);
    std::vector<std::vector<uint8_t>> burst(kFrames);
    std::vector<PatchJob> jobs(kFrames);
    for (std::size_t i = 0; i < kFrames; ++i) {
      const Kind kind = static_cast<Kind>(i % kKindCount);
      const FrameTemplate& tpl = crafter.frame_template(kind, sources.family);
      one_by_one[i] = tpl.bytes;
      burst[i] = tpl.bytes;
      jobs[i] = PatchJob{&tpl, burst[i].data(), sources.draw(draw)};
    }
    FastRandom random_a(77);
    for (std::size_t i = 0; i < kFrames; ++i) {
      crafter.patch(*jobs[i].t, one_by_one[i].data(), jobs[i].source, random_a);
    }
    FastRandom random_b(77);
    crafter.patch_burst(jobs.data(), jobs.size(), random_b);
    for (std::size_t i = 0; i < kFrames; ++i) {
      EXPECT_EQ(burst[i], one_by_one[i])
          << prefix << " frame " << i << " (" << kind_name(jobs[i].t->kind) << ")";
    }
  }
}

TEST(FrameCrafter, GarbageIsDroppedButNeverForAChecksum) {
  const Target target;
  for (const char* prefix : {"10.0.0.0/8", "2001:db8::/32"}) {
    for (uint64_t seed = 1; seed <= 50; ++seed) {
      const Verdict v = classify_crafted(target, Kind::kGarbage, prefix, seed);
      EXPECT_TRUE(is_drop(v)) << verdict_name(v);
      EXPECT_NE(v, Verdict::kDropBadUdpChecksum);
      EXPECT_NE(v, Verdict::kDropBadIpHeader);
    }
  }
}

TEST(FrameCrafter, HvrRepliesAreRecognisedWithTheirCookieLength) {
  const Target target;
  const FrameCrafter crafter(target.hello, target.spec, target.secret, target.now, 1);
  CookieKeyring keyring(target.secret.master, target.secret.rotation_seconds, target.now);
  const Classifier classifier(target.config, nullptr);
  const FrameTemplate& tpl = crafter.frame_template(Kind::kHvr, AddressFamily::kIpv4);
  std::vector<uint8_t> frame = tpl.bytes;
  FastRandom random(3);
  SourceRange sources;
  std::string error;
  ASSERT_TRUE(parse_prefix("198.51.100.0/24", &sources, &error));
  crafter.patch(tpl, frame.data(), sources.draw(random), random);
  EXPECT_FALSE(inspect_reply(frame.data(), static_cast<uint16_t>(frame.size())).hvr)
      << "a ClientHello is not a reply";
  FrameRef ref{frame.data(), static_cast<uint16_t>(frame.size()), 0};
  ASSERT_EQ(classifier.classify(*keyring.snapshot(), ref, nullptr), Verdict::kReplyHvr);
  const ReplyInfo reply = inspect_reply(frame.data(), ref.len);
  EXPECT_TRUE(reply.hvr);
  EXPECT_EQ(reply.cookie_len, kCookieLen);
}

TEST(Mix, PresetsAndWeightsParseAndBadTextIsRefusedInOneLine) {
  struct Case {
    std::string text;
    bool ok;
  };
  const Case cases[] = {
      {"hvr-only", true},
      {"attack", true},
      {"hvr=70,verify=10", true},
      {"hvr", true},
      {"hvr=0", false},
      {"hvr=x", false},
      {"bogus=1", false},
      {"hvr=-1", false},
      {"", false},
      {"hvr=1000000", true},
      {"hvr=1000001", false},
      // A kind named twice adds up, and the sum is bounded as one weight is.
      {"hvr=600000,verify=1,hvr=400000", true},
      {"hvr=600000,hvr=400001", false},
  };
  for (const Case& c : cases) {
    Mix mix;
    std::string error;
    EXPECT_EQ(parse_mix(c.text, &mix, &error), c.ok) << c.text;
    if (!c.ok) {
      EXPECT_FALSE(error.empty()) << c.text;
      EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    }
  }
}

TEST(Mix, ScheduleHoldsEachKindInProportionAndSpreadsIt) {
  Mix mix;
  std::string error;
  ASSERT_TRUE(parse_mix("hvr=70,verify=10,stale=5,forged=5,replay=5,garbage=5", &mix, &error));
  const std::vector<Kind> schedule = build_schedule(mix);
  ASSERT_EQ(schedule.size(), 20u);  // weights reduced by their gcd (5)
  std::map<Kind, int> count;
  for (Kind k : schedule) ++count[k];
  EXPECT_EQ(count[Kind::kHvr], 14);
  EXPECT_EQ(count[Kind::kVerify], 2);
  EXPECT_EQ(count[Kind::kStale], 1);
  // Spread: no run of the same minor kind; hvr never more than 4 in a row out of 14/20.
  int run = 0;
  for (std::size_t i = 0; i < schedule.size(); ++i) {
    run = i > 0 && schedule[i] == schedule[i - 1] ? run + 1 : 1;
    EXPECT_LE(run, 4);
  }
}

TEST(SourceRange, DrawsStayInsideThePrefixAndPortRange) {
  SourceRange range;
  std::string error;
  ASSERT_TRUE(parse_prefix("10.20.0.0/14", &range, &error)) << error;
  ASSERT_TRUE(parse_port_range("5000-5003", &range, &error)) << error;
  FastRandom random(9);
  for (int i = 0; i < 1000; ++i) {
    const Endpoint e = range.draw(random);
    EXPECT_EQ(e.addr[0], 10);
    EXPECT_EQ(e.addr[1] & 0xfc, 20);
    EXPECT_GE(e.port, 5000);
    EXPECT_LE(e.port, 5003);
    EXPECT_EQ(e.addr[4], 0) << "IPv4 leaves the rest of the address zero";
  }
  for (const char* bad : {"10.0.0.0/33", "2001:db8::/129", "nonsense/8", "10.0.0.0/x"}) {
    EXPECT_FALSE(parse_prefix(bad, &range, &error)) << bad;
  }
  for (const char* bad : {"0", "5-4", "70000", "1-", "a-b"}) {
    EXPECT_FALSE(parse_port_range(bad, &range, &error)) << bad;
  }
}

TEST(ClientHelloSource, OpenSslHelloIsARealisticCookieLessHello) {
  std::string error;
  const std::vector<uint8_t> hello = openssl_client_hello(&error);
  ASSERT_FALSE(hello.empty()) << error;
  // A real client's hello, not a toy: cipher list and extensions make it ~200 bytes.
  EXPECT_GT(hello.size(), 150u);
  EXPECT_LT(hello.size(), 400u);
}

}  // namespace
}  // namespace dtlsgate::flood
