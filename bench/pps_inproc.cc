// dtlsgate-pps-inproc: the app's real worker loop (dpdk_app/worker.h poll_once, which run_worker
// repeats; here repeated by a loop that also counts empty polls) on one lcore, fed in the same
// process through a net_ring port by a generator on the other lcore.
//
// What a figure means: the saturated throughput of one worker core with I/O that costs what a
// NIC with DMA would cost the worker: rte_eth_rx_burst/tx_burst are ring dequeues/enqueues of
// mbuf pointers (the ring PMD), no frame is copied, and each frame reaches the worker from
// memory, where the generator wrote it with non-temporal stores as a NIC's DMA would, or, where
// the generator cannot keep up that way, from the generator core's cache (--frame-writes,
// below stream_frame); the mbuf headers and ring slots still come from the generator core's
// cache, which a PMD on the worker's own core would not make them do
// (inproc_<mix>_core_to_core_ns says how much such a line costs during the run). The worker does
// everything it does in the app: RX burst, prefetch, classify_burst (parse, cookie MACs, HVR
// written in place), TX burst of the HVRs, passes into a real slow-path ring (pass_ring.h
// elements), bulk free of drops.
//
// lcore 0 (main) is the generator: it builds frames with the flood's own crafter
// (tools/flood/frame_crafter.h: the kind's template copied, only source, port, cookie and
// checksums patched per packet, a burst's cookies minted with interleaved MACs) into mbufs of
// one pool per kind, straight into the port's RX ring; it drains the TX ring (replies:
// counted, checked now and then) and the slow-path ring (the passed datagrams: no OpenSSL
// behind it, so the figure is the worker's, not the slow path's), and keeps what it drained
// for the next frames of the same kind. The RX ring is filled before the worker starts; the
// generator records how often it found less than one burst waiting and the worker how much of
// its time went to polls that found nothing: if either exceeds 1 %, the worker waited for
// frames and the figure is (partly) the generator's (saturated=no). The generator looks once
// per round, just after its own fill, so its share (rx_ring_low_share) stays near 0 even while
// the worker waits (0.0004 with the worker idle 16 %): the worker's figures are the ones that
// tell. Its polls find a full burst or nothing (the generator enqueues whole bursts; checked in
// stop 20: polls with less than a burst = empty polls, 39 % and 96 % of them), and an empty
// poll costs ~20 ns, so worker_empty_time_share, not the poll share, is the idle time.
//
//   dtlsgate-pps-inproc [--mix PRESET|SPEC]... [--seconds S] [--warmup S] [--huge]
//                       [--hvr-rate-per-prefix N] [--frame-writes stream|store|auto]
//
// --hvr-rate-per-prefix N gives the worker the app's reflection guard (the app's default is
// 1000; here 0, no guard, as every figure before it had), on the worker's TSC clock as in the
// app. Keys are then inproc_<mix>_guarded_*; the flood's random sources in 10.0.0.0/8 share
// the guard's 16384 buckets (two per prefix), which refuse hellos once the flood nears
// N x 16384 per second, 16.4 Mpps at 1000 (drop_rate_limited, printed as
// inproc_<mix>_guarded_refused_share): a cookie-less hello then counts as answered or
// refused, and a refused one costs the worker less than an HVR.
//
// Output: key=value lines inproc_<mix>_mpps (frames the worker took per wall-clock second),
// inproc_<mix>_mpps_per_cpu (per CPU-second of the worker thread), inproc_<mix>_saturated, ...
// After each run the worker's verdict counters must match the kinds it was given (every HVR
// kind answered, every verify kind passed): a run that measured the wrong path fails.
#include <pthread.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/hvr_rate_limiter.h"
#include "dtlsgate/printable.h"
#include "flood/client_hello_source.h"
#include "flood/frame_crafter.h"
#include "flood/mix.h"
#include "flood/source_range.h"
#include "io_counters.h"
#include "pass_ring.h"
#include "port.h"
#include "prefetch_write.h"
#include "worker.h"

namespace {

using namespace dtlsgate;
using namespace dtlsgate::app;
using namespace dtlsgate::flood;

constexpr unsigned kWorkerLcore = 1;
constexpr unsigned kRxRingSize = 1024;  // what a NIC RX queue holds (port.h kRxDescriptors)
// Larger than every mbuf of a pool: the TX ring never refuses a reply (the run fails if one is
// refused: an HVR the worker wrote but never sent).
constexpr unsigned kTxRingSize = 16384;
constexpr unsigned kPassRingSize = 4096;  // as dpdk_app/main.cc
// Each kind's pool covers the RX, TX and slow-path rings, both lcore caches and bursts in hand.
constexpr unsigned kPoolSize = 8191;
constexpr unsigned kPoolCache = 256;
constexpr unsigned kGenBurst = 64;  // generator moves at most this many per ring per round
// Checking an HVR costs the generator ~100 ns: one reply in this many is checked.
constexpr uint64_t kCheckEvery = 64;
constexpr uint16_t kDstPort = 4433;
constexpr uint64_t kFlowTableCapacity = 1 << 16;  // as dpdk_app/main.cc

// Where the generator leaves a frame for the worker (see stream_frame and --help).
enum class FrameWrites : uint8_t { kStream, kStore };

const char* frame_writes_name(FrameWrites w) {
  return w == FrameWrites::kStream ? "stream" : "store";
}

struct Options {
  std::vector<std::pair<std::string, Mix>> mixes;  // as given, and parsed once
  std::optional<FrameWrites> frame_writes;         // none: auto
  double seconds = 5;
  double warmup = 1;
  bool huge = false;                 // EAL memory on hugepages (--in-memory) instead of --no-huge
  uint64_t hvr_rate_per_prefix = 0;  // > 0: the worker has the app's reflection guard
};

std::string key_of(const std::string& mix) {
  const std::size_t dash = mix.find("-only");
  if (dash != std::string::npos) return mix.substr(0, dash);
  if (mix.find('=') != std::string::npos || mix.find(',') != std::string::npos) return "custom";
  return mix;
}

std::string report_key(const Options& o, const std::string& mix) {
  return "inproc_" + key_of(mix) + (o.hvr_rate_per_prefix != 0 ? "_guarded" : "");
}

int usage_error(const std::string& text) {
  // One line, whatever the user typed into the option this quotes.
  std::fprintf(stderr, "dtlsgate-pps-inproc: %s\n", dtlsgate::printable(text).c_str());
  return 2;
}

struct KindPool {
  rte_mempool* pool = nullptr;
  const FrameTemplate* frame = nullptr;
  std::array<rte_mbuf*, kBurst> stash{};  // bulk-allocated, handed out one by one
  unsigned left = 0;
  // mbufs of this kind taken back from the worker (replies, passes), handed out again before
  // any is allocated (Generator::take_back).
  std::array<rte_mbuf*, 4 * kBurst> returned{};
  unsigned nreturned = 0;
  // store: the next stash, allocated a burst early and its lines fetched for writing (the
  // worker freed these mbufs after reading their frames).
  std::array<rte_mbuf*, kBurst> ahead{};
  bool has_ahead = false;
};

// The frame data of an mbuf from this bench's pools, found without reading its header (which
// the worker may own at that moment): the pools have no private area (checked at start).
uint8_t* frame_data(rte_mbuf* m) {
  return reinterpret_cast<uint8_t*>(m) + sizeof(rte_mbuf) + RTE_PKTMBUF_HEADROOM;
}

// Two ways to leave a frame for the worker (--frame-writes):
// - stream: built in a staging slot, in the generator's own cache, then copied whole into its
//   mbuf with non-temporal stores: it lands in memory and in no core's cache, as a NIC's DMA
//   write does on AMD EPYC (stop 15's host). There, written with ordinary stores, the worker
//   would fetch every line from the generator core's cache, the slowest place a frame can come
//   from (~185 ns against ~100 ns from memory), and the generator would first take back each
//   line the worker wrote its reply into (side by side, 2 pairs of 2 s: hvr 11.3-12.1 ->
//   13.5-13.6 Mpps, verify 7.3-7.4 -> 11.2-11.5, the generator no longer the bound).
// - store: built in place in the mbuf with ordinary stores (the lines of pool mbufs fetched for
//   writing a burst early: allocate_ahead). On Intel a
//   DMA write goes to the LLC (DDIO), which one generator core cannot emulate fast enough
//   (stores then cldemote: 11.3-11.6 Mpps, the worker idle 39 %). On stop 19's Sapphire
//   Rapids VM the worker pays the same for a line from the generator's cache as from memory
//   (its receive stage, 3 runs: 29.7-30.9 against 28.4-29.0 ns per HVR), while stream costs
//   the generator ~70 ns a frame: stream hvr 11.9-12.5 Mpps with the worker idle 20 %, store
//   15.2-15.8 with it idle 0.4-0.9 %.
// --frame-writes auto (the default) runs stream and, if the worker waited for frames, store:
// until one is saturated both are lower bounds of the worker's rate, so the saturated run is
// kept, else the faster. On stop 15's EPYC stream saturated the worker on hvr-only.
constexpr std::size_t kStageStride = 512;  // a slot: the largest frame rounded up to 16 bytes

// len rounded up to 16 bytes: `to` and `from` are 16-byte aligned and have the room (mbuf data
// sits RTE_PKTMBUF_HEADROOM into a cache-aligned buffer of RTE_MBUF_DEFAULT_BUF_SIZE).
void stream_frame(uint8_t* to, const uint8_t* from, std::size_t len) {
  for (std::size_t off = 0; off < len; off += 16) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(to + off),
                     _mm_load_si128(reinterpret_cast<const __m128i*>(from + off)));
  }
}

// stream_frame needs 16-byte aligned frame data, and frame_data the usual layout.
void count_misaligned(rte_mempool*, void* count, void* object, unsigned) {
  auto* m = static_cast<rte_mbuf*>(object);
  if (reinterpret_cast<uintptr_t>(rte_pktmbuf_mtod(m, const uint8_t*)) % 16 != 0 ||
      rte_pktmbuf_mtod(m, uint8_t*) != frame_data(m))
    ++*static_cast<unsigned*>(count);
}

uint64_t load(const uint64_t& counter) {
  return __atomic_load_n(&counter, __ATOMIC_RELAXED);
}

double thread_cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The worker lcore: the app's poll_once (the body of run_worker) until stop, counting the polls
// that found the RX ring empty: the one sign, seen from the worker itself, that it waited for
// the generator (e.g. while the generator was descheduled on a shared core).
struct WorkerRun {
  const WorkerContext* ctx = nullptr;
  uint64_t polls = 0;
  uint64_t empty_polls = 0;
  uint64_t empty_cycles = 0;  // TSC cycles spent in polls that found nothing
};

int worker_loop(void* arg) {
  auto* run = static_cast<WorkerRun*>(arg);
  const WorkerContext& ctx = *run->ctx;
  uint64_t polls = 0, empty = 0, empty_cycles = 0;
  uint64_t before = rte_rdtsc();
  while (!ctx.stop->load(std::memory_order_relaxed)) {
    const unsigned got = poll_once(ctx);
    const uint64_t after = rte_rdtsc();
    if (got == 0) {
      ++empty;
      empty_cycles += after - before;
      __atomic_store_n(&run->empty_polls, empty, __ATOMIC_RELAXED);
      __atomic_store_n(&run->empty_cycles, empty_cycles, __ATOMIC_RELAXED);
    }
    before = after;
    __atomic_store_n(&run->polls, ++polls, __ATOMIC_RELAXED);
  }
  return 0;
}

// Core-to-core latency: one cache line bounced between the generator's and the worker's
// lcores. Every frame and mbuf header crosses between the two cores' caches the same way, so
// this is what the run's figures move with (on a VM the two vCPUs may sit on one CCX or on two
// dies, and that can change from run to run).
struct alignas(64) PingPong {
  std::atomic<uint64_t> value{0};
};
constexpr uint64_t kPingPongRounds = 100000;

int pong(void* arg) {
  auto& line = static_cast<PingPong*>(arg)->value;
  for (uint64_t i = 0; i < kPingPongRounds; ++i) {
    while (line.load(std::memory_order_acquire) != 2 * i + 1) rte_pause();
    line.store(2 * i + 2, std::memory_order_release);
  }
  return 0;
}

// One-way latency in nanoseconds (median-free: the mean over all rounds, so a deschedule shows).
double core_to_core_ns() {
  PingPong line;
  rte_eal_remote_launch(pong, &line, kWorkerLcore);
  timespec t0{}, t1{};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (uint64_t i = 0; i < kPingPongRounds; ++i) {
    line.value.store(2 * i + 1, std::memory_order_release);
    while (line.value.load(std::memory_order_acquire) != 2 * i + 2) rte_pause();
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  rte_eal_wait_lcore(kWorkerLcore);
  const double ns = static_cast<double>(t1.tv_sec - t0.tv_sec) * 1e9 +
                    static_cast<double>(t1.tv_nsec - t0.tv_nsec);
  return ns / kPingPongRounds / 2;
}

int record_thread(void* out) {
  *static_cast<pthread_t*>(out) = pthread_self();
  return 0;
}

// What the generator side saw; the worker's side is in its QueueCounters.
struct GenCounters {
  std::array<uint64_t, kKindCount> enqueued{};
  uint64_t replies = 0;
  uint64_t replies_checked = 0;
  uint64_t replies_bad = 0;
  uint64_t passes_drained = 0;
  uint64_t rounds = 0;
  uint64_t rx_low_rounds = 0;  // rounds that found less than one burst in the RX ring
                               // (looked at once a round, after the previous round's fill)
  uint64_t alloc_fail = 0;
};

struct Snapshot {
  double wall = 0;
  double worker_cpu = 0;
  double generator_cpu = 0;
  uint64_t taken = 0;
  uint64_t replies = 0;
  uint64_t rounds = 0;
  uint64_t rx_low_rounds = 0;
  uint64_t polls = 0;
  uint64_t empty_polls = 0;
  uint64_t empty_cycles = 0;
};

class Generator {
 public:
  Generator(const FrameCrafter& crafter, std::array<KindPool, kKindCount>& pools, const Mix& mix,
            rte_ring* rx, rte_ring* tx, rte_ring* pass, FrameWrites writes)
      : crafter_(crafter),
        pools_(pools),
        schedule_(build_schedule(mix)),
        rx_(rx),
        tx_(tx),
        pass_(pass),
        random_(0x5eed),
        writes_(writes) {
    for (const KindPool& p : pools_)
      max_frame_ = std::max(max_frame_, static_cast<unsigned>(p.frame->bytes.size()));
    std::string error;
    parse_prefix("10.0.0.0/8", &sources_, &error);
  }

  GenCounters& counters() { return c_; }

  // Fills the RX ring up to `target` frames (or as much as it takes).
  void fill(unsigned target) {
    ++c_.rounds;
    const unsigned waiting = rte_ring_count(rx_);
    if (waiting < kBurst) ++c_.rx_low_rounds;
    if (pending_ == 0) {
      const unsigned want = std::min(kGenBurst, target > waiting ? target - waiting : 0u);
      PatchJob jobs[kGenBurst];
      for (; pending_ < want; ++pending_) {
        const Kind kind = schedule_[seq_];
        KindPool& p = pools_[static_cast<std::size_t>(kind)];
        if (p.left == 0 && p.nreturned >= kBurst) {
          p.nreturned -= kBurst;
          std::copy_n(p.returned.begin() + p.nreturned, kBurst, p.stash.begin());
          p.left = kBurst;
        } else if (p.left == 0 && p.has_ahead) {
          p.stash = p.ahead;
          p.left = kBurst;
          allocate_ahead(p);
        } else if (p.left == 0) {
          if (rte_pktmbuf_alloc_bulk(p.pool, p.stash.data(), kBurst) != 0) {
            ++c_.alloc_fail;
            break;
          }
          p.left = kBurst;
          if (writes_ == FrameWrites::kStore) allocate_ahead(p);
        }
        rte_mbuf* m = p.stash[--p.left];
        seq_ = seq_ + 1 == schedule_.size() ? 0 : seq_ + 1;
        const auto len = static_cast<uint16_t>(p.frame->bytes.size());
        m->data_len = len;
        m->pkt_len = len;
        uint8_t* stage = writes_ == FrameWrites::kStore ? frame_data(m)
                                                        : stage_.data() + pending_ * kStageStride;
        std::memcpy(stage, p.frame->bytes.data(), len);
        jobs[pending_] = PatchJob{p.frame, stage, sources_.draw(random_)};
        out_[pending_] = m;
        kinds_[pending_] = kind;
      }
      // The cookie kinds' MACs interleaved across the burst, as the worker checks them: one
      // mint_cookie per frame held the generator to ~5 Mpps on verify-only.
      crafter_.patch_burst(jobs, pending_, random_);
      if (writes_ == FrameWrites::kStream) {
        for (unsigned i = 0; i < pending_; ++i)
          stream_frame(rte_pktmbuf_mtod(out_[i], uint8_t*), stage_.data() + i * kStageStride,
                       out_[i]->data_len);
        // Non-temporal stores are weakly ordered: all of them land before the ring (whose
        // release is only a compiler barrier on x86) hands the frames over.
        _mm_sfence();
      }
    }
    if (pending_ == 0) return;
    const unsigned sent =
        rte_ring_enqueue_burst(rx_, reinterpret_cast<void**>(out_.data()), pending_, nullptr);
    for (unsigned i = 0; i < sent; ++i) ++c_.enqueued[static_cast<std::size_t>(kinds_[i])];
    pending_ -= sent;
    if (pending_ != 0) {
      std::memmove(out_.data(), out_.data() + sent, pending_ * sizeof out_[0]);
      std::memmove(kinds_.data(), kinds_.data() + sent, pending_ * sizeof kinds_[0]);
    }
  }

  // Replies from the TX ring: counted, one in kCheckEvery checked as a well-formed HVR, taken
  // back (the reply's bytes stay as they are: a frame is written whole when it is sent again).
  unsigned drain_replies() {
    rte_mbuf* got[kGenBurst];
    const unsigned n =
        rte_ring_dequeue_burst(tx_, reinterpret_cast<void**>(got), kGenBurst, nullptr);
    // Each header's first line fetched for writing before it is taken back and handed out
    // again (fill() writes the lengths there): side by side (3 rounds of 2 s, hugepages) hvr
    // 18.7-19.0 -> 20.3-20.4 Mpps, verify 11.1-12.9 -> 13.7-14.3, drop unchanged, attack
    // 12.7-13.1 -> 12.2 (the worker saturated either way; why it loses 5 % there we cannot see
    // without counters). Both header lines: the same within the spread.
    for (unsigned i = 0; i < n; ++i) prefetch_for_write(got[i]);
    // Not the frame's lines (store): fetched here for writing, they cost the generator more
    // than they saved (side by side, 3 pairs of 2 s: hvr-only 15.3-15.7 -> 13.3-13.8 Mpps).
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = got[i];
      if (++c_.replies % kCheckEvery == 0) {
        ++c_.replies_checked;
        if (!inspect_reply(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len).hvr) ++c_.replies_bad;
      }
    }
    take_back(got, n);
    return n;
  }

  // The slow-path ring's consumer: takes back what the worker passed.
  unsigned drain_passes() {
    PassedDatagram got[kGenBurst];
    const unsigned n =
        rte_ring_dequeue_burst_elem(pass_, got, sizeof(PassedDatagram), kGenBurst, nullptr);
    rte_mbuf* mbufs[kGenBurst];
    for (unsigned i = 0; i < n; ++i) {
      mbufs[i] = got[i].mbuf;
      prefetch_for_write(mbufs[i]);  // as drain_replies does, for the same reason
    }
    take_back(mbufs, n);
    c_.passes_drained += n;
    return n;
  }

  // mbufs the worker is done with: each kept for its kind's next frames while there is room
  // (its header differs from a fresh one only in the lengths fill() sets), else freed. Saves
  // the mempool round trip and rte_pktmbuf_reset: side by side (3 rounds of 2 s), hvr
  // 20.6-20.9 -> 22.1-22.4 Mpps with the worker saturated again, attack 14.7-15.1 ->
  // 16.0-16.3, verify (passes taken back too) 13.2-13.7 -> 14.4-15.0, drop unchanged (the
  // worker frees drops itself).
  void take_back(rte_mbuf** mbufs, unsigned n) {
    unsigned nfree = 0;
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = mbufs[i];
      KindPool* home = nullptr;
      for (KindPool& p : pools_) home = p.pool == m->pool ? &p : home;
      if (home != nullptr && home->nreturned < home->returned.size())
        home->returned[home->nreturned++] = m;
      else
        mbufs[nfree++] = m;
    }
    if (nfree != 0) rte_pktmbuf_free_bulk(mbufs, nfree);
  }

  // Frames built but not enqueued, and the stashes, go back to their pools.
  void release() {
    if (pending_ != 0) rte_pktmbuf_free_bulk(out_.data(), pending_);
    pending_ = 0;
    for (KindPool& p : pools_) {
      if (p.has_ahead) rte_pktmbuf_free_bulk(p.ahead.data(), kBurst);
      p.has_ahead = false;
      if (p.left != 0) rte_pktmbuf_free_bulk(p.stash.data(), p.left);
      if (p.nreturned != 0) rte_pktmbuf_free_bulk(p.returned.data(), p.nreturned);
      p.left = 0;
      p.nreturned = 0;
    }
  }

 private:
  void prefetch_frame_for_write(rte_mbuf* m) const {
    const uint8_t* data = frame_data(m);
    for (unsigned off = 0; off < max_frame_; off += RTE_CACHE_LINE_SIZE)
      prefetch_for_write(data + off);
  }

  // store: frames freed to the pool by the worker (drops) are fetched a burst before they are
  // written (side by side, 3 pairs of 2 s: drop-only 8.6-8.8 -> 9.6-9.7 Mpps, attack 9.6-9.8
  // -> 10.8, hvr-only unchanged; against allocating them when needed: 8.8-9.0 -> 10.2-10.8
  // and 9.8-10.1 -> 12.0-12.4 in an earlier hour).
  void allocate_ahead(KindPool& p) {
    p.has_ahead = rte_pktmbuf_alloc_bulk(p.pool, p.ahead.data(), kBurst) == 0;
    if (!p.has_ahead) return;
    for (rte_mbuf* m : p.ahead) prefetch_frame_for_write(m);
  }

  const FrameCrafter& crafter_;
  std::array<KindPool, kKindCount>& pools_;
  std::vector<Kind> schedule_;
  std::size_t seq_ = 0;
  rte_ring* rx_;
  rte_ring* tx_;
  rte_ring* pass_;
  SourceRange sources_;
  FastRandom random_;
  std::array<rte_mbuf*, kGenBurst> out_{};
  std::array<Kind, kGenBurst> kinds_{};
  unsigned pending_ = 0;
  alignas(64) std::array<uint8_t, kGenBurst * kStageStride> stage_{};
  FrameWrites writes_;
  unsigned max_frame_ = 0;  // bytes: the longest kind's frame (the lines allocate_ahead fetches)
  GenCounters c_;
};

struct Bench {
  uint16_t port = 0;
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;
  rte_ring* pass = nullptr;
  std::array<KindPool, kKindCount> pools{};
  FrameCrafter* crafter = nullptr;
  CookieKeyring* keyring = nullptr;
  std::array<uint8_t, 6> mac{};
  pthread_t worker_thread{};
};

// What one run of a mix printed, held back until --frame-writes auto has chosen a run.
struct MixReport {
  bool saturated = false;
  double mpps = 0;
  std::string lines;  // key=value lines

  [[gnu::format(printf, 2, 3)]] void add(const char* format, ...) {
    char line[256];
    va_list args;
    va_start(args, format);
    std::vsnprintf(line, sizeof line, format, args);
    va_end(args);
    lines += line;
  }
};

// Of two runs of a mix, the one that measured the worker: until a run is saturated it is a
// lower bound of the worker's rate, so a saturated run beats one that is not, else the faster.
const MixReport& better_run(const MixReport& a, const MixReport& b) {
  if (a.saturated != b.saturated) return a.saturated ? a : b;
  return b.mpps > a.mpps ? b : a;
}

// One measured run of one mix. Returns false (and says why) when the run measured something
// else than it claims.
bool run_mix(Bench& b, const Options& o, const std::string& mix_text, const Mix& mix,
             FrameWrites writes, MixReport* report) {
  const std::string key = report_key(o, mix_text);

  ClassifierConfig config;
  config.ipv4.push_back({192, 0, 2, 1});
  config.ports = {kDstPort};
  config.mac = b.mac;
  FlowTable flows(kFlowTableCapacity);
  Classifier classifier(config, &flows);
  // The worker's guard, as dpdk_app/main.cc makes it (its global cap off, as by default).
  std::unique_ptr<HvrRateLimiter> guard;
  if (o.hvr_rate_per_prefix != 0) {
    HvrRateLimit limit;
    limit.per_prefix_per_second = o.hvr_rate_per_prefix;
    guard = std::make_unique<HvrRateLimiter>(limit);
    classifier.set_rate_limiter(guard.get());
  }
  auto counters = std::make_unique<QueueCounters>();
  std::atomic<bool> stop{false};
  WorkerContext ctx;
  ctx.queues = {WorkerQueue{b.port, 0, &classifier, counters.get(), guard.get()}};
  ctx.keyring = b.keyring;
  ctx.pass_rings = {b.pass};
  ctx.stop = &stop;
  ctx.ns_per_tsc = 1e9 / static_cast<double>(rte_get_tsc_hz());

  const double c2c_before = core_to_core_ns();
  Generator gen(*b.crafter, b.pools, mix, b.rx, b.tx, b.pass, writes);
  // Head start: the RX ring is full before the worker polls it.
  for (int i = 0; i < 64 && rte_ring_free_count(b.rx) != 0; ++i) gen.fill(kRxRingSize);
  gen.counters().rounds = gen.counters().rx_low_rounds = 0;

  clockid_t worker_clock{};
  if (pthread_getcpuclockid(b.worker_thread, &worker_clock) != 0) {
    std::fprintf(stderr, "dtlsgate-pps-inproc: no CPU clock for the worker thread\n");
    return false;
  }
  WorkerRun worker_run;
  worker_run.ctx = &ctx;
  if (rte_eal_remote_launch(worker_loop, &worker_run, kWorkerLcore) != 0) {
    std::fprintf(stderr, "dtlsgate-pps-inproc: cannot launch the worker\n");
    return false;
  }

  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_rdtsc();
  const uint64_t measure_from = start + static_cast<uint64_t>(o.warmup * static_cast<double>(hz));
  const uint64_t measure_to =
      measure_from + static_cast<uint64_t>(o.seconds * static_cast<double>(hz));
  uint64_t next_second = start + hz;
  Snapshot first, last;
  auto snapshot = [&](Snapshot& s) {
    s.wall = wall_seconds();
    s.worker_cpu = thread_cpu_seconds(worker_clock);
    s.generator_cpu = thread_cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    s.taken = load(counters->io.rx_packets);
    s.replies = gen.counters().replies;
    s.rounds = gen.counters().rounds;
    s.rx_low_rounds = gen.counters().rx_low_rounds;
    s.polls = __atomic_load_n(&worker_run.polls, __ATOMIC_RELAXED);
    s.empty_polls = __atomic_load_n(&worker_run.empty_polls, __ATOMIC_RELAXED);
    s.empty_cycles = __atomic_load_n(&worker_run.empty_cycles, __ATOMIC_RELAXED);
  };
  bool measuring = false;
  for (;;) {
    gen.drain_replies();
    gen.drain_passes();
    gen.fill(kRxRingSize);
    const uint64_t now = rte_rdtsc();
    if (now >= next_second) {
      // The worker's keyring follows the clock as the app's main lcore makes it; the crafter
      // mints with the same epochs.
      const auto unix_now = static_cast<uint64_t>(std::time(nullptr));
      b.keyring->update(unix_now);
      b.crafter->set_time(unix_now);
      next_second += hz;
    }
    if (!measuring && now >= measure_from) {
      snapshot(first);
      measuring = true;
    } else if (measuring && now >= measure_to) {
      snapshot(last);
      break;
    }
  }
  stop.store(true, std::memory_order_relaxed);
  rte_eal_wait_lcore(kWorkerLcore);

  // Everything in flight goes back; what the worker never took is counted out per kind.
  while (gen.drain_replies() != 0 || gen.drain_passes() != 0) {
  }
  gen.release();
  GenCounters& g = gen.counters();
  std::array<uint64_t, kKindCount> taken = g.enqueued;
  rte_mbuf* left[kGenBurst];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(b.rx, reinterpret_cast<void**>(left), kGenBurst, nullptr)) !=
         0) {
    for (unsigned i = 0; i < n; ++i)
      for (std::size_t k = 0; k < kKindCount; ++k)
        if (b.pools[k].pool == left[i]->pool) --taken[k];
    rte_pktmbuf_free_bulk(left, n);
  }

  const VerdictCounters& v = counters->verdicts;
  const IoCounters& io = counters->io;
  uint64_t taken_total = 0;
  for (uint64_t t : taken) taken_total += t;
  const uint64_t hvr = taken[static_cast<std::size_t>(Kind::kHvr)];
  const uint64_t verify = taken[static_cast<std::size_t>(Kind::kVerify)];
  bool ok = true;
  auto expect = [&](bool condition, const char* what) {
    if (!condition) {
      std::fprintf(stderr, "dtlsgate-pps-inproc: %s: %s\n", mix_text.c_str(), what);
      ok = false;
    }
  };
  auto report_counts = [&] {
    for (std::size_t k = 0; k < kKindCount; ++k)
      std::fprintf(stderr, "dtlsgate-pps-inproc: taken %s=%lu\n",
                   std::string(kind_name(static_cast<Kind>(k))).c_str(), taken[k]);
    for (std::size_t i = 0; i < kVerdictCount; ++i)
      if (v.count[i] != 0)
        std::fprintf(stderr, "dtlsgate-pps-inproc: verdict %s=%lu\n",
                     std::string(verdict_name(static_cast<Verdict>(i))).c_str(), v.count[i]);
  };
  expect(io.rx_packets == taken_total, "the worker did not take what the generator counts");
  expect(v.total() == io.rx_packets, "verdicts do not add up to the frames received");
  const uint64_t refused = v[Verdict::kDropRateLimited];
  expect(v[Verdict::kReplyHvr] + refused == hvr,
         guard ? "not every cookie-less hello got an HVR or a refusal"
               : "not every cookie-less hello got an HVR");
  expect(guard != nullptr || refused == 0, "a hello was refused with no guard");
  expect(v[Verdict::kPassVerified] == verify, "not every valid cookie was passed");
  expect(g.replies + io.tx_dropped == v[Verdict::kReplyHvr], "replies went missing");
  expect(g.passes_drained + io.ring_dropped == verify, "passes went missing");
  expect(g.replies_bad == 0, "a reply was not a well-formed HVR");
  expect(io.tx_dropped == 0, "the TX ring refused a reply");
  for (const KindPool& p : b.pools)
    if (p.pool != nullptr) expect(rte_mempool_full(p.pool) != 0, "an mbuf leaked");
  if (!ok) {
    report_counts();
    return false;
  }

  const double wall = last.wall - first.wall;
  const double cpu = last.worker_cpu - first.worker_cpu;
  const double frames = static_cast<double>(last.taken - first.taken);
  const double low_share = last.rounds == first.rounds
                               ? 1.0
                               : static_cast<double>(last.rx_low_rounds - first.rx_low_rounds) /
                                     static_cast<double>(last.rounds - first.rounds);
  const uint64_t polls = last.polls - first.polls;
  const double empty_share =
      polls == 0 ? 1.0 : static_cast<double>(last.empty_polls - first.empty_polls) / polls;
  // Time, not polls: an empty poll costs ~20 ns, a full one ~3 us.
  const double empty_time_share = static_cast<double>(last.empty_cycles - first.empty_cycles) /
                                  static_cast<double>(rte_get_tsc_hz()) / wall;
  // A worker that never ran in the window (seen on a shared machine) measured nothing.
  const bool saturated =
      polls != 0 && frames > 0 && low_share < 0.01 && empty_time_share < 0.01 && g.alloc_fail == 0;
  report->saturated = saturated;
  report->mpps = frames / wall / 1e6;
  report->add("%s_mpps=%.3f\n", key.c_str(), report->mpps);
  report->add("%s_frame_writes=%s\n", key.c_str(), frame_writes_name(writes));
  report->add("%s_core_to_core_ns=%.1f\n%s_core_to_core_ns_after=%.1f\n", key.c_str(), c2c_before,
              key.c_str(), core_to_core_ns());
  report->add("%s_mpps_per_cpu=%.3f\n", key.c_str(), cpu > 0 ? frames / cpu / 1e6 : 0.0);
  report->add("%s_worker_cpu_share=%.3f\n", key.c_str(), cpu / wall);
  report->add("%s_generator_cpu_share=%.3f\n", key.c_str(),
              (last.generator_cpu - first.generator_cpu) / wall);
  report->add("%s_generator_rounds_per_s=%.0f\n", key.c_str(),
              static_cast<double>(last.rounds - first.rounds) / wall);
  report->add("%s_replies_mpps=%.3f\n", key.c_str(),
              static_cast<double>(last.replies - first.replies) / wall / 1e6);
  report->add("%s_saturated=%s\n", key.c_str(), saturated ? "yes" : "no");
  report->add("%s_rx_ring_low_share=%.4f\n", key.c_str(), low_share);
  report->add("%s_worker_empty_poll_share=%.4f\n", key.c_str(), empty_share);
  report->add("%s_worker_empty_time_share=%.4f\n", key.c_str(), empty_time_share);
  report->add("%s_frames_per_poll=%.2f\n", key.c_str(), polls == 0 ? 0.0 : frames / polls);
  report->add("%s_generator_alloc_fail=%lu\n", key.c_str(), g.alloc_fail);
  report->add("%s_tx_dropped=%lu\n%s_ring_dropped=%lu\n", key.c_str(), io.tx_dropped, key.c_str(),
              io.ring_dropped);
  report->add("%s_replies_checked=%lu\n", key.c_str(), g.replies_checked);
  report->add("%s_seconds=%.3f\n", key.c_str(), wall);
  if (guard) {
    report->add("%s_refused_share=%.4f\n", key.c_str(),
                hvr == 0 ? 0.0 : static_cast<double>(refused) / static_cast<double>(hvr));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || name == "-h") {
      std::printf(
          "usage: dtlsgate-pps-inproc [--mix PRESET|SPEC]... [--seconds S] [--warmup S] [--huge]\n"
          "dtlsgate's worker loop on lcore 1 (core 1) fed through an in-process net_ring port by\n"
          "a generator on lcore 0 (core 0) using the flood's frame crafter.\n"
          "Presets: hvr-only verify-only drop-only attack (default: all four).\n"
          "--huge puts EAL memory on 2 MB hugepages (--in-memory -m 512: reserve 256 free\n"
          "pages first, e.g. echo 256 > /proc/sys/vm/nr_hugepages) instead of --no-huge.\n"
          "--hvr-rate-per-prefix N gives the worker the app's reflection guard (the app's\n"
          "default is 1000; default here: 0, no guard); keys are then inproc_<mix>_guarded_*.\n"
          "--frame-writes stream|store|auto: how the generator writes each frame: stream\n"
          "(non-temporal stores: the frame lands in memory, as a NIC's DMA on AMD EPYC), store\n"
          "(ordinary stores: the worker fetches it from the generator core's cache), auto\n"
          "(default: stream, then store if the worker waited for frames; the saturated run, or\n"
          "else the faster, is printed, with inproc_<mix>_stream_mpps and _store_mpps).\n");
      return 0;
    }
    if (name == "--huge") {
      o.huge = true;
      continue;
    }
    if (name != "--mix" && name != "--seconds" && name != "--warmup" &&
        name != "--hvr-rate-per-prefix" && name != "--frame-writes")
      return usage_error("unknown option '" + name + "' (see --help)");
    if (i + 1 >= argc) return usage_error(name + " needs a value (see --help)");
    const std::string value = argv[++i];
    char* end = nullptr;
    if (name == "--mix") {
      Mix mix;  // judged here, so a bad one is refused before any output
      std::string error;
      if (!parse_mix(value, &mix, &error)) return usage_error(error);
      o.mixes.emplace_back(value, mix);
    } else if (name == "--frame-writes") {
      if (value != "stream" && value != "store" && value != "auto")
        return usage_error("--frame-writes: stream, store or auto");
      if (value != "auto")
        o.frame_writes = value == "stream" ? FrameWrites::kStream : FrameWrites::kStore;
    } else if (name == "--seconds" || name == "--warmup") {
      const double s = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !(s >= 0) || s > 60 || (name == "--seconds" && s == 0))
        return usage_error(name + ": expected 0 < S <= 60");
      (name == "--seconds" ? o.seconds : o.warmup) = s;
    } else if (name == "--hvr-rate-per-prefix") {
      o.hvr_rate_per_prefix = std::strtoull(value.c_str(), &end, 10);
      if (*end != '\0' || value.empty() || value[0] == '-' || o.hvr_rate_per_prefix > 1000000000)
        return usage_error("--hvr-rate-per-prefix: 0-1000000000 HVRs per second");
    } else {
      return usage_error("unknown option '" + name + "' (see --help)");
    }
  }
  if (o.mixes.empty()) o.mixes = all_presets();

  // Both lcores pinned (core 0 generator, core 1 worker); no PCI, nothing shared. With --huge
  // the mbuf pools and rings sit on 2 MB pages as in a deployment: a burst's 32 frames then
  // take one or two TLB entries instead of ~32 (hvr ~10 % faster here, BENCHMARKS.md run M).
  std::vector<const char*> eal_args = {
      "dtlsgate-pps-inproc", "-l",          "0-1",          "--no-pci",
      "--no-telemetry",      "--log-level", "lib.eal:error"};
  if (o.huge) {
    eal_args.insert(eal_args.end(), {"--in-memory", "-m", "512"});
  } else {
    eal_args.insert(eal_args.end(), {"--no-huge", "--no-shconf", "-m", "1024"});
  }
  if (rte_eal_init(static_cast<int>(eal_args.size()), const_cast<char**>(eal_args.data())) < 0) {
    std::fprintf(stderr, "dtlsgate-pps-inproc: EAL init failed%s\n",
                 o.huge ? " (--huge: are 256 free 2 MB hugepages reserved? see --help)" : "");
    return 1;
  }
  int rc = 0;
  {
    std::string error;
    const std::vector<uint8_t> hello = openssl_client_hello(&error);
    if (hello.empty()) {
      std::fprintf(stderr, "dtlsgate-pps-inproc: %s\n", error.c_str());
      return 1;
    }
    TargetSpec target;
    Endpoint server;
    server.port = kDstPort;
    parse_address("192.0.2.1", &server, &error);
    target.ipv4 = server;
    TargetSecret secret;
    secret.master = random_master_secret();
    const auto now = static_cast<uint64_t>(std::time(nullptr));
    CookieKeyring keyring(secret.master, secret.rotation_seconds, now);
    FrameCrafter crafter(hello, target, secret, now, 7);

    Bench b;
    b.crafter = &crafter;
    b.keyring = &keyring;
    b.mac = target.dst_mac;
    const int socket = static_cast<int>(rte_socket_id());
    b.rx = rte_ring_create("pps_rx", kRxRingSize, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    b.tx = rte_ring_create("pps_tx", kTxRingSize, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    b.pass = create_pass_ring("pps_pass", kPassRingSize, socket, &error);
    rte_mempool* port_pool =
        rte_pktmbuf_pool_create("pps_port", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (b.rx == nullptr || b.tx == nullptr || b.pass == nullptr || port_pool == nullptr) {
      std::fprintf(stderr, "dtlsgate-pps-inproc: cannot create rings or pools %s\n", error.c_str());
      return 1;
    }
    const int port = rte_eth_from_rings("net_ring_pps", &b.rx, 1, &b.tx, 1, socket);
    PortInfo info;
    if (port < 0 || !setup_port(static_cast<uint16_t>(port), 1, 1, port_pool, &info, &error)) {
      std::fprintf(stderr, "dtlsgate-pps-inproc: ring port: %s\n", error.c_str());
      return 1;
    }
    b.port = static_cast<uint16_t>(port);
    for (std::size_t k = 0; k < kKindCount; ++k) {
      const FrameTemplate& t = crafter.frame_template(static_cast<Kind>(k), AddressFamily::kIpv4);
      const std::string name = "pps_kind" + std::to_string(k);
      b.pools[k].pool = rte_pktmbuf_pool_create(name.c_str(), kPoolSize, kPoolCache, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, socket);
      if (b.pools[k].pool == nullptr) {
        std::fprintf(stderr, "dtlsgate-pps-inproc: cannot create pool %s\n", name.c_str());
        return 1;
      }
      unsigned misaligned = 0;
      rte_mempool_obj_iter(b.pools[k].pool, count_misaligned, &misaligned);
      if (misaligned != 0 || t.bytes.size() + 15 > kStageStride) {
        std::fprintf(stderr, "dtlsgate-pps-inproc: pool %s cannot take streamed frames\n",
                     name.c_str());
        return 1;
      }
      b.pools[k].frame = &t;
    }
    rte_eal_remote_launch(record_thread, &b.worker_thread, kWorkerLcore);
    rte_eal_wait_lcore(kWorkerLcore);

    std::printf("inproc_memory=%s\n", o.huge ? "hugepages" : "no-huge");
    std::printf("inproc_frame_bytes=%zu\ninproc_burst=%u\ninproc_rx_ring=%u\n",
                crafter.frame_template(Kind::kHvr, AddressFamily::kIpv4).bytes.size(), kBurst,
                kRxRingSize);
    for (const auto& [mix_text, mix] : o.mixes) {
      // auto: stream, and store where stream left the worker waiting for frames. Both are
      // lower bounds of the worker's throughput until one is saturated: the saturated run is
      // kept, else the faster; both rates are printed.
      MixReport stream, store;
      const bool use_stream = o.frame_writes != FrameWrites::kStore;
      if (use_stream && !run_mix(b, o, mix_text, mix, FrameWrites::kStream, &stream)) {
        rc = 1;
        break;
      }
      const bool use_store =
          o.frame_writes == FrameWrites::kStore || (!o.frame_writes && !stream.saturated);
      if (use_store && !run_mix(b, o, mix_text, mix, FrameWrites::kStore, &store)) {
        rc = 1;
        break;
      }
      const MixReport& kept = !use_store ? stream : !use_stream ? store : better_run(stream, store);
      std::fputs(kept.lines.c_str(), stdout);
      const std::string key = report_key(o, mix_text);
      if (use_stream && use_store) {
        std::printf("%s_stream_mpps=%.3f\n%s_store_mpps=%.3f\n", key.c_str(), stream.mpps,
                    key.c_str(), store.mpps);
      }
      std::fflush(stdout);
    }
    stop_port(b.port);
  }
  rte_eal_cleanup();
  return rc;
}
