#include "dtlsgate/flow_table.h"

#include <array>
#include <bit>
#include <cstring>

#include "dtlsgate/bytes.h"
#include "dtlsgate/hash.h"

namespace dtlsgate {
namespace {

// A key packed into five 64-bit words so a slot can be read with plain atomic loads (a seqlock
// reader must not race on non-atomic memory). The last word carries a tag bit that is never
// zero for a live key; 0 marks an empty slot.
constexpr int kWords = 5;
using PackedKey = std::array<uint64_t, kWords>;  // flow_table.h spells it out for contains_packed
constexpr uint64_t kEmpty = 0;
constexpr uint64_t kLiveTag = uint64_t{1} << 63;

uint64_t word_at(const std::array<uint8_t, 16>& a, int i) {
  uint64_t w;
  std::memcpy(&w, a.data() + 8 * i, 8);
  return w;
}

PackedKey pack(const FlowKey& k) {
  return {word_at(k.client.addr, 0), word_at(k.client.addr, 1), word_at(k.server.addr, 0),
          word_at(k.server.addr, 1),
          kLiveTag | static_cast<uint64_t>(k.client.family) << 40 |
              static_cast<uint64_t>(k.server.family) << 32 |
              static_cast<uint64_t>(k.client.port) << 16 | k.server.port};
}

// The same words from the headers: an IPv4 address is the low 4 bytes of its first word (the
// rest of an Endpoint's address is zero), ports in host order as in an Endpoint.
PackedKey pack(const WireFlow& f) {
  constexpr auto kFamily4 = static_cast<uint64_t>(AddressFamily::kIpv4);
  constexpr auto kFamily6 = static_cast<uint64_t>(AddressFamily::kIpv6);
  const uint64_t ports = uint64_t{load_be16(f.ports)} << 16 | load_be16(f.ports + 2);
  if (f.ipv6) {
    uint64_t w[4];
    std::memcpy(w, f.addresses, 32);
    return {w[0], w[1], w[2], w[3], kLiveTag | kFamily6 << 40 | kFamily6 << 32 | ports};
  }
  uint32_t client, server;
  std::memcpy(&client, f.addresses, 4);
  std::memcpy(&server, f.addresses + 4, 4);
  return {client, 0, server, 0, kLiveTag | kFamily4 << 40 | kFamily4 << 32 | ports};
}

// Keyed per process so nobody can precompute colliding 5-tuples.
struct HashKeys {
  FlowHashSecret k{};
  HashKeys() {
    for (uint64_t& w : k) w = random_hash_seed();
  }
};
const HashKeys kHashKeys;

// 64 x 64 -> 128-bit multiply, halves folded: every output bit depends on every input bit of
// both factors (wyhash's mixing step).
uint64_t folded_multiply(uint64_t a, uint64_t b) {
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

// Pairs of key words, each masked with its own secret, folded-multiplied; the pair's results
// and the port word once more; and that once more with a secret. ~18 instructions; the fmix64
// chain over the five words it replaced took ~70, and every datagram to our port hashes once
// when the table holds sessions (tools/callgrind-ipp *_sessions_ipp).
//
// The last multiply is there for the table's index, the low bits. A product's low bits depend
// only on its factors' low bits, and the port word enters one multiply before the output: keys
// that differ only in the client port (bits 16-31) reached the low bits only through the
// product's high half, as well as the secret allowed. For about one secret in a hundred, 6400
// ports left some of 64 buckets under half full (FlowTable.HashSpreadsKeysUnderManySecrets).
uint64_t hash_packed(const PackedKey& p, const FlowHashSecret& k) {
  const uint64_t a = folded_multiply(p[0] ^ k[0], p[1] ^ k[1]);
  const uint64_t b = folded_multiply(p[2] ^ k[2], p[3] ^ k[3]);
  const uint64_t c = folded_multiply(a ^ p[4] ^ k[4], b ^ k[5]);
  return folded_multiply(c ^ k[6], k[7]);
}

uint64_t hash_packed(const PackedKey& p) {
  return hash_packed(p, kHashKeys.k);
}

}  // namespace

struct alignas(64) FlowTable::Slot {
  std::atomic<uint32_t> seq{0};  // odd while a writer is changing the slot
  std::array<std::atomic<uint64_t>, kWords> words{};
};

uint64_t hash_flow(const FlowKey& key) {
  return hash_packed(pack(key));
}

uint64_t hash_flow(const FlowKey& key, const FlowHashSecret& secret) {
  return hash_packed(pack(key), secret);
}

FlowTable::FlowTable(std::size_t capacity)
    : slots_(new Slot[std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)]),
      mask_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity) - 1) {}

FlowTable::~FlowTable() = default;

bool FlowTable::contains(const FlowKey& key) const {
  if (size_.load(std::memory_order_relaxed) == 0) return false;  // the flood's common case
  return contains_packed(pack(key));
}

bool FlowTable::contains(const WireFlow& flow) const {
  if (size_.load(std::memory_order_relaxed) == 0) return false;
  return contains_packed(pack(flow));
}

bool FlowTable::contains_packed(const PackedKey& want) const {
  std::size_t i = hash_packed(want) & mask_;
  for (std::size_t probes = 0; probes <= mask_; ++probes, i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    // An empty slot ends the probe, and its tag word alone says so (a writer never leaves a
    // live slot's tag at zero while changing it): most misses stop here without the seqlock.
    if (s.words[kWords - 1].load(std::memory_order_acquire) == kEmpty) return false;
    PackedKey seen;
    uint32_t before;
    do {
      before = s.seq.load(std::memory_order_acquire);
      for (int w = 0; w < kWords; ++w) seen[w] = s.words[w].load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
    } while ((before & 1) != 0 || s.seq.load(std::memory_order_relaxed) != before);
    if (seen[kWords - 1] == kEmpty) return false;
    if (seen == want) return true;
  }
  return false;
}

namespace {

// Seqlock write of a whole slot: odd sequence while the words change.
template <typename Slot>
void write_slot(Slot& slot, const PackedKey& words) {
  const uint32_t seq = slot.seq.load(std::memory_order_relaxed);
  slot.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (int w = 0; w < kWords; ++w) slot.words[w].store(words[w], std::memory_order_relaxed);
  slot.seq.store(seq + 2, std::memory_order_release);
}

template <typename Slot>
PackedKey read_slot_owned(const Slot& slot) {  // writers only: no concurrent writer
  PackedKey p;
  for (int w = 0; w < kWords; ++w) p[w] = slot.words[w].load(std::memory_order_relaxed);
  return p;
}

}  // namespace

bool FlowTable::insert(const FlowKey& key) {
  const PackedKey want = pack(key);
  std::lock_guard<std::mutex> lock(writers_);
  // Keep a quarter free so probe chains stay short for readers.
  if (size_.load(std::memory_order_relaxed) >= (mask_ + 1) - (mask_ + 1) / 4) return false;
  std::size_t i = hash_packed(want) & mask_;
  for (;; i = (i + 1) & mask_) {  // ends: the table is never full (see above)
    const PackedKey seen = read_slot_owned(slots_[i]);
    if (seen[kWords - 1] == kEmpty) break;
    if (seen == want) return false;
  }
  write_slot(slots_[i], want);
  size_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool FlowTable::erase(const FlowKey& key) {
  const PackedKey want = pack(key);
  std::lock_guard<std::mutex> lock(writers_);
  std::size_t hole = hash_packed(want) & mask_;
  for (;; hole = (hole + 1) & mask_) {
    const PackedKey seen = read_slot_owned(slots_[hole]);
    if (seen[kWords - 1] == kEmpty) return false;
    if (seen == want) break;
  }
  // Backward-shift deletion (no tombstones, so misses stay short however much churn there
  // was): every later entry of the cluster whose home slot is not cyclically in (hole, j]
  // moves into the hole. A reader racing with a move may miss that key for a moment (one
  // datagram dropped, which DTLS retransmits); it never sees a key that is not in the table.
  std::size_t j = hole;
  for (;;) {
    j = (j + 1) & mask_;
    const PackedKey entry = read_slot_owned(slots_[j]);
    if (entry[kWords - 1] == kEmpty) break;
    const std::size_t home = hash_packed(entry) & mask_;
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    write_slot(slots_[hole], entry);
    hole = j;
  }
  PackedKey empty{};
  write_slot(slots_[hole], empty);
  size_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

std::size_t FlowTable::probes(const FlowKey& key) const {
  const PackedKey want = pack(key);
  std::lock_guard<std::mutex> lock(writers_);
  std::size_t i = hash_packed(want) & mask_;
  std::size_t n = 1;
  for (; n <= mask_ + 1; ++n, i = (i + 1) & mask_) {
    const PackedKey seen = read_slot_owned(slots_[i]);
    if (seen[kWords - 1] == kEmpty || seen == want) break;
  }
  return n;
}

}  // namespace dtlsgate
