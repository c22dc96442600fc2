#include "dtlsgate/cookie/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <array>
#include <memory>

namespace dtlsgate {

namespace {

constexpr std::size_t kSha256Len = 32;
constexpr std::size_t kMaxOutputLen = 255 * kSha256Len;  // RFC 5869 section 2.3

struct KdfFree {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

// OSSL_PARAM wants non-const pointers even for inputs it only reads.
OSSL_PARAM octets(const char* key, std::span<const uint8_t> bytes) {
  return OSSL_PARAM_construct_octet_string(key, const_cast<uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

bool hkdf_sha256(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                 std::span<const uint8_t> info, uint8_t* out, std::size_t out_len) {
  if (out == nullptr || out_len == 0 || out_len > kMaxOutputLen) return false;

  const std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr));
  if (!kdf) return false;
  const std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return false;

  char digest_name[] = "SHA256";
  std::array<OSSL_PARAM, 5> params{};
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
  params[n++] = octets(OSSL_KDF_PARAM_KEY, ikm);
  // Absent salt and info are what RFC 5869 calls empty; passing zero-length octet strings
  // instead would depend on how the provider treats a null buffer.
  if (!salt.empty()) params[n++] = octets(OSSL_KDF_PARAM_SALT, salt);
  if (!info.empty()) params[n++] = octets(OSSL_KDF_PARAM_INFO, info);
  params[n] = OSSL_PARAM_construct_end();

  return EVP_KDF_derive(ctx.get(), out, out_len, params.data()) == 1;
}

}  // namespace dtlsgate
