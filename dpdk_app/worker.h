// The worker lcore loop: run to completion on bursts of 32. lib/ classifies and writes the
// replies in place; this file only moves mbufs (RX, TX on the lcore's own queue, slow-path
// rings, bulk free). No allocation, lock or syscall per packet; a full TX queue or ring is a
// counted drop, never a wait.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/hvr_rate_limiter.h"
#include "io_counters.h"

struct rte_ring;

namespace dtlsgate::app {

inline constexpr uint16_t kBurst = 32;

inline constexpr uint16_t kSameAsRx = UINT16_MAX;

// One RX queue a worker owns, and the TX queue its replies leave on.
struct WorkerQueue {
  uint16_t port_id = 0;
  uint16_t queue_id = 0;
  const Classifier* classifier = nullptr;  // knows the port's MAC and the worker's limiter
  QueueCounters* counters = nullptr;
  HvrRateLimiter* limiter = nullptr;  // the worker's (shared by its queues), or none
  // kSameAsRx: queue_id. A worker polling several RX queues of one port (af_packet receives on
  // every queue it has) answers on its one TX queue.
  uint16_t tx_queue_id = kSameAsRx;
  // The port computes IPv4 header and UDP checksums on TX and the classifier leaves HVR
  // replies' sums to it (ClassifierConfig::tx_checksums): their mbufs are marked for it.
  bool tx_checksum_offload = false;
};

struct WorkerContext {
  std::vector<WorkerQueue> queues;
  const CookieKeyring* keyring = nullptr;
  // Slow-path shards (pass_ring.h elements); a pass goes to rings[hash_flow(flow) % size] so
  // one session always reaches the same slow-path thread.
  std::vector<rte_ring*> pass_rings;
  const std::atomic<bool>* stop = nullptr;
  double ns_per_tsc = 0;  // the rate limiter's clock: TSC cycles to nanoseconds
};

// One burst from every queue of the worker. Returns the number of frames received. Tests call
// this directly on net_ring ports to drive the loop deterministically.
unsigned poll_once(const WorkerContext& ctx);

// The lcore entry point (rte_eal_remote_launch): poll_once until *ctx->stop.
int run_worker(void* worker_context);

}  // namespace dtlsgate::app
