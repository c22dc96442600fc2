// The verified ClientHellos the slow path made an SSL object for, remembered for as long as
// their cookie can still verify, so a valid cookie-bearing hello replayed from its own 5-tuple
// (the fast path cannot tell it from the original) never makes a second SSL object.
//
// Keyed by the 5-tuple and the hello's 32-byte random (a new connection has a new random, so a
// real client reconnecting is not refused). Fixed capacity, 4-way set-associative, no
// allocation after construction; when a set is full the entry closest to expiry goes. A keyed
// hash (random per instance) so nobody can aim entries at one set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dtlsgate/endpoint.h"

namespace dtlsgate {

class RecentHellos {
 public:
  // capacity is rounded up to a power of two (at least 4).
  RecentHellos(std::size_t capacity, uint64_t window_us);
  ~RecentHellos();
  RecentHellos(const RecentHellos&) = delete;
  RecentHellos& operator=(const RecentHellos&) = delete;

  // True if this (flow, random) was remembered within the window before now_us; otherwise
  // remembers it and returns false.
  bool seen_or_remember(const FlowKey& flow, const uint8_t random[32], uint64_t now_us);

 private:
  struct Entry {
    uint64_t fingerprint = 0;
    uint64_t expires_us = 0;
  };
  uint64_t fingerprint(const FlowKey& flow, const uint8_t random[32]) const;

  std::unique_ptr<Entry[]> entries_;
  std::size_t set_mask_;
  uint64_t window_us_;
  uint64_t seed_;
};

}  // namespace dtlsgate
