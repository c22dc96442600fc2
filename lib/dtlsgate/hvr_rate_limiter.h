// Reflection guard: caps the HVRs one worker sends, globally and per source prefix (/24 for
// IPv4, /56 for IPv6), so dtlsgate cannot be aimed at a victim network as a reflector.
//
// GCRA (the "virtual scheduling" form of a token bucket): one 64-bit theoretical arrival time
// per bucket, no refill loop, no division per packet. The per-prefix buckets are a fixed table
// indexed by a keyed hash of the prefix (the 64-bit finalizer over the prefix and a random
// seed; multiply-shift, 10 instructions cheaper, put a /8's 65536 /24s into a few hundred
// buckets for ~2 % of its random multipliers: see the spec). Each prefix has two buckets, from
// the two halves of its hash, updated conservatively (allow_prefix); prefixes that collide
// share buckets (bounded memory under a spoofed flood of millions of prefixes). Owned by one
// worker; not thread-safe.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dtlsgate/endpoint.h"
#include "dtlsgate/hash.h"
#include "dtlsgate/refused_prefixes.h"
#include "dtlsgate/source_prefix.h"

namespace dtlsgate {

// Defaults (RELIABILITY.md, "Reflection guard defaults"): per worker, a prefix may get a burst
// of 500 HVRs at once and 1000 per second after that. A real client, or a few hundred behind
// one NAT'd /24 all retrying at once, is never refused; a spoofed flood aimed at one victim /24
// gets at most workers x 1000 HVRs/s (about 0.75 Mbit/s per worker with 90-byte HVR frames).
// A random-source flood shares the table: each bucket sees about flood_pps / table_size HVR
// demand, so while a worker's flood stays below ~0.85 of per_prefix_per_second x table_size
// (16.4 Mpps here) a real client's two buckets do not both run dry; nearer that, some do. The
// table costs 8 bytes a bucket (128 KiB per worker). The global cap stays off: its right value
// is the uplink's spare bandwidth.
struct HvrRateLimit {
  uint64_t global_per_second = 0;         // 0 = no global cap
  uint64_t per_prefix_per_second = 1000;  // 0 = no per-prefix cap
  uint32_t per_prefix_burst = 500;        // HVRs a quiet prefix may get at once
  uint32_t global_burst = 4096;
  std::size_t table_size = 16384;  // per-prefix buckets (rounded to a power of two)
};

class HvrRateLimiter {
 public:
  explicit HvrRateLimiter(const HvrRateLimit& limit);
  ~HvrRateLimiter();
  HvrRateLimiter(const HvrRateLimiter&) = delete;
  HvrRateLimiter& operator=(const HvrRateLimiter&) = delete;

  // The worker's clock, set once per burst (monotonic nanoseconds).
  void set_time(uint64_t now_ns) { now_ = now_ns; }

  // True if an HVR to `client` is within both limits; then it is counted against them.
  bool allow(const Endpoint& client);
  // The same for the client of a received datagram, its address read where it lies: the
  // classifier's form. Building an Endpoint first (zeroed 16 bytes, then a 3-byte read of
  // them back) made the guard cost the HVR path 57 instructions and a third of its rate.
  bool allow(const WireFlow& flow);

  bool enabled() const { return global_interval_ != 0 || prefix_interval_ != 0; }

  // The prefixes whose HVRs the per-prefix cap withheld most (any thread may read it).
  const RefusedPrefixes& refused_prefixes() const { return refused_; }

 private:
  bool allow_prefix(uint64_t key);
  static bool admit(uint64_t& tat, uint64_t now, uint64_t interval, uint64_t tolerance);

  uint64_t now_ = 0;
  uint64_t global_interval_ = 0;  // ns between HVRs at the sustained rate
  uint64_t global_tolerance_ = 0;
  uint64_t global_tat_ = 0;
  uint64_t prefix_interval_ = 0;
  uint64_t prefix_tolerance_ = 0;
  uint64_t hash_seed_;
  std::size_t mask_;
  std::unique_ptr<uint64_t[]> prefix_tat_;
  RefusedPrefixes refused_;  // after the fields every HVR reads: only refusals touch it
};

inline bool HvrRateLimiter::allow(const WireFlow& flow) {
  return allow_prefix(prefix_key(flow.ipv6, flow.addresses));
}

inline bool HvrRateLimiter::allow_prefix(uint64_t key) {
  // Two buckets per prefix with conservative update (count-min's): the prefix's state is the
  // earlier of its two theoretical arrival times, and an admitted HVR raises each bucket only
  // as far as that state requires. Every bucket stays at or after the state of each prefix
  // mapped to it, so a victim prefix still gets at most its burst and rate; a real client is
  // refused only when both of its buckets are full: a random /8 flood at up to ~0.85 of
  // per_prefix_per_second x table_size had none refused, where one bucket per prefix refused
  // 10 %; nearer the threshold about half as many as one bucket, and above ~1.2 times it more
  // (RELIABILITY.md). Costs a second load and store to a table that stays in L2: 19
  // instructions, ~1 % of the guarded HVR rate. Each bucket is read once and written once, the
  // times kept in registers across the global check (a store to global_tat_ could alias them).
  uint64_t* first = nullptr;
  uint64_t* second = nullptr;
  uint64_t first_tat = 0;
  uint64_t second_tat = 0;
  uint64_t prefix_start = 0;
  if (prefix_interval_ != 0) {
    const uint64_t h = mix64(key ^ hash_seed_);
    first = &prefix_tat_[h & mask_];
    second = &prefix_tat_[std::rotl(h, 32) & mask_];
    first_tat = *first;
    second_tat = *second;
    const uint64_t tat = first_tat < second_tat ? first_tat : second_tat;
    prefix_start = tat > now_ ? tat : now_;
    if (prefix_start - now_ > prefix_tolerance_) {
      refused_.note(key);
      return false;
    }
  }
  if (global_interval_ != 0 && !admit(global_tat_, now_, global_interval_, global_tolerance_)) {
    return false;
  }
  if (first != nullptr) {
    // Raised, never lowered: the bucket that was later keeps its time (it may be another
    // prefix's state). When both indexes are equal both stores write the same value.
    const uint64_t next = prefix_start + prefix_interval_;
    *first = first_tat > next ? first_tat : next;
    *second = second_tat > next ? second_tat : next;
  }
  return true;
}

inline bool HvrRateLimiter::admit(uint64_t& tat, uint64_t now, uint64_t interval,
                                  uint64_t tolerance) {
  // Conforming if the bucket's theoretical arrival time is at most `tolerance` ahead of now.
  const uint64_t start = tat > now ? tat : now;
  if (start - now > tolerance) return false;
  tat = start + interval;
  return true;
}

}  // namespace dtlsgate
