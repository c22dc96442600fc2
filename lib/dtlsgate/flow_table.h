// The 5-tuples of sessions the slow path owns, read by every worker on every datagram that is
// not a cookie-less ClientHello, and written only by slow-path threads.
//
// Fixed capacity (power of two), open addressing with linear probing, no allocation after
// construction. Readers are lock-free: each slot has a sequence number (seqlock); a reader
// retries if a writer changed the slot under it. Writers serialize on a mutex (the slow path
// adds a session per completed cookie exchange: thousands per second, not millions).
// Erase shifts the rest of the cluster back (no tombstones), so a lookup miss stays a short
// probe however many sessions came and went.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "dtlsgate/endpoint.h"

namespace dtlsgate {

// The table's keyed hash, under this process's random secret.
uint64_t hash_flow(const FlowKey& key);
// The same under a given secret: for tests of its spread over many secrets.
using FlowHashSecret = std::array<uint64_t, 8>;
uint64_t hash_flow(const FlowKey& key, const FlowHashSecret& secret);

class FlowTable {
 public:
  // capacity is rounded up to a power of two; keep it >= 2x the sessions you expect.
  explicit FlowTable(std::size_t capacity);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Any thread, lock-free. ~10 ns on a miss in an empty neighbourhood.
  bool contains(const FlowKey& key) const;
  // The 5-tuple read from the datagram's headers: no Endpoints built (the fast path's lookup).
  bool contains(const WireFlow& flow) const;

  // Slow-path threads. insert returns false when the key is present or the table is full.
  bool insert(const FlowKey& key);
  bool erase(const FlowKey& key);

  // Slots a lookup of key examines (1 = its home slot). For tests and diagnostics.
  std::size_t probes(const FlowKey& key) const;

  std::size_t size() const { return size_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return mask_ + 1; }

 private:
  struct Slot;
  // A key packed into five 64-bit words (flow_table.cc says how).
  bool contains_packed(const std::array<uint64_t, 5>& want) const;
  std::unique_ptr<Slot[]> slots_;
  std::size_t mask_;
  std::atomic<std::size_t> size_{0};
  mutable std::mutex writers_;
};

}  // namespace dtlsgate
