// RecentHellos: remembers (5-tuple, random) for its window, forgets after it, tells apart
// every field of the key, and stays within its fixed size under a flood of distinct hellos.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "dtlsgate/session/recent_hellos.h"

namespace dtlsgate {
namespace {

FlowKey flow(uint8_t last_octet, uint16_t port) {
  const uint8_t client[4] = {192, 0, 2, last_octet};
  const uint8_t server[4] = {192, 0, 2, 1};
  return {Endpoint::ipv4(client, port), Endpoint::ipv4(server, 4433)};
}

std::array<uint8_t, 32> random_of(uint32_t n) {
  std::array<uint8_t, 32> r{};
  std::memcpy(r.data(), &n, sizeof n);
  return r;
}

TEST(RecentHellos, RemembersForTheWindowThenForgets) {
  RecentHellos recent(1024, 90'000'000);
  const auto r = random_of(1);
  EXPECT_FALSE(recent.seen_or_remember(flow(10, 5000), r.data(), 1'000'000));
  EXPECT_TRUE(recent.seen_or_remember(flow(10, 5000), r.data(), 1'000'001));
  EXPECT_TRUE(recent.seen_or_remember(flow(10, 5000), r.data(), 90'999'999));
  EXPECT_FALSE(recent.seen_or_remember(flow(10, 5000), r.data(), 91'000'000));  // expired
}

TEST(RecentHellos, EveryPartOfTheKeyCounts) {
  RecentHellos recent(1024, 90'000'000);
  const auto r = random_of(7);
  ASSERT_FALSE(recent.seen_or_remember(flow(10, 5000), r.data(), 0));
  EXPECT_FALSE(recent.seen_or_remember(flow(11, 5000), r.data(), 1));  // other address
  EXPECT_FALSE(recent.seen_or_remember(flow(10, 5001), r.data(), 2));  // other port
  const auto other = random_of(8);
  EXPECT_FALSE(recent.seen_or_remember(flow(10, 5000), other.data(), 3));  // a new hello
  EXPECT_TRUE(recent.seen_or_remember(flow(10, 5000), r.data(), 4));
}

// More distinct hellos than entries: older ones are evicted (fixed memory), recent ones stay.
TEST(RecentHellos, FixedSizeUnderAFloodOfDistinctHellos) {
  RecentHellos recent(256, 90'000'000);
  for (uint32_t i = 0; i < 100'000; ++i) {
    const auto r = random_of(i);
    ASSERT_FALSE(recent.seen_or_remember(flow(10, 5000), r.data(), i));
  }
  int remembered = 0;
  for (uint32_t i = 100'000 - 64; i < 100'000; ++i) {
    const auto r = random_of(i);
    remembered += recent.seen_or_remember(flow(10, 5000), r.data(), 100'000) ? 1 : 0;
  }
  EXPECT_GE(remembered, 48);  // the newest 64 of 256 entries: nearly all still there
}

}  // namespace
}  // namespace dtlsgate
