// Which prefixes the reflection guard refused most, as a specification: the names, the
// Space-Saving guarantee (a prefix with more than 1/8 of the sampled refusals is listed), the
// estimates (sampled, so within a few per cent for a prefix with thousands of refusals), no
// aliasing with a periodic flood, the merge of several workers' lists, and the guard feeding
// it only with per-prefix refusals.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "dtlsgate/hvr_rate_limiter.h"
#include "dtlsgate/refused_prefixes.h"
#include "dtlsgate/source_prefix.h"
#include "support/frame_builder.h"

namespace dtlsgate {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

uint64_t v4_key(uint8_t a, uint8_t b, uint8_t c) {
  return uint64_t{a} | uint64_t{b} << 8 | uint64_t{c} << 16 | uint64_t{4} << 56;
}

TEST(RefusedPrefixes, NamesAreTheSlash24AndSlash56) {
  EXPECT_EQ(prefix_text(v4_key(198, 51, 100)), "198.51.100.0/24");
  EXPECT_EQ(prefix_text(v4_key(10, 0, 255)), "10.0.255.0/24");
  // 2001:db8:0:12ab::/56 keeps 7 bytes: 20 01 0d b8 00 00 12.
  const uint64_t v6 = 0x20 | uint64_t{0x01} << 8 | uint64_t{0x0d} << 16 | uint64_t{0xb8} << 24 |
                      uint64_t{0x12} << 48 | uint64_t{6} << 56;
  EXPECT_EQ(prefix_text(v6), "2001:db8:0:1200::/56");
  EXPECT_EQ(prefix_text(uint64_t{9} << 56), "?");
}

TEST(RefusedPrefixes, EmptyUntilARefusal) {
  RefusedPrefixes r(1);
  EXPECT_TRUE(r.top().empty());
  r.note(v4_key(203, 0, 113));  // the first refusal is sampled
  ASSERT_EQ(r.top().size(), 1U);
  EXPECT_EQ(r.top()[0].key, v4_key(203, 0, 113));
  EXPECT_EQ(r.top()[0].refused, RefusedPrefixes::kSampleEvery);
  EXPECT_EQ(r.top()[0].error, 0U);
}

// A reflection attempt at one victim hidden in a random-source flood three times its size,
// the victim every fourth refusal (a stride a fixed 1-in-8 sample would alias with: it
// sampled the victim only, and listed nothing else): the victim is listed first with an
// estimate within 5 % of its refusals, and the flood's prefixes, each refused a few times,
// show as what they are: estimates made of their slot's inherited `error`.
TEST(RefusedPrefixes, AVictimStandsOutOfARandomFlood) {
  for (uint32_t seed : {1U, 2U, 0xdeadbeefU}) {
    RefusedPrefixes r(seed);
    std::map<uint64_t, uint64_t> truth;
    uint32_t rng = 4242;
    const uint64_t victim = v4_key(198, 51, 100);
    for (int i = 0; i < 400000; ++i) {
      uint64_t key = victim;
      if (i % 4 != 0) {
        rng = rng * 1664525u + 1013904223u;
        key = v4_key(10, static_cast<uint8_t>(rng >> 24), static_cast<uint8_t>(rng >> 16));
      }
      r.note(key);
      ++truth[key];
    }
    const std::vector<RefusedPrefix> top = r.top();
    ASSERT_EQ(top.size(), RefusedPrefixes::kSlots) << "seed " << seed;
    EXPECT_EQ(top[0].key, victim) << "seed " << seed;
    EXPECT_NEAR(static_cast<double>(top[0].refused), 100000.0, 5000.0) << "seed " << seed;
    EXPECT_EQ(top[0].error, 0U) << "seed " << seed;  // listed since its first sample
    for (std::size_t i = 1; i < top.size(); ++i) {
      EXPECT_LE(top[i].refused - top[i].error, 8 * RefusedPrefixes::kSampleEvery)
          << prefix_text(top[i].key) << " refused " << truth[top[i].key] << " times";
    }
  }
}

// Every prefix with more than 1/kSlots of the refusals is listed, however they interleave.
TEST(RefusedPrefixes, EveryPrefixAboveAnEighthIsListed) {
  RefusedPrefixes r(99);
  const uint64_t heavy[] = {v4_key(192, 0, 2), v4_key(198, 51, 100), v4_key(203, 0, 113)};
  uint32_t rng = 7;
  for (int i = 0; i < 80000; ++i) {
    rng = rng * 1664525u + 1013904223u;
    const uint32_t pick = (rng >> 8) % 100;  // 20 % each heavy, 40 % spread over 65536
    if (pick < 60) {
      r.note(heavy[pick / 20]);
    } else {
      r.note(v4_key(10, static_cast<uint8_t>(rng >> 24), static_cast<uint8_t>(rng)));
    }
  }
  const std::vector<RefusedPrefix> top = r.top();
  for (uint64_t h : heavy) {
    bool listed = false;
    for (std::size_t i = 0; i < 3 && i < top.size(); ++i) listed = listed || top[i].key == h;
    EXPECT_TRUE(listed) << prefix_text(h) << " not among the first three";
  }
}

TEST(RefusedPrefixes, WorkersListsMergeBySumAndKeepTheMost) {
  std::vector<RefusedPrefix> all;
  RefusedPrefixes::merge(&all, {{v4_key(1, 1, 1), 80, 0}, {v4_key(2, 2, 2), 40, 8}}, 2);
  RefusedPrefixes::merge(&all, {{v4_key(2, 2, 2), 48, 0}, {v4_key(3, 3, 3), 16, 0}}, 2);
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].key, v4_key(2, 2, 2));
  EXPECT_EQ(all[0].refused, 88U);
  EXPECT_EQ(all[0].error, 8U);
  EXPECT_EQ(all[1].key, v4_key(1, 1, 1));
}

Endpoint from(const std::string& ip) {
  return test::endpoint(ip, 50000);
}

// The guard lists what its per-prefix cap refused, not what it answered nor what the global
// cap refused.
TEST(RefusedPrefixes, TheGuardListsItsPerPrefixRefusals) {
  HvrRateLimit limit;  // burst 500, 1000/s per prefix
  limit.global_per_second = 1'000'000;
  limit.global_burst = 2000;
  HvrRateLimiter guard(limit);
  guard.set_time(10 * kSecond);
  for (int i = 0; i < 1500; ++i) guard.allow(from("198.51.100." + std::to_string(i % 250)));
  for (int i = 0; i < 300; ++i) guard.allow(from("2001:db8:0:12ab::" + std::to_string(i)));
  const std::vector<RefusedPrefix> top = guard.refused_prefixes().top();
  ASSERT_EQ(top.size(), 1U);  // the IPv6 /56 got all 300 within its burst
  EXPECT_EQ(prefix_text(top[0].key), "198.51.100.0/24");
  EXPECT_NEAR(static_cast<double>(top[0].refused), 1000.0, 250.0);  // 1500 - the burst of 500
  for (int i = 0; i < 1000; ++i) guard.allow(from("2001:db8:0:12ff::1"));  // 800 refused
  bool v6_listed = false;
  for (const RefusedPrefix& p : guard.refused_prefixes().top())
    v6_listed = v6_listed || prefix_text(p.key) == "2001:db8:0:1200::/56";
  EXPECT_TRUE(v6_listed);

  HvrRateLimit global_only;  // a global cap refuses without naming a prefix
  global_only.per_prefix_per_second = 0;
  global_only.global_per_second = 10;
  global_only.global_burst = 1;
  HvrRateLimiter capped(global_only);
  capped.set_time(kSecond);
  for (int i = 0; i < 100; ++i) capped.allow(from("192.0.2.1"));
  EXPECT_TRUE(capped.refused_prefixes().top().empty());
}

}  // namespace
}  // namespace dtlsgate
