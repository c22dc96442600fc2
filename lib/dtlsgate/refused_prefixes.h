// Which source prefixes the reflection guard withholds HVRs from most: the answer to "who is
// being reflected at?" when drop_rate_limited climbs. Under a spoofed-source attack the
// sources are the victims, so these are the networks someone tried to aim dtlsgate at.
//
// A Space-Saving summary (Metwally, Agrawal, El Abbadi 2005) of kSlots prefixes over a sample
// of about 1 in kSampleEvery refusals: fixed memory whatever the flood, and any prefix with
// more than 1/kSlots of the sampled refusals is listed. Sampling keeps the cost off the
// refusal path (a countdown per refusal; the slot scan, ~30 instructions, on the sampled
// ones). The gaps between samples are random (1 to 2 x kSampleEvery - 1, from a seeded
// xorshift): a fixed stride would alias with a periodic flood, so that a victim's refusals
// were never sampled while a decoy's always were. Estimates are sampled counts times
// kSampleEvery: a prefix's estimate is within a few per cent of its refusals once it has a
// few thousand.
//
// One writer (the worker that owns the guard), any number of readers (stats, telemetry): the
// slots are relaxed atomics behind a sequence counter, so a reader never pairs one prefix
// with another's count.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dtlsgate {

struct RefusedPrefix {
  uint64_t key = 0;
  uint64_t refused = 0;  // estimated refusals (sampled count x kSampleEvery)
  uint64_t error = 0;    // at most this much of `refused` may belong to prefixes it evicted
};

class RefusedPrefixes {
 public:
  static constexpr std::size_t kSlots = 8;
  static constexpr uint32_t kSampleEvery = 8;

  // seed: any non-zero value (the guard passes its random hash seed).
  explicit RefusedPrefixes(uint32_t seed) : rng_(seed != 0 ? seed : 1) {}

  // The worker, once per refused HVR.
  void note(uint64_t key) {
    if (--countdown_ != 0) return;
    countdown_ = next_gap();
    record(key);
  }

  // Any thread: the listed prefixes, most refused first (empty slots left out).
  std::vector<RefusedPrefix> top() const;

  // Adds one summary's prefixes to another's (one list for all workers): estimates of the same
  // prefix are summed; the result is sorted, most refused first, and cut to `keep`.
  static void merge(std::vector<RefusedPrefix>* into, const std::vector<RefusedPrefix>& from,
                    std::size_t keep);

 private:
  void record(uint64_t key);
  uint32_t next_gap() {  // uniform in 1 .. 2 x kSampleEvery - 1: mean kSampleEvery
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 17;
    rng_ ^= rng_ << 5;
    return 1 + rng_ % (2 * kSampleEvery - 1);
  }

  uint32_t rng_;
  uint32_t countdown_ = 1;                            // the first refusal is sampled
  std::atomic<uint64_t> sequence_{0};                 // odd while the writer changes a slot
  std::array<std::atomic<uint64_t>, kSlots> keys_{};  // 0: an empty slot (source_prefix.h)
  std::array<std::atomic<uint64_t>, kSlots> counts_{};
  std::array<std::atomic<uint64_t>, kSlots> errors_{};
};

}  // namespace dtlsgate
