// A slow-path thread: one SessionEngine (OpenSSL) fed by its own ring of datagrams the workers
// passed, timers from the monotonic clock, and its own TX queue on every port for what the
// engine sends. Frames around the engine's datagrams come from lib's write_udp_frame; the
// peer's MAC is the source MAC of the frame that created the session.
//
// Workers never wait for it: a full ring is their counted drop (ring_dropped). When idle (ring
// empty, no timer due) it sleeps 100 us, so it can share a core with the control lcore.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/session/echo_handler.h"
#include "dtlsgate/session/server_context.h"
#include "dtlsgate/session/session_engine.h"
#include "dtlsgate/udp_frame_writer.h"

struct rte_ring;
struct rte_mempool;

namespace dtlsgate::app {

struct SlowIoCounters {
#define DTLSGATE_X(name, help) uint64_t name = 0;
  DTLSGATE_SLOW_IO_COUNTERS(DTLSGATE_X)
#undef DTLSGATE_X
};

struct SlowIoCounterInfo {
  std::string_view name;
  std::string_view help;
  uint64_t SlowIoCounters::*member;
};

inline constexpr SlowIoCounterInfo kSlowIoCounterInfo[] = {
#define DTLSGATE_X(name, help) {#name, help, &SlowIoCounters::name},
    DTLSGATE_SLOW_IO_COUNTERS(DTLSGATE_X)
#undef DTLSGATE_X
};
inline constexpr std::size_t kSlowIoCounterCount = std::size(kSlowIoCounterInfo);

// Where this thread sends on one port.
struct SlowPathPort {
  uint16_t port_id = 0;
  uint16_t tx_queue = 0;
  std::array<uint8_t, 6> mac{};  // ours: the Ethernet source of what we send
};

struct SlowPathConfig {
  rte_ring* ring = nullptr;  // pass_ring.h elements, this thread's shard
  std::vector<SlowPathPort> ports;
  rte_mempool* pool = nullptr;
  const ServerTlsContext* tls = nullptr;
  const CookieKeyring* keys = nullptr;
  FlowTable* flows = nullptr;
  SessionEngineConfig engine;
};

class SlowPath {
 public:
  explicit SlowPath(SlowPathConfig config);
  ~SlowPath();
  SlowPath(const SlowPath&) = delete;
  SlowPath& operator=(const SlowPath&) = delete;

  // One round: a burst from the ring into the engine, due timers, output sent. Returns the
  // datagrams taken from the ring. Tests call it directly with a clock of their own.
  unsigned poll_once(uint64_t now_us);

  // The loop, on the monotonic clock, until *stop; then drains the ring once more.
  void run(const std::atomic<bool>* stop);
  // rte_eal_remote_launch entry point: arg is a SlowPath*, stop as given to set_stop.
  static int run_on_lcore(void* slow_path);
  void set_stop(const std::atomic<bool>* stop) { stop_ = stop; }
  // Or as a plain thread when no lcore is left for it.
  void start_thread(const std::atomic<bool>* stop);
  void join_thread();

  // Written by this thread with plain stores; read by others with relaxed atomic loads.
  const SessionCounters& session_counters() const { return engine_->counters(); }
  const SlowIoCounters& io_counters() const { return io_; }
  const SessionEngine& engine() const { return *engine_; }
  std::size_t remembered_peers() const { return peers_.size(); }

  static uint64_t monotonic_us();

 private:
  struct PeerLink {
    uint16_t port_id = 0;
    std::array<uint8_t, 6> mac{};
  };
  void send_output();
  const SlowPathPort* port(uint16_t port_id) const;
  void forget_closed_peers();

  SlowPathConfig config_;
  EchoHandler echo_;
  std::unique_ptr<SessionEngine> engine_;
  std::unordered_map<FlowKey, PeerLink, FlowKeyHasher> peers_;
  SlowIoCounters io_;
  uint64_t next_timer_check_us_ = 0;
  const std::atomic<bool>* stop_ = nullptr;
  std::thread thread_;
};

}  // namespace dtlsgate::app
