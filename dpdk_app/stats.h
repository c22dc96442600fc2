// Counters users can trust: per-lcore/per-queue counters summed by the main lcore, per-second
// rates from deltas divided by the measured interval, the NIC's imissed and rx_nombuf, and the
// final summary (text and JSON). Every name comes from the X-macro lists in counters.h.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dtlsgate/refused_prefixes.h"
#include "dtlsgate/session/session_counters.h"
#include "io_counters.h"
#include "slow_path.h"

struct rte_mempool;

namespace dtlsgate {
class HvrRateLimiter;
}  // namespace dtlsgate

namespace dtlsgate::app {

struct QueueLabel {
  uint16_t port = 0;
  uint16_t queue = 0;
};

struct StatsSnapshot {
  uint64_t tsc = 0;
  std::array<uint64_t, kVerdictCount> verdicts{};
  std::array<uint64_t, kIoCounterCount> io{};
  std::vector<uint64_t> queue_rx;  // per QueueLabel
  uint64_t imissed = 0;            // NIC: dropped because no RX descriptor was free
  uint64_t rx_nombuf = 0;          // NIC: RX failed because the mbuf pool was empty
  uint64_t mbufs_in_use = 0;       // pool: out of the pool now (RX rings, in flight, leaks)
  uint64_t mbufs_total = 0;        // pool: its size
  std::array<uint64_t, kSessionCounterCount> session{};  // summed over slow-path threads
  std::array<uint64_t, kSlowIoCounterCount> slow_io{};
  // The source prefixes the reflection guard withheld HVRs from most, over all workers (an
  // estimate from a sample of the refusals: refused_prefixes.h), most first.
  std::vector<RefusedPrefix> refused_prefixes;

  uint64_t io_counter(std::string_view name) const;
  uint64_t verdict_total() const;
};

class Stats {
 public:
  Stats(std::vector<QueueLabel> queues, std::vector<uint16_t> ports);

  // The counters of queue i (in the order given to the constructor); owned by one worker.
  QueueCounters* counters(std::size_t i) { return &counters_[i]; }
  const std::vector<QueueLabel>& queues() const { return labels_; }

  // A slow-path thread's counters (owned by it, outlive this Stats' use).
  void add_slow_path(const SessionCounters* session, const SlowIoCounters* io) {
    slow_paths_.push_back({session, io});
  }

  // A worker's reflection guard, whose most refused prefixes snapshots report.
  void add_guard(const HvrRateLimiter* guard) { guards_.push_back(guard); }

  // The mbuf pool whose use snapshots report (a leak shows as mbufs_in_use that only grows).
  void set_pool(const rte_mempool* pool) { pool_ = pool; }

  // Any thread (main lcore, telemetry thread).
  StatsSnapshot snapshot() const;

  // One line: pps per verdict seen, per queue, plus NIC drops in the interval.
  std::string interval_line(const StatsSnapshot& prev, const StatsSnapshot& cur) const;
  std::string summary_text(const StatsSnapshot& s, double seconds) const;
  std::string summary_json(const StatsSnapshot& s, double seconds) const;

 private:
  std::vector<QueueLabel> labels_;
  std::vector<uint16_t> ports_;
  std::unique_ptr<QueueCounters[]> counters_;
  struct SlowPathCounters {
    const SessionCounters* session;
    const SlowIoCounters* io;
  };
  std::vector<SlowPathCounters> slow_paths_;
  std::vector<const HvrRateLimiter*> guards_;
  const rte_mempool* pool_ = nullptr;
};

}  // namespace dtlsgate::app
