#include "dtlsgate/session/recent_hellos.h"

#include <bit>
#include <cstring>

#include "dtlsgate/flow_table.h"
#include "dtlsgate/hash.h"

namespace dtlsgate {
namespace {

constexpr std::size_t kWays = 4;

}  // namespace

RecentHellos::RecentHellos(std::size_t capacity, uint64_t window_us)
    : entries_(new Entry[std::bit_ceil(capacity < kWays ? kWays : capacity)]()),
      set_mask_(std::bit_ceil(capacity < kWays ? kWays : capacity) / kWays - 1),
      window_us_(window_us),
      seed_(random_hash_seed()) {}

RecentHellos::~RecentHellos() = default;

uint64_t RecentHellos::fingerprint(const FlowKey& flow, const uint8_t random[32]) const {
  uint64_t h = mix64(hash_flow(flow) ^ seed_);
  for (int i = 0; i < 4; ++i) {
    uint64_t w;
    std::memcpy(&w, random + 8 * i, 8);
    h = hash_combine(h, w);
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
