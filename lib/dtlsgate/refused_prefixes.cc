#include "dtlsgate/refused_prefixes.h"

#include <algorithm>
#include <thread>

namespace dtlsgate {
namespace {

void sort_most_refused_first(std::vector<RefusedPrefix>* prefixes) {
  std::sort(prefixes->begin(), prefixes->end(),
            [](const RefusedPrefix& a, const RefusedPrefix& b) { return a.refused > b.refused; });
}

}  // namespace

void RefusedPrefixes::record(uint64_t key) {
  // Space-Saving: count the prefix if it has a slot; otherwise it takes the slot with the
  // fewest counts, inheriting that count as its possible overestimate.
  std::size_t slot = kSlots;
  std::size_t fewest = 0;
  for (std::size_t i = 0; i < kSlots; ++i) {
    const uint64_t k = keys_[i].load(std::memory_order_relaxed);
    if (k == key) {
      slot = i;
      break;
    }
    if (counts_[i].load(std::memory_order_relaxed) <
        counts_[fewest].load(std::memory_order_relaxed)) {
      fewest = i;
    }
  }
  const uint64_t s = sequence_.load(std::memory_order_relaxed);
  sequence_.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  if (slot != kSlots) {
    counts_[slot].store(counts_[slot].load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
  } else {
    const uint64_t evicted = counts_[fewest].load(std::memory_order_relaxed);
    keys_[fewest].store(key, std::memory_order_relaxed);
    errors_[fewest].store(evicted, std::memory_order_relaxed);
    counts_[fewest].store(evicted + 1, std::memory_order_relaxed);
  }
  sequence_.store(s + 2, std::memory_order_release);
}

std::vector<RefusedPrefix> RefusedPrefixes::top() const {
  std::array<RefusedPrefix, kSlots> copy;
  for (;;) {  // a seqlock read: retried while the writer is inside a change
    const uint64_t before = sequence_.load(std::memory_order_acquire);
    if (before & 1) {
      // The worker is inside a change, a few stores long, unless the kernel preempted it
      // there (slow-path and telemetry threads may share its CPU): give it the CPU back.
      std::this_thread::yield();
      continue;
    }
    for (std::size_t i = 0; i < kSlots; ++i) {
      copy[i] = {keys_[i].load(std::memory_order_relaxed),
                 counts_[i].load(std::memory_order_relaxed) * kSampleEvery,
                 errors_[i].load(std::memory_order_relaxed) * kSampleEvery};
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (sequence_.load(std::memory_order_relaxed) == before) break;
  }
  std::vector<RefusedPrefix> out;
  for (const RefusedPrefix& p : copy)
    if (p.key != 0) out.push_back(p);
  sort_most_refused_first(&out);
  return out;
}

void RefusedPrefixes::merge(std::vector<RefusedPrefix>* into,
                            const std::vector<RefusedPrefix>& from, std::size_t keep) {
  for (const RefusedPrefix& p : from) {
    auto same = std::find_if(into->begin(), into->end(),
                             [&p](const RefusedPrefix& q) { return q.key == p.key; });
    if (same == into->end()) {
      into->push_back(p);
    } else {
      same->refused += p.refused;
      same->error += p.error;
    }
  }
  sort_most_refused_first(into);
  if (into->size() > keep) into->resize(keep);
}

}  // namespace dtlsgate
