#include "dtlsgate/cookie/cookie.h"

#include <emmintrin.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "dtlsgate/bytes.h"

namespace dtlsgate {

namespace {

constexpr std::size_t kAddrLen = 16;
constexpr std::size_t kIpv4AddrLen = 4;
constexpr std::size_t kRandomLen = 32;
constexpr std::size_t kMaxSessionIdLen = 32;

uint8_t* put_endpoint(uint8_t* p, const Endpoint& e) {
  // IPv4 goes in zero-padded whatever the caller left behind its fourth byte, so the MAC input
  // depends only on the address itself.
  // Fixed-size copies (no memcpy call per endpoint on the per-packet path).
  std::memcpy(p, e.addr.data(), kAddrLen);
  if (e.family == AddressFamily::kIpv4) std::memset(p + kIpv4AddrLen, 0, kAddrLen - kIpv4AddrLen);
  p += kAddrLen;
  store_be16(p, e.port);
  return p + 2;
}

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

  uint8_t* p = out;
  *p++ = key_id;
  // Both endpoints share one family (a UDP datagram has one IP header).
  *p++ = static_cast<uint8_t>(in.client.family);
  p = put_endpoint(p, in.client);
  p = put_endpoint(p, in.server);
  store_be16(p, in.client_version);
  p += 2;
  std::memcpy(p, in.random, kRandomLen);
  p += kRandomLen;
  *p++ = session_id_len;
  if (session_id_len != 0) std::memcpy(p, in.session_id, session_id_len);
  p += session_id_len;
  return static_cast<std::size_t>(p - out);
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
