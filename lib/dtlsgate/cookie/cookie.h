// Stateless DTLS cookies: mint on a cookie-less ClientHello, verify on the second one.
//
// Format (kCookieLen = 17 bytes): key_id (1) | AES-128-CMAC tag truncated to 16 bytes.
// key_id is the low byte of the key epoch, so every node that shares a master secret and a
// clock agrees on it. MAC input (see encode_cookie_input): key_id, family, client and server
// address and port, client_version, random, session_id — the fields RFC 6347 requires the
// client to resend unchanged with the cookie.
//
// Per-packet cost: one CMAC over 3 AES blocks (IPv4, empty session_id, the common case) to 7
// (IPv6 with a 32-byte session_id); ~13 instructions a block interleaved over a burst
// (CookieBatch). No allocation, no OpenSSL call on this path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dtlsgate/cookie/cmac.h"
#include "dtlsgate/endpoint.h"

namespace dtlsgate {

inline constexpr std::size_t kCookieTagLen = 16;
inline constexpr std::size_t kCookieLen = 1 + kCookieTagLen;
// DTLS 1.0 allows no more, and wolfSSL clients keep no more.
inline constexpr std::size_t kMaxCookieLen = 32;
// The MAC input, a whole number of 16-byte blocks:
//   0      key_id
//   1      family (0x80: IPv6, 0: IPv4) | session_id length (0..32)
//   2..7   client_version, client port, server port (big-endian)
//   8..    client address, server address (4 + 4 or 16 + 16 bytes)
//          random (32), session_id (0..32), zeros to the end of the block
// IPv4 with an empty session_id is exactly 48 bytes, three AES blocks.
inline constexpr std::size_t kMaxCookieInputLen = 112;  // 8 + 32 + 32 + 32 -> 104, padded

// The ClientHello fields a cookie binds, pointing into the datagram (no copies).
struct CookieInput {
  Endpoint client;
  Endpoint server;
  uint16_t client_version = 0;
  const uint8_t* random = nullptr;  // 32 bytes
  const uint8_t* session_id = nullptr;
  uint8_t session_id_len = 0;  // <= 32
};

// The same fields as they lie in the datagram, network byte order, pointing into it: what the
// classifier hands over without building the two Endpoints (~40 instructions per HVR,
// tools/callgrind-ipp). The addresses and the ports sit side by side on the wire in the order
// the encoding wants them (WireFlow).
struct CookieWireInput {
  WireFlow flow;
  const uint8_t* client_version = nullptr;  // 2 bytes
  const uint8_t* random = nullptr;          // 32 bytes
  const uint8_t* session_id = nullptr;
  uint8_t session_id_len = 0;  // <= 32
};

// A CookieInput laid out as on the wire, with its own storage (the slow path and the tests
// hold Endpoints, not datagrams). Not copyable: wire() points into it.
class CookieWireFields {
 public:
  explicit CookieWireFields(const CookieInput& in);
  CookieWireFields(const CookieWireFields&) = delete;
  CookieWireFields& operator=(const CookieWireFields&) = delete;
  const CookieWireInput& wire() const { return wire_; }

 private:
  uint8_t addresses_[32]{};
  uint8_t ports_[4]{};
  uint8_t client_version_[2]{};
  CookieWireInput wire_;
};

// Writes the canonical MAC input; returns its length (a multiple of 16, <= kMaxCookieInputLen).
// Both forms give the same bytes for the same fields (the Endpoint form goes through the wire
// form).
std::size_t encode_cookie_input(const CookieWireInput& in, uint8_t key_id,
                                uint8_t out[kMaxCookieInputLen]);
std::size_t encode_cookie_input(const CookieInput& in, uint8_t key_id,
                                uint8_t out[kMaxCookieInputLen]);

struct CookieKey {
  uint8_t id = 0;
  Aes128Cmac mac;
};

// An immutable set of keys, published by the keyring and read by workers. keys[0] mints;
// every key verifies cookies carrying its id (at most a few MACs per cookie: ids collide only
// briefly after a master-secret reload).
struct CookieKeySet {
  uint64_t epoch = 0;
  // e, e-1, e+1; for one epoch after a master-secret reload, the old master's e and e-1 too.
  std::array<CookieKey, 5> keys{};
  uint8_t count = 0;
};

enum class CookieCheck : uint8_t { kValid, kBad, kExpired };

// Writes kCookieLen bytes to out.
void mint_cookie(const CookieKeySet& keys, const CookieInput& in, uint8_t out[kCookieLen]);

// 16-byte tag comparison in constant time (no early exit).
bool cookie_tags_equal(const uint8_t a[kCookieTagLen], const uint8_t b[kCookieTagLen]);

// Constant-time in the tag comparison. kExpired: no key carries the cookie's id.
CookieCheck verify_cookie(const CookieKeySet& keys, const CookieInput& in, const uint8_t* cookie,
                          std::size_t cookie_len);

}  // namespace dtlsgate
