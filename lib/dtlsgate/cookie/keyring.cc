#include "dtlsgate/cookie/keyring.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "dtlsgate/bytes.h"
#include "dtlsgate/cookie/hkdf.h"

namespace dtlsgate {

namespace {

constexpr std::string_view kInfoLabel = "dtlsgate cookie v1";
constexpr std::size_t kHexDigits = 2 * sizeof(MasterSecret);
constexpr std::string_view kHexAlphabet = "0123456789abcdef";

std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "no OpenSSL error recorded";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// Epoch e mints; e-1 still verifies, so a cookie lives between one and two rotation periods.
// e+1 verifies too: a peer node whose clock runs ahead (by less than a rotation) has already
// moved on and mints under e+1; without it this node would refuse that peer's cookies for the
// skew's length after every epoch change. It costs nothing on the path of a valid cookie
// (keys are matched by id first) and lets no cookie live longer on a node in step.
std::unique_ptr<CookieKeySet> build_set(const MasterSecret& master, uint64_t epoch) {
  auto set = std::make_unique<CookieKeySet>();
  set->epoch = epoch;
  set->keys[set->count++] = make_epoch_key(master, epoch);
  if (epoch > 0) set->keys[set->count++] = make_epoch_key(master, epoch - 1);
  set->keys[set->count++] = make_epoch_key(master, epoch + 1);
  return set;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

bool fail(std::string* error, std::string reason) {
  if (error != nullptr) *error = "secret file: " + std::move(reason);
  return false;
}

}  // namespace

std::array<uint8_t, 16> derive_epoch_key(const MasterSecret& master, uint64_t epoch) {
  std::array<uint8_t, kInfoLabel.size() + 8> info{};
  std::memcpy(info.data(), kInfoLabel.data(), kInfoLabel.size());
  store_be64(info.data() + kInfoLabel.size(), epoch);

  std::array<uint8_t, 16> key{};
  if (!hkdf_sha256({}, master, info, key.data(), key.size())) {
    // Only a broken OpenSSL installation gets here (no default provider): nothing to run on.
    throw std::runtime_error("cookie key derivation (HKDF-SHA256) failed: " + openssl_reason());
  }
  return key;
}

CookieKey make_epoch_key(const MasterSecret& master, uint64_t epoch) {
  std::array<uint8_t, 16> secret = derive_epoch_key(master, epoch);
  CookieKey key;
  key.id = static_cast<uint8_t>(epoch & 0xff);
  key.mac = Aes128Cmac(secret.data());
  OPENSSL_cleanse(secret.data(), secret.size());
  return key;
}

bool parse_master_secret(const std::string& text, MasterSecret* out, std::string* error) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;

  // Report the first offending character by offset and code, never the secret's digits.
  for (std::size_t i = begin; i < end; ++i) {
    if (hex_value(text[i]) < 0) {
      const auto byte = static_cast<unsigned char>(text[i]);
      const char code[] = {kHexAlphabet[byte >> 4], kHexAlphabet[byte & 0xf], '\0'};
      return fail(error, std::string("expected 64 hex digits, found byte 0x") + code +
                             " at offset " + std::to_string(i));
    }
  }
  if (end - begin != kHexDigits) {
    return fail(error, "expected 64 hex digits, found " + std::to_string(end - begin));
  }

  MasterSecret secret{};
  for (std::size_t i = 0; i < secret.size(); ++i) {
    secret[i] = static_cast<uint8_t>(hex_value(text[begin + 2 * i]) << 4 |
                                     hex_value(text[begin + 2 * i + 1]));
  }
  if (out != nullptr) *out = secret;
  OPENSSL_cleanse(secret.data(), secret.size());
  return true;
}

MasterSecret random_master_secret() {
  MasterSecret secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    throw std::runtime_error("random master secret: RAND_bytes failed: " + openssl_reason());
  }
  return secret;
}

CookieKeyring::CookieKeyring(const MasterSecret& master, uint64_t rotation_seconds,
                             uint64_t unix_seconds)
    : master_(master), rotation_(rotation_seconds) {
  if (rotation_ == 0) throw std::invalid_argument("cookie key rotation must be at least 1 second");
  publish(build_set(master_, unix_seconds / rotation_));
}

bool CookieKeyring::update(uint64_t unix_seconds) {
  const uint64_t epoch = unix_seconds / rotation_;
  // Any change, backwards too: after a clock step the set must match what peers sharing the
  // master secret (and the stepped clock) mint.
  if (epoch == snapshot()->epoch) return false;
  publish(build_set(master_, epoch));
  return true;
}

void CookieKeyring::replace_master(const MasterSecret& master, uint64_t unix_seconds) {
  // Reloading an unchanged file must not add a duplicate key (one more MAC per bad cookie).
  if (CRYPTO_memcmp(master.data(), master_.data(), master.size()) == 0) {
    update(unix_seconds);
    return;
  }
  const uint64_t epoch = unix_seconds / rotation_;
  auto set = build_set(master, epoch);
  // Cookies the old master handed out moments ago must still verify: keep its keys of the new
  // set's epochs e and e-1, those it minted under, until update() moves to the next epoch.
  // Its published (minting) epoch can still be e-1 when the reload comes just after a boundary
  // and before the control loop's once-a-second update(); and when update() moved on between
  // a mint and the reload, that cookie carries e-1 although the published epoch is e
  // (tests/eal/multinode_test.sh caught this one). A second reload in the same epoch drops
  // the first master's keys (the set has room for five).
  const uint64_t minting = snapshot()->epoch;
  for (uint64_t back = 0; back < 2 && back <= epoch; ++back) {
    const uint64_t old_epoch = epoch - back;
    if (old_epoch <= minting && set->count < set->keys.size()) {
      set->keys[set->count++] = make_epoch_key(master_, old_epoch);
    }
  }
  master_ = master;
  publish(std::move(set));
}

void CookieKeyring::publish(std::unique_ptr<CookieKeySet> set) {
  const CookieKeySet* published = set.get();
  // Overwriting the slot frees the set published kRetained publications ago; a worker holds a
  // snapshot for one burst, far shorter than kRetained - 1 rotations.
  retained_[next_slot_] = std::move(set);
  next_slot_ = (next_slot_ + 1) % kRetained;
  current_.store(published, std::memory_order_release);
}

}  // namespace dtlsgate
