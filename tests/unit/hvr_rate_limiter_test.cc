// The reflection guard's rate caps, as a specification: what a quiet prefix may get at once,
// what a flooding prefix gets per second, that neighbours in other prefixes are untouched, and
// that 0 means off.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "dtlsgate/hvr_rate_limiter.h"
#include "support/frame_builder.h"

namespace dtlsgate {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

Endpoint from(const std::string& ip, uint16_t port = 50000) {
  return test::endpoint(ip, port);
}

int admitted(HvrRateLimiter& limiter, const Endpoint& client, int tries) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += limiter.allow(client) ? 1 : 0;
  return n;
}

TEST(HvrRateLimiter, ZeroRatesAreOff) {
  HvrRateLimit limit;
  limit.per_prefix_per_second = 0;
  limit.global_per_second = 0;
  HvrRateLimiter limiter(limit);
  EXPECT_FALSE(limiter.enabled());
  EXPECT_EQ(admitted(limiter, from("192.0.2.1"), 100000), 100000);
}

TEST(HvrRateLimiter, DefaultsAnswerABurstOfFiveHundredFromOnePrefixThenCapIt) {
  HvrRateLimiter limiter(HvrRateLimit{});
  EXPECT_TRUE(limiter.enabled());
  limiter.set_time(100 * kSecond);
  int burst = 0;  // a few hundred clients behind one NAT'd /24, all at once
  for (int i = 0; i < 500; ++i) burst += limiter.allow(from("192.0.2." + std::to_string(i % 250)));
  EXPECT_EQ(burst, 500);
  EXPECT_FALSE(limiter.allow(from("192.0.2.7")));  // the 501st at the same instant: capped
  limiter.set_time(101 * kSecond);                 // a reflection attempt on that /24 for 1 s
  EXPECT_EQ(admitted(limiter, from("192.0.2.9"), 1'000'000), 500) << "refilled to the burst";
  limiter.set_time(101 * kSecond + kSecond / 10);
  EXPECT_EQ(admitted(limiter, from("192.0.2.9"), 1'000'000), 100) << "1000 HVRs/s sustained";
  EXPECT_EQ(admitted(limiter, from("192.0.3.9"), 10), 10) << "the next /24 is untouched";
}

// A random-source flood shares the prefix table with real clients: each bucket sees
// flood_pps / buckets of demand. Below per_prefix_per_second x buckets a real client's hellos
// are all answered; well above it they start to be refused (the limit RELIABILITY.md states).
struct SharedTableCase {
  const char* name;
  std::size_t table_size;
  double load;  // flood pps / (per_prefix_per_second * table_size)
  bool real_client_always_answered;
};

class HvrRateLimiterSharedTable : public ::testing::TestWithParam<SharedTableCase> {};

TEST_P(HvrRateLimiterSharedTable, RealClientUnderRandomSourceFlood) {
  const SharedTableCase& c = GetParam();
  HvrRateLimit limit;  // the default rate and burst
  limit.table_size = c.table_size;
  HvrRateLimiter limiter(limit);
  const double flood_pps =
      c.load * static_cast<double>(limit.per_prefix_per_second) * static_cast<double>(c.table_size);
  const auto step_ns = static_cast<uint64_t>(1e9 / flood_pps);
  const uint64_t packets = static_cast<uint64_t>(flood_pps * 0.6);  // 0.6 s of flood
  const uint64_t client_every = packets / 60;                       // a real hello every 10 ms
  uint32_t rng = 12345;
  int client_sent = 0;
  int client_answered = 0;
  uint64_t now = kSecond;
  for (uint64_t i = 0; i < packets; ++i, now += step_ns) {
    limiter.set_time(now);
    rng = rng * 1664525u + 1013904223u;
    const std::array<uint8_t, 4> spoofed{static_cast<uint8_t>(rng >> 24),
                                         static_cast<uint8_t>(rng >> 16),
                                         static_cast<uint8_t>(rng >> 8), 1};
    limiter.allow(Endpoint::ipv4(spoofed.data(), 40000));
    if (i % client_every == client_every - 1) {
      ++client_sent;
      client_answered += limiter.allow(from("203.0.113.50", 51000)) ? 1 : 0;
    }
  }
  ASSERT_GE(client_sent, 50);
  if (c.real_client_always_answered) {
    EXPECT_EQ(client_answered, client_sent);
  } else {
    EXPECT_LT(client_answered, client_sent);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Defaults, HvrRateLimiterSharedTable,
    ::testing::Values(
        // The default table at half its flood threshold (8.2 Mpps per worker).
        SharedTableCase{"default_table_half_load", HvrRateLimit{}.table_size, 0.5, true},
        // A small table shows the same arithmetic cheaply, both sides of the threshold.
        SharedTableCase{"small_table_half_load", 256, 0.5, true},
        SharedTableCase{"small_table_four_times_load", 256, 4.0, false}),
    [](const auto& info) { return std::string(info.param.name); });

// A spoofed flood from one /8 has 65536 /24s, 4 to a bucket of the default table on average,
// but some buckets draw 8 or more. With one bucket per prefix those ran dry first: at 83 % of
// the threshold 10 % of the flood (and of a real client's hellos in such a bucket) was
// refused over 8 s (5-6 % in this spec's 3 s; 3 % at 11 Mpps in tools/bench-pps). With two
// buckets updated conservatively a prefix is refused only when both are full, which up to ~85 %
// of the threshold does not happen (nearer it, it does: RELIABILITY.md). The same shape scaled
// down: 4096 /24s, 1024 buckets, 3 s of flood at 80 % of per_prefix_per_second x table_size.
TEST(HvrRateLimiter, RandomSlash8FloodBelowTheThresholdIsAnsweredWhole) {
  HvrRateLimit limit;  // the default rate and burst
  limit.table_size = 1024;
  for (int trial = 0; trial < 3; ++trial) {  // each limiter draws its own hash key
    HvrRateLimiter limiter(limit);
    const double flood_pps = 0.8 * 1000.0 * 1024.0;
    const auto step_ns = static_cast<uint64_t>(1e9 / flood_pps);
    const auto packets = static_cast<uint64_t>(flood_pps * 3.0);
    uint32_t rng = 777u + static_cast<uint32_t>(trial);
    uint8_t header[8] = {10, 0, 0, 1, 192, 0, 2, 1};  // source 10.x.y.1, destination ours
    uint64_t refused = 0;
    uint64_t now = kSecond;
    for (uint64_t i = 0; i < packets; ++i, now += step_ns) {
      limiter.set_time(now);
      rng = rng * 1664525u + 1013904223u;
      const uint32_t prefix = (rng >> 8) % 4096;
      header[1] = static_cast<uint8_t>(prefix >> 8);
      header[2] = static_cast<uint8_t>(prefix);
      refused += limiter.allow(WireFlow{.ipv6 = false, .addresses = header}) ? 0 : 1;
    }
    EXPECT_LT(refused, packets / 1000)
        << "trial " << trial << ": refused " << refused << " of " << packets;
  }
}

// The two buckets must not loosen the per-prefix cap: a victim /24 whose buckets are also
// raised by a flood of other prefixes still gets at most its burst plus the sustained rate.
TEST(HvrRateLimiter, VictimCapHoldsWhileItsBucketsAreShared) {
  HvrRateLimit limit;  // burst 500, 1000/s
  limit.table_size = 64;
  HvrRateLimiter limiter(limit);
  uint32_t rng = 99;
  int victim = 0;
  uint64_t now = kSecond;
  const uint64_t step_ns = kSecond / 100000;  // 100k hellos/s: 50k at the victim, 50k spread
  for (int i = 0; i < 200000; ++i, now += step_ns) {  // 2 s
    limiter.set_time(now);
    rng = rng * 1664525u + 1013904223u;
    if (i % 2 == 0) {
      victim += limiter.allow(from("198.51.100." + std::to_string(rng % 250))) ? 1 : 0;
    } else {
      limiter.allow(from("10." + std::to_string(rng >> 24) + "." +
                         std::to_string((rng >> 16) & 0xff) + ".1"));
    }
  }
  EXPECT_LE(victim, 500 + 2000);  // the burst and 2 s at 1000/s
  EXPECT_GE(victim, 1000);        // and the victim's own buckets are not starved by the others
}

TEST(HvrRateLimiter, QuietPrefixGetsItsWholeBurstThenTheSustainedRate) {
  HvrRateLimit limit;
  limit.per_prefix_per_second = 1000;
  limit.per_prefix_burst = 500;
  HvrRateLimiter limiter(limit);
  limiter.set_time(10 * kSecond);
  EXPECT_EQ(admitted(limiter, from("192.0.2.1"), 2000), 500);         // a burst of a few hundred
  limiter.set_time(11 * kSecond);                                     // one second later
  EXPECT_EQ(admitted(limiter, from("192.0.2.77", 1234), 5000), 500);  // refilled to burst
  limiter.set_time(11 * kSecond + kSecond / 10);                      // 100 ms later
  EXPECT_EQ(admitted(limiter, from("192.0.2.200"), 5000), 100);       // 1000/s * 0.1 s
}

TEST(HvrRateLimiter, PrefixesAreSlash24AndSlash56) {
  HvrRateLimit limit;
  limit.per_prefix_per_second = 10;
  limit.per_prefix_burst = 10;
  limit.table_size = 1 << 16;  // large enough that these few prefixes do not collide
  HvrRateLimiter limiter(limit);
  limiter.set_time(kSecond);
  EXPECT_EQ(admitted(limiter, from("198.51.100.1"), 100), 10);
  EXPECT_EQ(admitted(limiter, from("198.51.100.254"), 100), 0);  // same /24
  EXPECT_EQ(admitted(limiter, from("198.51.101.1"), 100), 10);   // next /24
  EXPECT_EQ(admitted(limiter, from("2001:db8:0:1200::1"), 100), 10);
  EXPECT_EQ(admitted(limiter, from("2001:db8:0:12ff:ffff::9"), 100), 0);  // same /56
  EXPECT_EQ(admitted(limiter, from("2001:db8:0:1300::1"), 100), 10);      // next /56
}

// The classifier's form reads the prefix from the header (the source address, then the
// destination's bytes, which must not count): the same bucket as the Endpoint's.
TEST(HvrRateLimiter, HeaderFormAndEndpointFormShareTheBucket) {
  HvrRateLimit limit;
  limit.per_prefix_per_second = 10;
  limit.per_prefix_burst = 10;
  limit.table_size = 1 << 16;
  HvrRateLimiter limiter(limit);
  limiter.set_time(kSecond);
  auto header_of = [](const std::string& src, const std::string& dst) {
    test::Bytes addresses = test::parse_ip(src);
    const test::Bytes d = test::parse_ip(dst);
    addresses.insert(addresses.end(), d.begin(), d.end());
    return addresses;
  };
  const test::Bytes v4 = header_of("198.51.100.1", "255.255.255.255");
  const test::Bytes v6 = header_of("2001:db8:0:12ab::1", "ffff::ffff");
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(limiter.allow(WireFlow{.ipv6 = false, .addresses = v4.data()}));
    EXPECT_TRUE(limiter.allow(WireFlow{.ipv6 = true, .addresses = v6.data()}));
  }
  EXPECT_FALSE(limiter.allow(from("198.51.100.77")));
  EXPECT_FALSE(limiter.allow(from("2001:db8:0:12ff::1")));
  EXPECT_TRUE(limiter.allow(from("198.51.101.1")));
  EXPECT_TRUE(limiter.allow(
      WireFlow{.ipv6 = true, .addresses = header_of("2001:db8:0:1300::1", "::").data()}));
}

// A spoofed flood from one /8 is 65536 /24s in arithmetic progression, the key set a weak hash
// gathers into a few buckets. At one instant, with a burst of 4, the default table admits
// sum(min(prefixes in a bucket, 4)) hellos: ~80 % of them when the 65536 spread as at random
// (4 per bucket on average), a few % when they gather. Every one of 200 fresh keys must
// spread them (multiply-shift, tried in stop 18, gathered them for ~2 % of its keys).
TEST(HvrRateLimiter, EveryKeySpreadsASlash8AcrossTheTable) {
  HvrRateLimit limit;
  limit.per_prefix_per_second = 1;
  limit.per_prefix_burst = 4;
  for (int trial = 0; trial < 200; ++trial) {
    HvrRateLimiter limiter(limit);
    limiter.set_time(kSecond);
    int admitted = 0;
    uint8_t header[8] = {10, 0, 0, 1, 192, 0, 2, 1};  // source 10.x.y.1, destination ours
    for (int prefix = 0; prefix < 65536; ++prefix) {
      header[1] = static_cast<uint8_t>(prefix >> 8);
      header[2] = static_cast<uint8_t>(prefix);
      admitted += limiter.allow(WireFlow{.ipv6 = false, .addresses = header}) ? 1 : 0;
    }
    ASSERT_GT(admitted, 65536 * 7 / 10) << "trial " << trial;
  }
}

TEST(HvrRateLimiter, GlobalCapHoldsAcrossSpoofedSources) {
  HvrRateLimit limit;
  limit.global_per_second = 10000;
  limit.global_burst = 100;
  HvrRateLimiter limiter(limit);
  limiter.set_time(kSecond);
  int n = 0;
  for (int i = 0; i < 1000; ++i) {
    n += limiter.allow(from("10.0." + std::to_string(i % 250) + "." + std::to_string(i % 7)));
  }
  EXPECT_EQ(n, 100);
  limiter.set_time(kSecond + kSecond / 100);  // 10 ms at 10000/s = 100 more
  n = 0;
  for (int i = 0; i < 1000; ++i) n += limiter.allow(from("10.1.2." + std::to_string(i % 250)));
  EXPECT_EQ(n, 100);
}

TEST(HvrRateLimiter, PrefixRefusalDoesNotSpendGlobalTokens) {
  HvrRateLimit limit;
  limit.global_per_second = 1000;
  limit.global_burst = 10;
  limit.per_prefix_per_second = 1;
  limit.per_prefix_burst = 1;
  limit.table_size = 1 << 16;
  HvrRateLimiter limiter(limit);
  limiter.set_time(kSecond);
  EXPECT_EQ(admitted(limiter, from("203.0.113.5"), 1000), 1);  // one, then refused per prefix
  int others = 0;
  for (int i = 0; i < 9; ++i) others += limiter.allow(from("10.9." + std::to_string(i) + ".1"));
  EXPECT_EQ(others, 9);  // the global burst of 10 was spent only by admitted HVRs
}

}  // namespace
}  // namespace dtlsgate
