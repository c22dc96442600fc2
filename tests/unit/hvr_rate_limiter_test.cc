// The reflection guard's rate caps, as a specification: what a quiet prefix may get at once,
// what a flooding prefix gets per second, that neighbours in other prefixes are untouched, and
// that 0 means off.
#include <gtest/gtest.h>

#include <string>

#include "dtlsgate/hvr_rate_limiter.h"
#include "support/frame_builder.h"

namespace dtlsgate {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

Endpoint from(const std::string& ip, uint16_t port = 50000) {
  const test::Bytes a = test::parse_ip(ip);
  return a.size() == 4 ? Endpoint::ipv4(a.data(), port) : Endpoint::ipv6(a.data(), port);
}

int admitted(HvrRateLimiter& limiter, const Endpoint& client, int tries) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += limiter.allow(client) ? 1 : 0;
  return n;
}

TEST(HvrRateLimiter, OffByDefault) {
  HvrRateLimiter limiter(HvrRateLimit{});
  EXPECT_FALSE(limiter.enabled());
  EXPECT_EQ(admitted(limiter, from("192.0.2.1"), 100000), 100000);
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
