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

// True for PMDs whose kernel side spreads frames over every RX queue, RSS or not, so each must
// be polled or its share of the traffic is lost: net_af_packet (one socket per qpair, made at
// probe time, PACKET_FANOUT) and net_tap (one multi-queue tap fd per queue, the kernel picks
// by flow hash).
bool port_receives_on_every_queue(uint16_t port_id);

// RX queues to configure so that every frame the port receives reaches a worker: one per
// worker, except net_af_packet (every qpair it made at probe time) and net_tap (which refuses
// RX and TX queue counts that differ: as many as tx_queues, the workers' and the slow path's).
// Queue q is polled by worker q % workers.
uint16_t port_rx_queues(uint16_t port_id, uint16_t workers, uint16_t tx_queues);

struct PortInfo {
  uint16_t id = 0;
  std::string driver;
  std::array<uint8_t, 6> mac{};
  uint16_t rx_descriptors = 0;
  uint16_t tx_descriptors = 0;
  bool rss = false;
  // The port verifies IPv4 header and UDP checksums on RX (both offered and enabled): the
  // workers skip the sums of frames it marks good.
  bool rx_checksum_offload = false;
  // The port computes IPv4 header and UDP checksums on TX (both offered and enabled): the
  // workers' HVR replies leave them to it.
  bool tx_checksum_offload = false;
};

// Configures `queues` RX/TX queue pairs, RSS trimmed to the PMD's offer, starts the port.
bool setup_port(uint16_t port_id, uint16_t queues, rte_mempool* pool, PortInfo* info,
                std::string* error);
// rx_queues for the workers, tx_queues for the workers and then one per slow-path thread.
bool setup_port(uint16_t port_id, uint16_t rx_queues, uint16_t tx_queues, rte_mempool* pool,
                PortInfo* info, std::string* error);

void stop_port(uint16_t port_id);

}  // namespace dtlsgate::app
