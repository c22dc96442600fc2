// HKDF-SHA256 (RFC 5869) through OpenSSL 3's EVP_KDF "HKDF". Control plane only: the keyring
// derives one key per epoch with it. A call fetches the algorithm and builds a context (a few
// microseconds), which is why nothing per packet may use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace dtlsgate {

// Extract-then-expand. An empty salt means hashLen zero bytes (RFC 5869 section 2.2); an empty
// info is allowed. out_len must be 1..255*32. Returns false if OpenSSL refuses (it then leaves
// its reason on the OpenSSL error queue).
bool hkdf_sha256(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                 std::span<const uint8_t> info, uint8_t* out, std::size_t out_len);

}  // namespace dtlsgate
