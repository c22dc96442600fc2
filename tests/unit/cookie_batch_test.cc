// CookieBatch and Aes128Cmac::compute_batch must give exactly the answers of the one-at-a-time
// reference functions (mint_cookie, verify_cookie, Aes128Cmac::compute), for every burst size
// and message length the classifier can produce, including around key rotations.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dtlsgate/cookie/cookie_batch.h"
#include "dtlsgate/cookie/keyring.h"

namespace dtlsgate {
namespace {

// One batch of random messages of the given lengths: every tag must be compute()'s.
void expect_batch_matches_compute(const Aes128Cmac& mac, const std::vector<std::size_t>& lengths,
                                  std::mt19937& rng, const std::string& what) {
  const std::size_t burst = lengths.size();
  std::vector<std::vector<uint8_t>> msgs(burst);
  std::vector<std::array<uint8_t, 16>> tags(burst);
  std::vector<CmacJob> jobs(burst);
  for (std::size_t i = 0; i < burst; ++i) {
    msgs[i].resize(lengths[i]);
    for (auto& b : msgs[i]) b = static_cast<uint8_t>(rng());
    jobs[i] = CmacJob{msgs[i].data(), msgs[i].size(), tags[i].data()};
  }
  mac.compute_batch(jobs.data(), jobs.size());
  for (std::size_t i = 0; i < burst; ++i) {
    std::array<uint8_t, 16> expected{};
    mac.compute(msgs[i].data(), msgs[i].size(), expected.data());
    EXPECT_EQ(tags[i], expected) << what << ", message " << i << " length " << msgs[i].size();
  }
}

Aes128Cmac random_cmac(std::mt19937& rng) {
  std::array<uint8_t, 16> key{};
  for (auto& b : key) b = static_cast<uint8_t>(rng());
  return Aes128Cmac(key.data());
}

TEST(CmacBatch, MatchesComputeForEveryLengthAndBurstSize) {
  std::mt19937 rng(7);
  const Aes128Cmac mac = random_cmac(rng);
  for (std::size_t burst : {1, 2, 7, 8, 9, 16, 31, 32, 40}) {
    std::vector<std::size_t> lengths(burst);
    for (auto& len : lengths) len = rng() % 130;  // 0..129: empty, partial and whole last blocks
    expect_batch_matches_compute(mac, lengths, rng, "burst " + std::to_string(burst));
  }
}

// Groups of eight whole-block messages of one length take compute_batch's uniform path; one
// odd length in a group sends that group down the general path. Both must match compute().
TEST(CmacBatch, UniformWholeBlockGroupsMatchCompute) {
  std::mt19937 rng(11);
  const Aes128Cmac mac = random_cmac(rng);
  for (std::size_t len : {16, 48, 80, 112}) {
    for (std::size_t burst : {8, 16, 32, 33}) {
      for (bool one_odd : {false, true}) {
        std::vector<std::size_t> lengths(burst, len);
        if (one_odd) lengths[burst / 2] = len - 16;  // in the second group when there is one
        expect_batch_matches_compute(mac, lengths, rng,
                                     "length " + std::to_string(len) + " burst " +
                                         std::to_string(burst) + (one_odd ? " (one odd)" : ""));
      }
    }
  }
}

// Owns the bytes a CookieInput points at; input() is rebuilt on use so copies stay valid.
struct Hello {
  std::array<uint8_t, 32> random{};
  std::array<uint8_t, 32> session_id{};
  CookieInput fields;
  CookieInput input() const {
    CookieInput in = fields;
    in.random = random.data();
    in.session_id = session_id.data();
    return in;
  }
};

Hello make_hello(std::mt19937& rng, bool ipv6) {
  Hello h;
  for (auto& b : h.random) b = static_cast<uint8_t>(rng());
  for (auto& b : h.session_id) b = static_cast<uint8_t>(rng());
  uint8_t client[16];
  uint8_t server[16];
  for (auto& b : client) b = static_cast<uint8_t>(rng());
  for (auto& b : server) b = static_cast<uint8_t>(rng());
  const auto cport = static_cast<uint16_t>(rng());
  h.fields.client = ipv6 ? Endpoint::ipv6(client, cport) : Endpoint::ipv4(client, cport);
  h.fields.server = ipv6 ? Endpoint::ipv6(server, 4433) : Endpoint::ipv4(server, 4433);
  h.fields.client_version = 0xfefd;
  h.fields.session_id_len = static_cast<uint8_t>(rng() % 33);
  return h;
}

TEST(CookieBatch, MintsWhatMintCookieMints) {
  std::mt19937 rng(11);
  MasterSecret master{};
  master[0] = 1;
  const CookieKeyring ring(master, 30, 3000);
  std::vector<Hello> hellos;
  for (int i = 0; i < 32; ++i) hellos.push_back(make_hello(rng, i % 2 == 1));
  CookieBatch batch(*ring.snapshot());
  std::vector<std::array<uint8_t, kCookieLen>> cookies(hellos.size());
  for (std::size_t i = 0; i < hellos.size(); ++i) {
    ASSERT_TRUE(batch.mint(hellos[i].input(), cookies[i].data()));
  }
  batch.run();
  for (std::size_t i = 0; i < hellos.size(); ++i) {
    std::array<uint8_t, kCookieLen> expected{};
    mint_cookie(*ring.snapshot(), hellos[i].input(), expected.data());
    EXPECT_EQ(cookies[i], expected) << "hello " << i;
  }
}

// Cookies minted in several epochs and under two masters, some tampered, verified in one
// burst after a rotation and a master reload: the batch agrees with verify_cookie on each.
TEST(CookieBatch, VerifiesAsVerifyCookieDoesAcrossRotationsAndReloads) {
  std::mt19937 rng(13);
  MasterSecret old_master{};
  old_master[0] = 2;
  MasterSecret new_master{};
  new_master[0] = 3;
  CookieKeyring ring(old_master, 30, 30 * 100);
  std::vector<Hello> hellos;
  std::vector<std::array<uint8_t, kCookieLen>> cookies;
  auto mint_some = [&](int n) {
    for (int i = 0; i < n; ++i) {
      hellos.push_back(make_hello(rng, rng() % 2 == 0));
      cookies.emplace_back();
      mint_cookie(*ring.snapshot(), hellos.back().input(), cookies.back().data());
    }
  };
  mint_some(6);  // epoch 100, old master: expired after two rotations
  ring.update(30 * 101);
  mint_some(6);  // epoch 101, old master
  ring.update(30 * 102);
  mint_some(6);  // epoch 102, old master: still valid after the reload
  ring.replace_master(new_master, 30 * 102 + 1);
  mint_some(6);  // epoch 102, new master
  for (std::size_t i = 0; i < cookies.size(); i += 3) cookies[i][1 + i % 16] ^= 0x01;

  const CookieKeySet& keys = *ring.snapshot();
  CookieBatch batch(keys);
  std::vector<int> handles;
  for (std::size_t i = 0; i < hellos.size(); ++i) {
    handles.push_back(batch.verify(hellos[i].input(), cookies[i].data(), kCookieLen));
    ASSERT_GE(handles.back(), 0);
  }
  batch.run();
  int valid = 0;
  for (std::size_t i = 0; i < hellos.size(); ++i) {
    const CookieCheck expected =
        verify_cookie(keys, hellos[i].input(), cookies[i].data(), kCookieLen);
    EXPECT_EQ(batch.result(handles[i]), expected) << "cookie " << i;
    valid += expected == CookieCheck::kValid;
  }
  EXPECT_GT(valid, 0);  // the table really mixes outcomes
  EXPECT_LT(valid, static_cast<int>(hellos.size()));
}

// A cookie minted under this key alone (mint_cookie signs with keys[0] of a set).
std::array<uint8_t, kCookieLen> cookie_under(const CookieKey& key, const CookieInput& in) {
  CookieKeySet one;
  one.keys[0] = key;
  one.count = 1;
  std::array<uint8_t, kCookieLen> cookie{};
  mint_cookie(one, in, cookie.data());
  return cookie;
}

// The key lookup by the cookie's id byte, against verify_cookie's: key sets of every size,
// whose slots past the count still hold keys (a cookie with one of their ids is expired; id 0
// is also what an empty slot reads as), with two pairs of keys sharing an id (as after a master
// reload), and under each key a valid cookie and a forged one.
TEST(CookieBatch, LooksUpEveryKeyOfTheCookiesIdAndNoOther) {
  std::mt19937 rng(19);
  CookieKeySet all;
  const std::array<uint8_t, 5> ids = {7, 8, 7, 0, 8};  // keys 0 and 2 share id 7, 1 and 4 id 8
  for (std::size_t k = 0; k < all.keys.size(); ++k) {
    all.keys[k] = CookieKey{ids[k], random_cmac(rng)};
  }
  const Hello h = make_hello(rng, false);
  for (uint8_t count = 0; count <= all.keys.size(); ++count) {
    CookieKeySet keys = all;
    keys.count = count;
    for (std::size_t signer = 0; signer < all.keys.size(); ++signer) {
      std::array<uint8_t, kCookieLen> valid = cookie_under(all.keys[signer], h.input());
      std::array<uint8_t, kCookieLen> forged = valid;
      forged[kCookieLen - 1] ^= 0x80;
      for (const auto* cookie : {&valid, &forged}) {
        CookieBatch batch(keys);
        const int handle = batch.verify(h.input(), cookie->data(), kCookieLen);
        ASSERT_GE(handle, 0);
        batch.run();
        EXPECT_EQ(batch.result(handle), verify_cookie(keys, h.input(), cookie->data(), kCookieLen))
            << "count " << int{count} << ", signed by key " << signer
            << (cookie == &valid ? "" : ", forged");
      }
    }
  }
  // The expected answers themselves, so that the comparison above cannot pass on two wrong
  // implementations: key 3 (id 0) outside a set of three is expired; key 2 (id 7, shares key 0's
  // id) inside one is found.
  CookieKeySet three = all;
  three.count = 3;
  for (std::size_t signer : {std::size_t{2}, std::size_t{3}}) {
    const std::array<uint8_t, kCookieLen> cookie = cookie_under(all.keys[signer], h.input());
    CookieBatch batch(three);
    const int handle = batch.verify(h.input(), cookie.data(), kCookieLen);
    batch.run();
    EXPECT_EQ(batch.result(handle), signer == 2 ? CookieCheck::kValid : CookieCheck::kExpired);
  }
  // The fifth slot (past a 32-bit word of ids) is looked up too: key 4 signs, key 1 shares its id.
  const std::array<uint8_t, kCookieLen> by_fifth = cookie_under(all.keys[4], h.input());
  CookieKeySet five = all;
  five.count = 5;
  CookieBatch batch(five);
  const int handle = batch.verify(h.input(), by_fifth.data(), kCookieLen);
  batch.run();
  EXPECT_EQ(batch.result(handle), CookieCheck::kValid);
}

TEST(CookieBatch, WrongLengthIsBadWithoutAMac) {
  MasterSecret master{};
  const CookieKeyring ring(master, 30, 0);
  std::mt19937 rng(17);
  const Hello h = make_hello(rng, false);
  uint8_t cookie[kMaxCookieLen + 1] = {};
  CookieBatch batch(*ring.snapshot());
  for (std::size_t len : {std::size_t{1}, kCookieLen - 1, kCookieLen + 1, kMaxCookieLen + 1}) {
    const int handle = batch.verify(h.input(), cookie, len);
    EXPECT_EQ(batch.result(handle), CookieCheck::kBad) << len;
  }
  EXPECT_EQ(batch.pending(), 0u);
}

}  // namespace
}  // namespace dtlsgate
