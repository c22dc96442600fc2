#include "pass_sink.h"

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <chrono>

namespace dtlsgate::app {

unsigned PassSink::drain_once() {
  unsigned total = 0;
  for (rte_ring* ring : rings_) {
    rte_mbuf* m[64];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(ring, reinterpret_cast<void**>(m), 64, nullptr)) > 0) {
      rte_pktmbuf_free_bulk(m, n);
      total += n;
    }
  }
  received_.fetch_add(total, std::memory_order_relaxed);
  return total;
}

void PassSink::start() {
  stop_.store(false);
  // A plain thread, not an lcore: only 2 cores here, and it must not spin on the workers' core.
  thread_ = std::thread([this] {
    while (!stop_.load(std::memory_order_relaxed))
      if (drain_once() == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  });
}

void PassSink::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  drain_once();
}

}  // namespace dtlsgate::app
