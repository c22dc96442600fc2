// Past one machine: nodes that share a master secret but not a perfectly synchronised clock.
// Each row puts the verifying node's clock `skew` seconds off the minting node's and mints a
// cookie at every second of two rotations (so every position relative to an epoch boundary is
// tried), verifying it `delay` seconds later on the other node. Skews under one rotation must
// always verify; a cookie two epochs old must not.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

#include "dtlsgate/cookie/cookie.h"
#include "dtlsgate/cookie/keyring.h"

namespace dtlsgate {
namespace {

constexpr uint64_t kRotation = 30;
constexpr uint64_t kT0 = 1'700'000'010;

MasterSecret shared_master() {
  MasterSecret m{};
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>(0xa5 ^ i);
  return m;
}

struct SkewCase {
  const char* name;
  int64_t skew;   // verifier clock minus minter clock, seconds
  int64_t delay;  // seconds between mint and verify (a client's round trip, or a replay)
  bool always_valid;
  bool never_valid;
};

class ClockSkew : public ::testing::TestWithParam<SkewCase> {};

TEST_P(ClockSkew, CookieFromOneNodeOnAnother) {
  const SkewCase& c = GetParam();
  std::array<uint8_t, 4> client{198, 51, 100, 7};
  std::array<uint8_t, 4> server{203, 0, 113, 1};
  std::array<uint8_t, 32> random{};
  random.fill(0x42);
  CookieInput in;
  in.client = Endpoint::ipv4(client.data(), 40001);
  in.server = Endpoint::ipv4(server.data(), 4433);
  in.client_version = 0xfefd;
  in.random = random.data();

  int valid = 0;
  int tries = 0;
  for (uint64_t t = kT0; t < kT0 + 2 * kRotation; ++t, ++tries) {
    const CookieKeyring minter(shared_master(), kRotation, t);
    const CookieKeyring verifier(shared_master(), kRotation,
                                 static_cast<uint64_t>(static_cast<int64_t>(t) + c.skew + c.delay));
    uint8_t cookie[kCookieLen];
    mint_cookie(*minter.snapshot(), in, cookie);
    const CookieCheck check = verify_cookie(*verifier.snapshot(), in, cookie, kCookieLen);
    valid += check == CookieCheck::kValid ? 1 : 0;
  }
  if (c.always_valid) {
    EXPECT_EQ(valid, tries);
  }
  if (c.never_valid) {
    EXPECT_EQ(valid, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    SharedMaster, ClockSkew,
    ::testing::Values(
        SkewCase{"in_step", 0, 0, true, false}, SkewCase{"verifier_1s_ahead", 1, 0, true, false},
        SkewCase{"verifier_half_rotation_ahead", kRotation / 2, 0, true, false},
        SkewCase{"verifier_rotation_minus_1s_ahead", kRotation - 1, 0, true, false},
        SkewCase{"verifier_1s_behind", -1, 0, true, false},
        SkewCase{"verifier_half_rotation_behind", -int64_t{kRotation} / 2, 0, true, false},
        SkewCase{"verifier_rotation_minus_1s_behind", -int64_t{kRotation - 1}, 0, true, false},
        // A client's round trip on top of a skew: still inside one rotation.
        SkewCase{"ahead_plus_round_trip", kRotation / 2, 1, true, false},
        // Two epochs old on a node in step: refused whatever the phase.
        SkewCase{"two_rotations_old", 0, 2 * kRotation, false, true},
        SkewCase{"three_rotations_old", 0, 3 * kRotation, false, true}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace dtlsgate
