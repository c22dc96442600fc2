#include "dtlsgate/hvr_rate_limiter.h"

#include <bit>
#include <cstring>

#include "dtlsgate/hash.h"

namespace dtlsgate {
namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;

uint64_t interval_for(uint64_t per_second) {
  if (per_second == 0) return 0;
  return per_second >= kNsPerSecond ? 1 : kNsPerSecond / per_second;
}

uint64_t prefix_key(const Endpoint& e) {
  uint64_t key = 0;
  if (e.family == AddressFamily::kIpv4) {
    std::memcpy(&key, e.addr.data(), 3);  // /24
    return key | uint64_t{4} << 56;
  }
  std::memcpy(&key, e.addr.data(), 7);  // /56
  return key | uint64_t{6} << 56;
}

}  // namespace

HvrRateLimiter::HvrRateLimiter(const HvrRateLimit& limit)
    : global_interval_(interval_for(limit.global_per_second)),
      prefix_interval_(interval_for(limit.per_prefix_per_second)),
      hash_seed_(random_hash_seed()),
      mask_(std::bit_ceil(limit.table_size < 2 ? std::size_t{2} : limit.table_size) - 1),
      prefix_tat_(new uint64_t[mask_ + 1]()) {
  const uint32_t global_burst = limit.global_burst == 0 ? 1 : limit.global_burst;
  const uint32_t prefix_burst = limit.per_prefix_burst == 0 ? 1 : limit.per_prefix_burst;
  global_tolerance_ = global_interval_ * (global_burst - 1);
  prefix_tolerance_ = prefix_interval_ * (prefix_burst - 1);
}

HvrRateLimiter::~HvrRateLimiter() = default;

bool HvrRateLimiter::admit(uint64_t& tat, uint64_t now, uint64_t interval, uint64_t tolerance) {
  // Conforming if the bucket's theoretical arrival time is at most `tolerance` ahead of now.
  const uint64_t start = tat > now ? tat : now;
  if (start - now > tolerance) return false;
  tat = start + interval;
  return true;
}

bool HvrRateLimiter::allow(const Endpoint& client) {
  uint64_t* prefix = nullptr;
  if (prefix_interval_ != 0) {
    prefix = &prefix_tat_[mix64(prefix_key(client) ^ hash_seed_) & mask_];
    const uint64_t start = *prefix > now_ ? *prefix : now_;
    if (start - now_ > prefix_tolerance_) return false;
  }
  if (global_interval_ != 0 && !admit(global_tat_, now_, global_interval_, global_tolerance_)) {
    return false;
  }
  if (prefix != nullptr) admit(*prefix, now_, prefix_interval_, prefix_tolerance_);
  return true;
}

}  // namespace dtlsgate
