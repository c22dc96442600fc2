#include "dtlsgate/session/recent_hellos.h"

#include <bit>
#include <cstring>
#include <random>

#include "dtlsgate/flow_table.h"

namespace dtlsgate {
namespace {

constexpr std::size_t kWays = 4;

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

RecentHellos::RecentHellos(std::size_t capacity, uint64_t window_us)
    : entries_(new Entry[std::bit_ceil(capacity < kWays ? kWays : capacity)]()),
      set_mask_(std::bit_ceil(capacity < kWays ? kWays : capacity) / kWays - 1),
      window_us_(window_us),
      seed_(static_cast<uint64_t>(std::random_device{}()) << 32 | std::random_device{}()) {}

RecentHellos::~RecentHellos() = default;

uint64_t RecentHellos::fingerprint(const FlowKey& flow, const uint8_t random[32]) const {
  uint64_t h = mix(hash_flow(flow) ^ seed_);
  for (int i = 0; i < 4; ++i) {
    uint64_t w;
    std::memcpy(&w, random + 8 * i, 8);
    h = mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
  }
  return h | 1;  // never 0, the empty entry's fingerprint
}

bool RecentHellos::seen_or_remember(const FlowKey& flow, const uint8_t random[32],
                                    uint64_t now_us) {
  const uint64_t fp = fingerprint(flow, random);
  Entry* set = &entries_[((fp >> 32) & set_mask_) * kWays];
  Entry* victim = &set[0];
  for (std::size_t way = 0; way < kWays; ++way) {
    Entry& e = set[way];
    if (e.fingerprint == fp && e.expires_us > now_us) return true;
    if (e.expires_us < victim->expires_us) victim = &e;  // expired or soonest to expire
  }
  victim->fingerprint = fp;
  victim->expires_us = now_us + window_us_;
  return false;
}

}  // namespace dtlsgate
