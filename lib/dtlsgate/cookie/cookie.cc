#include "dtlsgate/cookie/cookie.h"

#include <emmintrin.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "dtlsgate/bytes.h"

namespace dtlsgate {

namespace {

constexpr std::size_t kIpv4AddrLen = 4;
constexpr std::size_t kIpv6AddrLen = 16;
constexpr std::size_t kRandomLen = 32;
constexpr std::size_t kMaxSessionIdLen = 32;
constexpr std::size_t kBlock = 16;
constexpr uint8_t kFamilyIpv6Bit = 0x80;

}  // namespace

// Constant time: the result depends on all 16 byte comparisons, and the only branch is on the
// final verdict, which the caller reveals anyway.
bool cookie_tags_equal(const uint8_t* a, const uint8_t* b) {
  const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
  const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
  return _mm_movemask_epi8(_mm_cmpeq_epi8(va, vb)) == 0xffff;
}

std::size_t encode_cookie_input(const CookieInput& in, uint8_t key_id,
                                uint8_t out[kMaxCookieInputLen]) {
  // The ClientHello parser never hands over more than 32 bytes (RFC 6347's limit); clamping
  // keeps a broken caller from writing past out.
  assert(in.session_id_len <= kMaxSessionIdLen);
  const auto session_id_len =
      static_cast<uint8_t>(std::min<std::size_t>(in.session_id_len, kMaxSessionIdLen));
  // Both endpoints share one family (a UDP datagram has one IP header).
  const bool ipv6 = in.client.family == AddressFamily::kIpv6;

  // Every field read into a register first, then written with a few wide stores: byte stores
  // through out may alias `in` for the compiler, which would reload each field after each one
  // (~25 instructions per cookie).
  // Bytes 0..7 as one big-endian word: key_id, flags, client_version, client port, server port
  // (a byte-array build made GCC assemble it with ~25 shifts and ors).
  const uint8_t flags = static_cast<uint8_t>((ipv6 ? kFamilyIpv6Bit : 0) | session_id_len);
  const uint64_t header = static_cast<uint64_t>(key_id) << 56 | static_cast<uint64_t>(flags) << 48 |
                          static_cast<uint64_t>(in.client_version) << 32 |
                          static_cast<uint64_t>(in.client.port) << 16 | in.server.port;
  uint8_t random[kRandomLen];
  std::memcpy(random, in.random, kRandomLen);
  store_be64(out, header);
  uint8_t* p = out + 8;
  if (ipv6) {
    std::memcpy(p, in.client.addr.data(), kIpv6AddrLen);
    std::memcpy(p + kIpv6AddrLen, in.server.addr.data(), kIpv6AddrLen);
    p += 2 * kIpv6AddrLen;
  } else {
    uint8_t addresses[2 * kIpv4AddrLen];
    std::memcpy(addresses, in.client.addr.data(), kIpv4AddrLen);
    std::memcpy(addresses + kIpv4AddrLen, in.server.addr.data(), kIpv4AddrLen);
    std::memcpy(p, addresses, sizeof addresses);
    p += sizeof addresses;
  }
  std::memcpy(p, random, kRandomLen);
  p += kRandomLen;
  const auto used = static_cast<std::size_t>(p - out);
  if (session_id_len == 0 && !ipv6) return used;  // 48 bytes: three whole blocks
  // Zero padding to a whole block: CMAC then never pads (no copy of the last block); the
  // header's session_id length makes the padded encoding as unambiguous as the bare one.
  const std::size_t len = (used + session_id_len + kBlock - 1) / kBlock * kBlock;
  std::memset(p, 0, len - used);
  // (an empty session_id may come as a null pointer: memcpy must not see it)
  if (session_id_len != 0) std::memcpy(p, in.session_id, session_id_len);
  return len;
}

void mint_cookie(const CookieKeySet& keys, const CookieInput& in, uint8_t out[kCookieLen]) {
  const CookieKey& key = keys.keys[0];
  uint8_t input[kMaxCookieInputLen];
  const std::size_t input_len = encode_cookie_input(in, key.id, input);
  out[0] = key.id;
  key.mac.compute(input, input_len, out + 1);
}

CookieCheck verify_cookie(const CookieKeySet& keys, const CookieInput& in, const uint8_t* cookie,
                          std::size_t cookie_len) {
  if (cookie_len != kCookieLen) return CookieCheck::kBad;
  const uint8_t key_id = cookie[0];

  // Encoded lazily: an unknown id (an old cookie, or garbage) costs no MAC at all.
  uint8_t input[kMaxCookieInputLen];
  std::size_t input_len = 0;
  bool id_known = false;
  bool valid = false;
  for (std::size_t i = 0; i < keys.count && i < keys.keys.size(); ++i) {
    const CookieKey& key = keys.keys[i];
    if (key.id != key_id) continue;
    if (!id_known) input_len = encode_cookie_input(in, key_id, input);
    id_known = true;
    uint8_t tag[kCookieTagLen];
    key.mac.compute(input, input_len, tag);
    valid |= cookie_tags_equal(tag, cookie + 1);
  }
  if (!id_known) return CookieCheck::kExpired;
  return valid ? CookieCheck::kValid : CookieCheck::kBad;
}

}  // namespace dtlsgate
