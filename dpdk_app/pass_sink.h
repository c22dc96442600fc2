// Stand-in consumer of the slow-path rings: takes the datagrams workers passed (cookie verified
// or known flow), counts and frees them. The slow-path issue replaces it with the OpenSSL
// session engine; until then it proves the rings drain and no mbuf leaks.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

struct rte_ring;

namespace dtlsgate::app {

class PassSink {
 public:
  explicit PassSink(std::vector<rte_ring*> rings) : rings_(std::move(rings)) {}
  ~PassSink() { stop(); }

  void start();
  // Stops the thread after draining every ring; workers must have stopped already.
  void stop();
  // Takes and frees whatever is queued now; returns how many. For tests and for stop().
  unsigned drain_once();

  const std::atomic<uint64_t>& received() const { return received_; }

 private:
  std::vector<rte_ring*> rings_;
  std::atomic<uint64_t> received_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace dtlsgate::app
