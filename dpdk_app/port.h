// Ports, queues and the mbuf pool. Every port EAL gives us gets one RX/TX queue pair per
// worker; RSS on IP + UDP ports where the PMD offers it, trimmed to what it supports (logged).
#pragma once

#include <array>
#include <cstdint>
#include <string>

struct rte_mempool;

namespace dtlsgate::app {

inline constexpr uint16_t kRxDescriptors = 1024;
inline constexpr uint16_t kTxDescriptors = 1024;
inline constexpr unsigned kMempoolCache = 256;

struct PoolSizing {
  unsigned ports = 0;
  unsigned queues_per_port = 0;
  unsigned lcores = 0;
  unsigned ring_capacity = 0;  // mbufs the slow-path rings can hold
};

// mbufs needed so no queue, ring or lcore cache can starve another: RX and TX descriptors of
// every queue, a burst plus a full cache per lcore, the slow-path rings; at least 8191, then
// rounded up to 2^n - 1 (the mempool's optimum). The sum is logged with its terms.
unsigned mbuf_pool_size(const PoolSizing& sizing);

// Creates the pool on `socket`; logs its size and memory. nullptr and *error on failure.
rte_mempool* create_mbuf_pool(const char* name, int socket, const PoolSizing& sizing,
                              std::string* error);

// The most queue pairs the port can have.
uint16_t port_max_queues(uint16_t port_id);
uint16_t port_max_rx_queues(uint16_t port_id);
uint16_t port_max_tx_queues(uint16_t port_id);

// True for PMDs that deliver frames to every RX queue they have whatever we configure:
// net_af_packet makes one socket per qpair at probe time and the kernel fans frames out over
// all of them, so each must be polled or its share of the traffic is lost.
bool port_receives_on_every_queue(uint16_t port_id);

struct PortInfo {
  uint16_t id = 0;
  std::string driver;
  std::array<uint8_t, 6> mac{};
  uint16_t rx_descriptors = 0;
  uint16_t tx_descriptors = 0;
  bool rss = false;
};

// Configures `queues` RX/TX queue pairs, RSS trimmed to the PMD's offer, starts the port.
bool setup_port(uint16_t port_id, uint16_t queues, rte_mempool* pool, PortInfo* info,
                std::string* error);
// rx_queues for the workers, tx_queues for the workers and then one per slow-path thread.
bool setup_port(uint16_t port_id, uint16_t rx_queues, uint16_t tx_queues, rte_mempool* pool,
                PortInfo* info, std::string* error);

void stop_port(uint16_t port_id);

}  // namespace dtlsgate::app
