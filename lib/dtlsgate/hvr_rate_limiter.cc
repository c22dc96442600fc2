#include "dtlsgate/hvr_rate_limiter.h"

#include <bit>

#include "dtlsgate/hash.h"

namespace dtlsgate {
namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;

uint64_t interval_for(uint64_t per_second) {
  if (per_second == 0) return 0;
  return per_second >= kNsPerSecond ? 1 : kNsPerSecond / per_second;
}

// The per-prefix table: a power of two, at least 2.
std::size_t table_size(const HvrRateLimit& limit) {
  return std::bit_ceil(limit.table_size < 2 ? std::size_t{2} : limit.table_size);
}

}  // namespace

HvrRateLimiter::HvrRateLimiter(const HvrRateLimit& limit)
    : global_interval_(interval_for(limit.global_per_second)),
      prefix_interval_(interval_for(limit.per_prefix_per_second)),
      hash_seed_(random_hash_seed()),
      mask_(table_size(limit) - 1),
      prefix_tat_(new uint64_t[table_size(limit)]()),
      refused_(static_cast<uint32_t>(hash_seed_ >> 32)) {
  const uint32_t global_burst = limit.global_burst == 0 ? 1 : limit.global_burst;
  const uint32_t prefix_burst = limit.per_prefix_burst == 0 ? 1 : limit.per_prefix_burst;
  global_tolerance_ = global_interval_ * (global_burst - 1);
  prefix_tolerance_ = prefix_interval_ * (prefix_burst - 1);
}

HvrRateLimiter::~HvrRateLimiter() = default;

bool HvrRateLimiter::allow(const Endpoint& client) {
  return allow_prefix(prefix_key(client.family == AddressFamily::kIpv6, client.addr.data()));
}

}  // namespace dtlsgate
