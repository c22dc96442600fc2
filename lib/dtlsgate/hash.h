// Hashing for the fixed-size tables (flow table, HVR rate buckets, recent hellos): a 64-bit
// finalizer (MurmurHash3's fmix64; ~5 instructions) over keys mixed with a per-process random
// seed, so nobody outside can aim entries at one bucket.
#pragma once

#include <cstdint>
#include <random>

namespace dtlsgate {

constexpr uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Folds one more 64-bit word into a running hash.
constexpr uint64_t hash_combine(uint64_t h, uint64_t word) {
  return mix64(h ^ word) + 0x9e3779b97f4a7c15ULL;
}

// A random seed for a table's keyed hash (the OS's entropy, once per table).
inline uint64_t random_hash_seed() {
  std::random_device rd;
  return static_cast<uint64_t>(rd()) << 32 | rd();
}

}  // namespace dtlsgate
