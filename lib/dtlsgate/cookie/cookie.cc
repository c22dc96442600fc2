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

CookieWireFields::CookieWireFields(const CookieInput& in) {
  const bool ipv6 = in.client.family == AddressFamily::kIpv6;
  const std::size_t addr_len = ipv6 ? kIpv6AddrLen : kIpv4AddrLen;
  std::memcpy(addresses_, in.client.addr.data(), addr_len);
  std::memcpy(addresses_ + addr_len, in.server.addr.data(), addr_len);
  store_be16(ports_, in.client.port);
  store_be16(ports_ + 2, in.server.port);
  store_be16(client_version_, in.client_version);
  wire_ = CookieWireInput{.flow = WireFlow{.ipv6 = ipv6, .addresses = addresses_, .ports = ports_},
                          .client_version = client_version_,
                          .random = in.random,
                          .session_id = in.session_id,
                          .session_id_len = in.session_id_len};
}

std::size_t encode_cookie_input(const CookieInput& in, uint8_t key_id,
                                uint8_t out[kMaxCookieInputLen]) {
  const CookieWireFields fields(in);
  return encode_cookie_input(fields.wire(), key_id, out);
}

std::size_t encode_cookie_input(const CookieWireInput& in, uint8_t key_id,
                                uint8_t out[kMaxCookieInputLen]) {
  // The ClientHello parser never hands over more than 32 bytes (RFC 6347's limit); clamping
  // keeps a broken caller from writing past out.
  assert(in.session_id_len <= kMaxSessionIdLen);
  const auto session_id_len =
      static_cast<uint8_t>(std::min<std::size_t>(in.session_id_len, kMaxSessionIdLen));
  const std::size_t addresses_len = in.flow.ipv6 ? 2 * kIpv6AddrLen : 2 * kIpv4AddrLen;

  // Every field read into a register first, then written with a few wide stores: stores
  // through out may alias `in` for the compiler, which would reload each field after each one
  // (~25 instructions per cookie). The version and the ports are copied as they are: the wire
  // is big-endian, as the encoding.
  uint16_t client_version;
  uint32_t ports;
  std::memcpy(&client_version, in.client_version, 2);
  std::memcpy(&ports, in.flow.ports, 4);
  uint8_t addresses[2 * kIpv6AddrLen];
  if (in.flow.ipv6) {
    std::memcpy(addresses, in.flow.addresses, 2 * kIpv6AddrLen);
  } else {
    std::memcpy(addresses, in.flow.addresses, 2 * kIpv4AddrLen);
  }
  uint8_t random[kRandomLen];
  std::memcpy(random, in.random, kRandomLen);

  out[0] = key_id;
  out[1] = static_cast<uint8_t>((in.flow.ipv6 ? kFamilyIpv6Bit : 0) | session_id_len);
  std::memcpy(out + 2, &client_version, 2);
  std::memcpy(out + 4, &ports, 4);
  uint8_t* p = out + 8;
  if (in.flow.ipv6) {
    std::memcpy(p, addresses, 2 * kIpv6AddrLen);
  } else {
    std::memcpy(p, addresses, 2 * kIpv4AddrLen);
  }
  p += addresses_len;
  std::memcpy(p, random, kRandomLen);
  p += kRandomLen;
  const auto used = static_cast<std::size_t>(p - out);
  if (session_id_len == 0 && !in.flow.ipv6) return used;  // 48 bytes: three whole blocks
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
