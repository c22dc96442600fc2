// Specification of the cookie cryptography: the CMAC and HKDF primitives against their RFCs and
// against OpenSSL, the cookie's binding to every ClientHello field RFC 6347 makes the client
// resend, and the key schedule's lifetimes.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "dtlsgate/bytes.h"
#include "dtlsgate/cookie/cmac.h"
#include "dtlsgate/cookie/cookie.h"
#include "dtlsgate/cookie/hkdf.h"
#include "dtlsgate/cookie/keyring.h"

namespace dtlsgate {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Bytes range_bytes(int first, int last) {  // first..last inclusive
  Bytes out;
  for (int b = first; b <= last; ++b) out.push_back(static_cast<uint8_t>(b));
  return out;
}

Bytes cmac_of(const Aes128Cmac& mac, const Bytes& msg) {
  Bytes tag(16);
  mac.compute(msg.data(), msg.size(), tag.data());
  return tag;
}

// ---------------------------------------------------------------------------------------------
// AES-128-CMAC

// RFC 4493 section 4: one key, messages of 0, 16, 40 and 64 bytes (empty, one complete block,
// a partial last block, several complete blocks).
TEST(Aes128Cmac, MatchesRfc4493Vectors) {
  const Bytes key = from_hex("2b7e151628aed2a6abf7158809cf4f3c");
  const Bytes message = from_hex(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  struct Vector {
    std::size_t len;
    std::string tag;
  };
  const Vector vectors[] = {
      {0, "bb1d6929e95937287fa37d129b756746"},
      {16, "070a16b46b4d4144f79bdd9dd04a287c"},
      {40, "dfa66747de9ae63030ca32611497c827"},
      {64, "51f0bebf7e3b9d92fc49741779363cfe"},
  };
  const Aes128Cmac mac(key.data());
  for (const auto& v : vectors) {
    SCOPED_TRACE("message length " + std::to_string(v.len));
    const Bytes msg(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(v.len));
    EXPECT_EQ(cmac_of(mac, msg), from_hex(v.tag));
  }
}

Bytes openssl_cmac(const Bytes& key, const Bytes& msg) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char cipher[] = "AES-128-CBC";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
      OSSL_PARAM_construct_end(),
  };
  Bytes tag(16);
  std::size_t tag_len = 0;
  const bool ok = EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
                  EVP_MAC_update(ctx, msg.data(), msg.size()) == 1 &&
                  EVP_MAC_final(ctx, tag.data(), &tag_len, tag.size()) == 1;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  EXPECT_TRUE(ok);
  EXPECT_EQ(tag_len, 16U);
  return tag;
}

// Every length from 0 to 200 bytes (all block boundaries and tails), a fresh pseudo-random key
// per length; OpenSSL's CMAC is the reference.
TEST(Aes128Cmac, AgreesWithOpenSslOnEveryLengthUpTo200) {
  std::mt19937 rng(20240601);
  auto random_bytes = [&rng](std::size_t n) {
    Bytes out(n);
    for (auto& b : out) b = static_cast<uint8_t>(rng());
    return out;
  };
  for (std::size_t len = 0; len <= 200; ++len) {
    SCOPED_TRACE("message length " + std::to_string(len));
    const Bytes key = random_bytes(16);
    const Bytes msg = random_bytes(len);
    EXPECT_EQ(cmac_of(Aes128Cmac(key.data()), msg), openssl_cmac(key, msg));
  }
}

TEST(Aes128Cmac, ReadsNoMessageBytesForAnEmptyMessage) {
  const Bytes key = from_hex("2b7e151628aed2a6abf7158809cf4f3c");
  uint8_t tag[16];
  Aes128Cmac(key.data()).compute(nullptr, 0, tag);
  EXPECT_EQ(Bytes(tag, tag + 16), from_hex("bb1d6929e95937287fa37d129b756746"));
}

// ---------------------------------------------------------------------------------------------
// HKDF-SHA256

// RFC 5869 appendix A, test cases 1-3 (3: empty salt and info).
TEST(HkdfSha256, MatchesRfc5869TestCases) {
  struct Case {
    const char* name;
    Bytes ikm, salt, info;
    std::string okm;
  };
  const Case cases[] = {
      {"case 1", Bytes(22, 0x0b), range_bytes(0x00, 0x0c), range_bytes(0xf0, 0xf9),
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {"case 2", range_bytes(0x00, 0x4f), range_bytes(0x60, 0xaf), range_bytes(0xb0, 0xff),
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
       "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
       "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {"case 3", Bytes(22, 0x0b), Bytes{}, Bytes{},
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Bytes expected = from_hex(c.okm);
    Bytes okm(expected.size());
    ASSERT_TRUE(hkdf_sha256(c.salt, c.ikm, c.info, okm.data(), okm.size()));
    EXPECT_EQ(okm, expected);
  }
}

TEST(HkdfSha256, RefusesOutputLengthsRfc5869Forbids) {
  const Bytes ikm(32, 1);
  Bytes okm(255 * 32 + 1);
  EXPECT_FALSE(hkdf_sha256({}, ikm, {}, okm.data(), 0));
  EXPECT_FALSE(hkdf_sha256({}, ikm, {}, okm.data(), okm.size()));
  EXPECT_TRUE(hkdf_sha256({}, ikm, {}, okm.data(), okm.size() - 1));
}

Bytes hmac_sha256(const Bytes& key, const Bytes& data) {
  Bytes out(32);
  std::size_t out_len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      data.data(), data.size(), out.data(), out.size(), &out_len),
            nullptr);
  EXPECT_EQ(out_len, 32U);
  return out;
}

// The epoch key spelled out with plain HMAC-SHA256 (RFC 5869 by hand: PRK = HMAC(0^32, master),
// OKM = first 16 bytes of HMAC(PRK, info | 0x01)), so a mistake in the info encoding or in the
// HKDF call shows.
TEST(DeriveEpochKey, IsHkdfSha256OfTheMasterWithLabelAndBigEndianEpoch) {
  MasterSecret master{};
  for (std::size_t i = 0; i < master.size(); ++i) master[i] = static_cast<uint8_t>(0xa0 + i);
  for (uint64_t epoch : {uint64_t{0}, uint64_t{1}, uint64_t{28'333'333}, ~uint64_t{0}}) {
    SCOPED_TRACE("epoch " + std::to_string(epoch));
    const std::string label = "dtlsgate cookie v1";
    Bytes info(label.begin(), label.end());
    for (int shift = 56; shift >= 0; shift -= 8)
      info.push_back(static_cast<uint8_t>(epoch >> shift));
    info.push_back(0x01);
    const Bytes prk = hmac_sha256(Bytes(32, 0), Bytes(master.begin(), master.end()));
    const Bytes t1 = hmac_sha256(prk, info);
    const Bytes expected(t1.begin(), t1.begin() + 16);

    const auto key = derive_epoch_key(master, epoch);
    EXPECT_EQ(Bytes(key.begin(), key.end()), expected);
  }
}

TEST(DeriveEpochKey, DiffersPerEpochAndPerMaster) {
  MasterSecret a{};
  MasterSecret b{};
  b[31] = 1;
  EXPECT_NE(derive_epoch_key(a, 7), derive_epoch_key(a, 8));
  EXPECT_NE(derive_epoch_key(a, 7), derive_epoch_key(b, 7));
  EXPECT_NE(derive_epoch_key(a, 7), derive_epoch_key(a, 7 + 256));  // not only the key id byte
}

// ---------------------------------------------------------------------------------------------
// Cookies

// The ClientHello fields a cookie binds, with storage (CookieInput only points).
struct Hello {
  Endpoint client;
  Endpoint server;
  uint16_t client_version = 0xfefd;
  std::array<uint8_t, 32> random{};
  std::array<uint8_t, 32> session_id{};
  uint8_t session_id_len = 0;

  CookieInput input() const {
    CookieInput in;
    in.client = client;
    in.server = server;
    in.client_version = client_version;
    in.random = random.data();
    in.session_id = session_id.data();
    in.session_id_len = session_id_len;
    return in;
  }
};

Hello ipv4_hello() {
  const uint8_t client_addr[4] = {198, 51, 100, 7};
  const uint8_t server_addr[4] = {192, 0, 2, 1};
  Hello h;
  h.client = Endpoint::ipv4(client_addr, 50123);
  h.server = Endpoint::ipv4(server_addr, 4433);
  for (std::size_t i = 0; i < h.random.size(); ++i) h.random[i] = static_cast<uint8_t>(3 * i + 1);
  return h;
}

Hello ipv6_hello() {
  uint8_t client_addr[16] = {0x20, 0x01, 0x0d, 0xb8};
  uint8_t server_addr[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  client_addr[15] = 0x42;
  Hello h;
  h.client = Endpoint::ipv6(client_addr, 40000);
  h.server = Endpoint::ipv6(server_addr, 5684);
  h.client_version = 0xfeff;
  for (std::size_t i = 0; i < h.random.size(); ++i) h.random[i] = static_cast<uint8_t>(0xff - i);
  h.session_id_len = 32;
  for (std::size_t i = 0; i < h.session_id.size(); ++i) h.session_id[i] = static_cast<uint8_t>(i);
  return h;
}

constexpr uint64_t kRotation = 60;
constexpr uint64_t kStart = 1'700'000'000;  // epoch 28'333'333

MasterSecret test_master(uint8_t fill) {
  MasterSecret m{};
  m.fill(fill);
  m[0] = 0x5a;
  return m;
}

std::array<uint8_t, kCookieLen> mint(const CookieKeySet& keys, const Hello& h) {
  std::array<uint8_t, kCookieLen> cookie{};
  mint_cookie(keys, h.input(), cookie.data());
  return cookie;
}

CookieCheck verify(const CookieKeySet& keys, const Hello& h, const uint8_t* cookie,
                   std::size_t len) {
  return verify_cookie(keys, h.input(), cookie, len);
}

CookieCheck verify(const CookieKeySet& keys, const Hello& h,
                   const std::array<uint8_t, kCookieLen>& cookie) {
  return verify(keys, h, cookie.data(), cookie.size());
}

TEST(EncodeCookieInput, LaysOutFieldsInTheDocumentedOrder) {
  Hello h = ipv4_hello();
  h.client.addr[9] = 0xee;  // garbage behind an IPv4 address is not MACed
  h.session_id_len = 3;
  h.session_id[0] = 0xa1;
  h.session_id[1] = 0xa2;
  h.session_id[2] = 0xa3;
  uint8_t out[kMaxCookieInputLen];
  const std::size_t len = encode_cookie_input(h.input(), 0x17, out);

  Bytes expected = {0x17, 0x00 | 3};              // key id; IPv4, session_id of 3
  expected.insert(expected.end(), {0xfe, 0xfd});  // client_version
  expected.insert(expected.end(), {0xc3, 0xcb});  // 50123
  expected.insert(expected.end(), {0x11, 0x51});  // 4433
  expected.insert(expected.end(), {198, 51, 100, 7, 192, 0, 2, 1});
  expected.insert(expected.end(), h.random.begin(), h.random.end());
  expected.insert(expected.end(), {0xa1, 0xa2, 0xa3});
  expected.resize(64, 0);  // 51 bytes, zero-padded to four blocks
  EXPECT_EQ(Bytes(out, out + len), expected);
}

TEST(EncodeCookieInput, Ipv4WithoutSessionIdIsThreeBlocks) {
  Hello h = ipv4_hello();
  h.session_id_len = 0;
  uint8_t out[kMaxCookieInputLen];
  EXPECT_EQ(encode_cookie_input(h.input(), 0, out), 48U);
}

TEST(EncodeCookieInput, Ipv6SetsTheFamilyBitAndPads) {
  Hello h = ipv6_hello();
  h.session_id_len = 0;
  uint8_t out[kMaxCookieInputLen];
  std::fill(std::begin(out), std::end(out), 0x5a);
  ASSERT_EQ(encode_cookie_input(h.input(), 9, out), 80U);  // 72 bytes, padded
  EXPECT_EQ(out[1], 0x80);
  EXPECT_EQ(Bytes(out + 8, out + 24), Bytes(h.client.addr.begin(), h.client.addr.end()));
  EXPECT_EQ(Bytes(out + 72, out + 80), Bytes(8, 0));
}

// The classifier hands the fields over where they lie in the datagram: the IP header's source
// and destination addresses and the UDP header's ports, big-endian. Same bytes as the Endpoint
// form for the same hello.
Bytes encode_from_headers(const Hello& h, uint8_t key_id) {
  const bool ipv6 = h.client.family == AddressFamily::kIpv6;
  const std::size_t addr_len = ipv6 ? 16 : 4;
  Bytes ip(ipv6 ? 40 : 20, 0xcc);  // everything but the addresses is noise to the cookie
  const std::size_t source_at = ipv6 ? 8 : 12;
  std::copy_n(h.client.addr.begin(), addr_len, ip.begin() + static_cast<long>(source_at));
  std::copy_n(h.server.addr.begin(), addr_len,
              ip.begin() + static_cast<long>(source_at + addr_len));
  const Bytes udp = {static_cast<uint8_t>(h.client.port >> 8),
                     static_cast<uint8_t>(h.client.port),
                     static_cast<uint8_t>(h.server.port >> 8),
                     static_cast<uint8_t>(h.server.port),
                     0xcc,
                     0xcc,
                     0xcc,
                     0xcc};
  const Bytes version = {static_cast<uint8_t>(h.client_version >> 8),
                         static_cast<uint8_t>(h.client_version)};
  const CookieWireInput wire{
      .flow = WireFlow{.ipv6 = ipv6, .addresses = ip.data() + source_at, .ports = udp.data()},
      .client_version = version.data(),
      .random = h.random.data(),
      .session_id = h.session_id.data(),
      .session_id_len = h.session_id_len};
  uint8_t out[kMaxCookieInputLen];
  return Bytes(out, out + encode_cookie_input(wire, key_id, out));
}

TEST(EncodeCookieInput, WireFormFromTheHeadersGivesTheSameBytes) {
  Hello v4_with_session = ipv4_hello();
  v4_with_session.session_id_len = 5;
  Hello v6_without_session = ipv6_hello();
  v6_without_session.session_id_len = 0;
  for (const Hello& h : {ipv4_hello(), v4_with_session, ipv6_hello(), v6_without_session}) {
    uint8_t out[kMaxCookieInputLen];
    const std::size_t len = encode_cookie_input(h.input(), 0x42, out);
    EXPECT_EQ(encode_from_headers(h, 0x42), Bytes(out, out + len));
  }
}

TEST(EncodeCookieInput, LongestInputFitsTheDeclaredBound) {
  uint8_t out[kMaxCookieInputLen];
  EXPECT_EQ(encode_cookie_input(ipv6_hello().input(), 0, out), kMaxCookieInputLen);
}

class CookieTest : public ::testing::Test {
 protected:
  CookieKeyring keyring_{test_master(0x11), kRotation, kStart};
  const CookieKeySet& keys() const { return *keyring_.snapshot(); }
};

TEST_F(CookieTest, MintedCookieIsKeyIdThenTagOfTheMintingKey) {
  const Hello h = ipv4_hello();
  const auto cookie = mint(keys(), h);
  EXPECT_EQ(cookie[0], static_cast<uint8_t>(kStart / kRotation));

  uint8_t input[kMaxCookieInputLen];
  const std::size_t len = encode_cookie_input(h.input(), cookie[0], input);
  const auto key = derive_epoch_key(test_master(0x11), kStart / kRotation);
  uint8_t tag[16];
  Aes128Cmac(key.data()).compute(input, len, tag);
  EXPECT_TRUE(std::equal(tag, tag + 16, cookie.begin() + 1));
}

TEST_F(CookieTest, RoundTripsForIpv4AndIpv6) {
  for (const Hello& h : {ipv4_hello(), ipv6_hello()}) {
    SCOPED_TRACE(h.client.family == AddressFamily::kIpv4 ? "IPv4" : "IPv6");
    EXPECT_EQ(verify(keys(), h, mint(keys(), h)), CookieCheck::kValid);
  }
}

struct Mutation {
  std::string name;
  std::function<void(Hello&)> apply;
};

// One entry per bound field (and per byte of random and session_id): changing any of them
// between the two ClientHellos must invalidate the cookie.
std::vector<Mutation> bound_field_mutations() {
  std::vector<Mutation> m = {
      {"client address first byte", [](Hello& h) { h.client.addr[0] ^= 1; }},
      {"client address last IPv4 byte", [](Hello& h) { h.client.addr[3] ^= 0x80; }},
      {"client port", [](Hello& h) { h.client.port ^= 1; }},
      {"server address", [](Hello& h) { h.server.addr[3] ^= 1; }},
      {"server port", [](Hello& h) { h.server.port = 4434; }},
      {"client and server port swapped", [](Hello& h) { std::swap(h.client.port, h.server.port); }},
      {"family of both endpoints",
       [](Hello& h) {
         h.client.family = AddressFamily::kIpv6;
         h.server.family = AddressFamily::kIpv6;
       }},
      {"client_version", [](Hello& h) { h.client_version = 0xfeff; }},
      {"session_id length grows by a zero byte", [](Hello& h) { h.session_id_len = 1; }},
  };
  for (std::size_t i = 0; i < 32; ++i) {
    m.push_back({"random byte " + std::to_string(i), [i](Hello& h) { h.random[i] ^= 0x01; }});
  }
  return m;
}

TEST_F(CookieTest, FailsWhenAnyBoundFieldChanges) {
  const Hello original = ipv4_hello();
  const auto cookie = mint(keys(), original);
  for (const auto& mutation : bound_field_mutations()) {
    SCOPED_TRACE(mutation.name);
    Hello changed = original;
    mutation.apply(changed);
    EXPECT_EQ(verify(keys(), changed, cookie), CookieCheck::kBad);
  }
}

TEST_F(CookieTest, SessionIdOfFullLengthIsBoundByContent) {
  const Hello original = ipv6_hello();  // 32-byte session id
  const auto cookie = mint(keys(), original);
  for (std::size_t i = 0; i < 32; ++i) {
    SCOPED_TRACE("session_id byte " + std::to_string(i));
    Hello changed = original;
    changed.session_id[i] ^= 0x01;
    EXPECT_EQ(verify(keys(), changed, cookie), CookieCheck::kBad);
  }
  Hello shorter = original;
  shorter.session_id_len = 31;
  EXPECT_EQ(verify(keys(), shorter, cookie), CookieCheck::kBad);
}

TEST_F(CookieTest, IgnoresBytesBehindAnIpv4Address) {
  const Hello original = ipv4_hello();
  Hello padded = original;
  padded.client.addr[15] = 0xff;
  padded.server.addr[4] = 0x01;
  EXPECT_EQ(verify(keys(), padded, mint(keys(), original)), CookieCheck::kValid);
}

TEST_F(CookieTest, FailsWhenAnyTagBitFlips) {
  const Hello h = ipv4_hello();
  const auto cookie = mint(keys(), h);
  for (std::size_t bit = 0; bit < 8 * kCookieTagLen; ++bit) {
    SCOPED_TRACE("tag bit " + std::to_string(bit));
    auto flipped = cookie;
    flipped[1 + bit / 8] ^= static_cast<uint8_t>(1U << (bit % 8));
    EXPECT_EQ(verify(keys(), h, flipped), CookieCheck::kBad);
  }
}

TEST_F(CookieTest, KeyIdDecidesBetweenBadAndExpired) {
  const Hello h = ipv4_hello();
  const auto cookie = mint(keys(), h);
  const auto current_id = static_cast<uint8_t>(kStart / kRotation);
  struct Case {
    uint8_t id;
    CookieCheck expected;
  };
  const Case cases[] = {
      {current_id, CookieCheck::kValid},
      {static_cast<uint8_t>(current_id - 1), CookieCheck::kBad},  // a live key, the wrong MAC
      {static_cast<uint8_t>(current_id + 1), CookieCheck::kBad},  // live: peers' clocks ahead
      {static_cast<uint8_t>(current_id + 2), CookieCheck::kExpired},
      {static_cast<uint8_t>(current_id - 2), CookieCheck::kExpired},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("key id " + std::to_string(c.id));
    auto relabelled = cookie;
    relabelled[0] = c.id;
    EXPECT_EQ(verify(keys(), h, relabelled), c.expected);
  }
}

TEST_F(CookieTest, WrongLengthIsBad) {
  const Hello h = ipv4_hello();
  const auto cookie = mint(keys(), h);
  std::array<uint8_t, kMaxCookieLen> buffer{};
  std::copy(cookie.begin(), cookie.end(), buffer.begin());  // a valid cookie as prefix
  for (std::size_t len : {std::size_t{0}, std::size_t{16}, std::size_t{18}, std::size_t{32}}) {
    SCOPED_TRACE("length " + std::to_string(len));
    EXPECT_EQ(verify(keys(), h, buffer.data(), len), CookieCheck::kBad);
  }
}

// ---------------------------------------------------------------------------------------------
// Key schedule

TEST(CookieKeyring, EpochIsUnixTimeOverRotation) {
  const CookieKeyring ring(test_master(1), kRotation, kStart + 59);
  EXPECT_EQ(ring.epoch(), (kStart + 59) / kRotation);
  EXPECT_EQ(ring.rotation_seconds(), kRotation);
  EXPECT_EQ(ring.snapshot()->count, 3);
  EXPECT_EQ(ring.snapshot()->keys[0].id, static_cast<uint8_t>(ring.epoch()));
  EXPECT_EQ(ring.snapshot()->keys[1].id, static_cast<uint8_t>(ring.epoch() - 1));
  EXPECT_EQ(ring.snapshot()->keys[2].id, static_cast<uint8_t>(ring.epoch() + 1));
}

TEST(CookieKeyring, PublishesOnlyWhenTheEpochChanges) {
  CookieKeyring ring(test_master(1), kRotation, kStart);
  const CookieKeySet* before = ring.snapshot();
  EXPECT_FALSE(ring.update(kStart + 1));
  EXPECT_EQ(ring.snapshot(), before);
  EXPECT_TRUE(ring.update(kStart + kRotation));
  EXPECT_NE(ring.snapshot(), before);
  EXPECT_EQ(ring.epoch(), kStart / kRotation + 1);
}

TEST(CookieKeyring, CookieLivesForTheMintingEpochAndTheNext) {
  CookieKeyring ring(test_master(2), kRotation, kStart);
  const Hello h = ipv4_hello();
  const auto cookie = mint(*ring.snapshot(), h);
  struct Step {
    uint64_t epochs_later;
    CookieCheck expected;
  };
  const Step steps[] = {
      {0, CookieCheck::kValid},
      {1, CookieCheck::kValid},
      {2, CookieCheck::kExpired},
      {254, CookieCheck::kExpired},
      // The key id byte wraps: e+255's set verifies e+256 (clock skew), which has e's id.
      {255, CookieCheck::kBad},
      {256, CookieCheck::kBad}};
  for (const auto& s : steps) {
    SCOPED_TRACE(std::to_string(s.epochs_later) + " epochs later");
    ring.update(kStart + s.epochs_later * kRotation);
    EXPECT_EQ(verify(*ring.snapshot(), h, cookie), s.expected);
  }
}

TEST(CookieKeyring, NodesSharingMasterAndClockAcceptEachOthersCookies) {
  const CookieKeyring node_a(test_master(3), kRotation, kStart);
  const CookieKeyring node_b(test_master(3), kRotation, kStart + 30);
  const CookieKeyring other_master(test_master(4), kRotation, kStart);
  const Hello h = ipv6_hello();
  const auto cookie = mint(*node_a.snapshot(), h);
  EXPECT_EQ(verify(*node_b.snapshot(), h, cookie), CookieCheck::kValid);
  EXPECT_EQ(verify(*other_master.snapshot(), h, cookie), CookieCheck::kBad);
}

TEST(CookieKeyring, OldMasterCookiesVerifyUntilTheNextEpochAfterReplace) {
  CookieKeyring ring(test_master(5), kRotation, kStart);
  const Hello h = ipv4_hello();
  const auto old_cookie = mint(*ring.snapshot(), h);

  ring.replace_master(test_master(6), kStart + 10);
  const auto new_cookie = mint(*ring.snapshot(), h);
  EXPECT_NE(new_cookie, old_cookie);
  EXPECT_EQ(verify(*ring.snapshot(), h, old_cookie), CookieCheck::kValid);
  EXPECT_EQ(verify(*ring.snapshot(), h, new_cookie), CookieCheck::kValid);
  // The new master mints: a fresh node started from it accepts the new cookie.
  const CookieKeyring fresh(test_master(6), kRotation, kStart);
  EXPECT_EQ(verify(*fresh.snapshot(), h, new_cookie), CookieCheck::kValid);

  ASSERT_TRUE(ring.update(kStart + kRotation));
  EXPECT_EQ(verify(*ring.snapshot(), h, old_cookie), CookieCheck::kBad);
  EXPECT_EQ(verify(*ring.snapshot(), h, new_cookie), CookieCheck::kValid);
}

// A node on master 5 hands out a cookie in the epoch that started before kStart; then, around
// the next boundary, the control loop's update() and a SIGHUP to master 6 come in some order.
class CookieKeyringReload : public ::testing::Test {
 protected:
  static constexpr uint64_t kNextEpochStart = (kStart / kRotation + 1) * kRotation;
  CookieKeyring ring{test_master(5), kRotation, kStart};
  const Hello h = ipv4_hello();
  const std::array<uint8_t, kCookieLen> old_cookie = mint(*ring.snapshot(), h);
};

TEST_F(CookieKeyringReload, JustAfterAnEpochBoundaryKeepsTheKeyThatWasMinting) {
  // The control loop calls update() once a second: a SIGHUP can land after a boundary and
  // before that update, while cookies are still minted under the previous epoch's key.
  ring.replace_master(test_master(6), kNextEpochStart);
  EXPECT_EQ(verify(*ring.snapshot(), h, old_cookie), CookieCheck::kValid);
}

TEST_F(CookieKeyringReload, JustAfterTheControlLoopMovedOnKeepsThePreviousEpochsKey) {
  // A cookie minted in the last moments of an epoch, then update() moves on, then a SIGHUP:
  // the cookie carries the previous epoch's id, which the new master's set also has.
  ASSERT_TRUE(ring.update(kNextEpochStart));
  ring.replace_master(test_master(6), kNextEpochStart + 1);
  EXPECT_EQ(verify(*ring.snapshot(), h, old_cookie), CookieCheck::kValid);
  // ... and no longer than it would have lived without the reload.
  ASSERT_TRUE(ring.update(kNextEpochStart + kRotation));
  EXPECT_EQ(verify(*ring.snapshot(), h, old_cookie), CookieCheck::kExpired);
}

TEST_F(CookieKeyringReload, DoesNotLengthenAnOldCookiesLife) {
  // Before the control loop's update() after a boundary, the old master's e-2 cookies are
  // already past their lifetime (the new set verifies e-1 and e, e+1): none of its keys for them.
  ASSERT_TRUE(ring.update(kNextEpochStart));
  ring.replace_master(test_master(6), kNextEpochStart + kRotation);  // update() not yet run
  EXPECT_EQ(verify(*ring.snapshot(), h, old_cookie), CookieCheck::kExpired);
  EXPECT_EQ(ring.snapshot()->count, 4);  // the new master's three, the old one's minting key
}

TEST(CookieKeyring, ReloadingTheSameMasterAddsNoKey) {
  CookieKeyring ring(test_master(7), kRotation, kStart);
  ring.replace_master(test_master(7), kStart + 5);
  EXPECT_EQ(ring.snapshot()->count, 3);
}

TEST(CookieKeyring, SnapshotStaysReadableForRetainedMinusOnePublications) {
  CookieKeyring ring(test_master(8), kRotation, kStart);
  const Hello h = ipv4_hello();
  const CookieKeySet* held = ring.snapshot();
  const auto cookie = mint(*held, h);
  for (int i = 1; i < CookieKeyring::kRetained; ++i) {
    ASSERT_TRUE(ring.update(kStart + static_cast<uint64_t>(i) * kRotation));
  }
  // Under ASan a freed snapshot would be reported here.
  EXPECT_EQ(held->epoch, kStart / kRotation);
  EXPECT_EQ(verify(*held, h, cookie), CookieCheck::kValid);
  EXPECT_NE(ring.snapshot(), held);
}

TEST(CookieKeyring, RejectsARotationOfZero) {
  EXPECT_THROW(CookieKeyring(test_master(1), 0, kStart), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Master secret

TEST(ParseMasterSecret, AcceptsSixtyFourHexDigitsWithSurroundingWhitespace) {
  const std::string digits = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  std::string upper = digits;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  const std::string inputs[] = {
      digits, digits + "\n", digits + "\r\n", "  \t" + digits + " \n\n", "\n" + digits, upper,
  };
  MasterSecret expected{};
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<uint8_t>(i);
  for (const auto& text : inputs) {
    SCOPED_TRACE(testing::PrintToString(text));
    MasterSecret parsed{};
    std::string error;
    EXPECT_TRUE(parse_master_secret(text, &parsed, &error)) << error;
    EXPECT_EQ(parsed, expected);
  }
}

TEST(ParseMasterSecret, RejectsAnythingElseWithAOneLineReason) {
  const std::string digits(64, 'a');
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"", "secret file: expected 64 hex digits, found 0"},
      {" \n", "secret file: expected 64 hex digits, found 0"},
      {"0123456789ab\n", "secret file: expected 64 hex digits, found 12"},
      {digits.substr(1), "secret file: expected 64 hex digits, found 63"},
      {digits + "a", "secret file: expected 64 hex digits, found 65"},
      {digits + digits, "secret file: expected 64 hex digits, found 128"},
      {"0x" + digits.substr(2), "secret file: expected 64 hex digits, found byte 0x78 at offset 1"},
      {digits.substr(0, 30) + " " + digits.substr(30),
       "secret file: expected 64 hex digits, found byte 0x20 at offset 30"},
      {digits.substr(0, 60) + "\n" + digits.substr(60),
       "secret file: expected 64 hex digits, found byte 0x0a at offset 60"},
      {digits.substr(1) + "g", "secret file: expected 64 hex digits, found byte 0x67 at offset 63"},
      {std::string("ab\0cd", 5),
       "secret file: expected 64 hex digits, found byte 0x00 at offset 2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.text));
    MasterSecret untouched{};
    untouched.fill(0xcc);
    MasterSecret parsed = untouched;
    std::string error;
    EXPECT_FALSE(parse_master_secret(c.text, &parsed, &error));
    EXPECT_EQ(error, c.error);
    EXPECT_EQ(error.find('\n'), std::string::npos);
    EXPECT_EQ(parsed, untouched);
  }
}

TEST(RandomMasterSecret, DiffersBetweenCalls) {
  EXPECT_NE(random_master_secret(), random_master_secret());
}

}  // namespace
}  // namespace dtlsgate
