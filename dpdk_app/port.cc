#include "port.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "worker.h"

namespace dtlsgate::app {

static_assert(kMempoolCache >= kBurst, "a burst must fit in the lcore's mempool cache");

unsigned mbuf_pool_size(const PoolSizing& s) {
  const unsigned rx = s.ports * s.queues_per_port * kRxDescriptors;
  const unsigned tx = s.ports * s.queues_per_port * kTxDescriptors;
  const unsigned caches = s.lcores * (kBurst + kMempoolCache);
  const unsigned needed = rx + tx + caches + s.ring_capacity;
  unsigned size = 8191;
  while (size < needed) size = size * 2 + 1;
  std::printf(
      "dtlsgate: mbuf pool: %u ports x %u queues x (%u RX + %u TX descriptors) + %u lcores x "
      "(burst %u + cache %u) + %u in slow-path rings = %u mbufs needed, pool of %u\n",
      s.ports, s.queues_per_port, kRxDescriptors, kTxDescriptors, s.lcores, kBurst, kMempoolCache,
      s.ring_capacity, needed, size);
  return size;
}

rte_mempool* create_mbuf_pool(const char* name, int socket, const PoolSizing& sizing,
                              std::string* error) {
  const unsigned size = mbuf_pool_size(sizing);
  rte_mempool* pool =
      rte_pktmbuf_pool_create(name, size, kMempoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool == nullptr) {
    *error = "cannot create mbuf pool of " + std::to_string(size) + " mbufs on socket " +
             std::to_string(socket) + ": " + rte_strerror(rte_errno) +
             " (give EAL more memory: -m, or hugepages)";
    return nullptr;
  }
  const double mib = static_cast<double>(size) * (sizeof(rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE) /
                     (1024.0 * 1024.0);
  std::printf("dtlsgate: mbuf pool '%s': %u mbufs of %u bytes on socket %d (~%.1f MiB)\n", name,
              size, static_cast<unsigned>(RTE_MBUF_DEFAULT_BUF_SIZE), socket, mib);
  return pool;
}

uint16_t port_max_queues(uint16_t port_id) {
  rte_eth_dev_info info;
  if (rte_eth_dev_info_get(port_id, &info) != 0) return 0;
  return std::min(info.max_rx_queues, info.max_tx_queues);
}

uint16_t port_max_rx_queues(uint16_t port_id) {
  rte_eth_dev_info info;
  return rte_eth_dev_info_get(port_id, &info) == 0 ? info.max_rx_queues : 0;
}

uint16_t port_max_tx_queues(uint16_t port_id) {
  rte_eth_dev_info info;
  return rte_eth_dev_info_get(port_id, &info) == 0 ? info.max_tx_queues : 0;
}

namespace {
std::string_view driver_of(uint16_t port_id) {
  rte_eth_dev_info info;
  if (rte_eth_dev_info_get(port_id, &info) != 0 || info.driver_name == nullptr) return {};
  return info.driver_name;
}
}  // namespace

bool port_receives_on_every_queue(uint16_t port_id) {
  const std::string_view driver = driver_of(port_id);
  return driver == "net_af_packet" || driver == "net_tap";
}

uint16_t port_rx_queues(uint16_t port_id, uint16_t workers, uint16_t tx_queues) {
  const std::string_view driver = driver_of(port_id);
  if (driver == "net_af_packet") return port_max_rx_queues(port_id);
  if (driver == "net_tap") return tx_queues;
  return workers;
}

bool setup_port(uint16_t port_id, uint16_t queues, rte_mempool* pool, PortInfo* out,
                std::string* error) {
  return setup_port(port_id, queues, queues, pool, out, error);
}

bool setup_port(uint16_t port_id, uint16_t queues, uint16_t tx_queues, rte_mempool* pool,
                PortInfo* out, std::string* error) {
  auto fail = [&](const char* what, int rc) {
    *error = "port " + std::to_string(port_id) + ": " + what + ": " + rte_strerror(-rc);
    return false;
  };
  rte_eth_dev_info dev;
  if (int rc = rte_eth_dev_info_get(port_id, &dev); rc != 0) return fail("dev_info_get", rc);

  PortInfo info;
  info.id = port_id;
  info.driver = dev.driver_name ? dev.driver_name : "?";

  rte_eth_conf conf{};
  if (queues > 1) {
    // Spread clients over queues by address and UDP ports; a spoofed flood spreads too.
    const uint64_t wanted = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP;
    const uint64_t offered = wanted & dev.flow_type_rss_offloads;
    if (offered != wanted)
      std::printf("dtlsgate: port %u (%s): RSS hash types 0x%llx not offered, using 0x%llx\n",
                  port_id, info.driver.c_str(), static_cast<unsigned long long>(wanted & ~offered),
                  static_cast<unsigned long long>(offered));
    if (offered != 0) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf = offered;
      info.rss = true;
    } else if (port_receives_on_every_queue(port_id)) {
      std::printf(
          "dtlsgate: port %u (%s): no RSS; the kernel fans frames out over its %u queues "
          "(PACKET_FANOUT hash), all polled\n",
          port_id, info.driver.c_str(), queues);
    } else {
      std::printf(
          "dtlsgate: port %u (%s): no RSS: every frame lands on queue 0 and %u queues "
          "stay idle\n",
          port_id, info.driver.c_str(), queues - 1);
    }
  }
  // Replies are freed by the PMD into the pool they came from with refcnt 1: fast free is safe.
  if (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

  // A NIC that verifies IPv4 header and UDP checksums spares the worker the software sums
  // (~80 instructions per ClientHello, tools/callgrind-ipp); lib trusts only a GOOD flag.
  constexpr uint64_t kRxChecksums = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  conf.rxmode.offloads |= dev.rx_offload_capa & kRxChecksums;
  info.rx_checksum_offload = (conf.rxmode.offloads & kRxChecksums) == kRxChecksums;
  const char* rx_checksums = info.rx_checksum_offload                     ? "on"
                             : (conf.rxmode.offloads & kRxChecksums) != 0 ? "partly"
                                                                          : "not offered";

  // And one that computes them on TX spares each HVR its reply sums (~20 instructions,
  // tools/callgrind-ipp hvr_nic_tx): only both together, an IPv4 reply needs the two.
  constexpr uint64_t kTxChecksums = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  if ((dev.tx_offload_capa & kTxChecksums) == kTxChecksums) {
    conf.txmode.offloads |= kTxChecksums;
    info.tx_checksum_offload = true;
  }

  if (int rc = rte_eth_dev_configure(port_id, queues, tx_queues, &conf); rc != 0)
    return fail("configure", rc);

  uint16_t nb_rxd = kRxDescriptors, nb_txd = kTxDescriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd); rc != 0)
    return fail("adjust descriptors", rc);
  info.rx_descriptors = nb_rxd;
  info.tx_descriptors = nb_txd;

  const int socket = rte_eth_dev_socket_id(port_id);
  for (uint16_t q = 0; q < queues; ++q) {
    rte_eth_rxconf rxconf = dev.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(port_id, q, nb_rxd, socket, &rxconf, pool); rc != 0)
      return fail("rx queue setup", rc);
  }
  for (uint16_t q = 0; q < tx_queues; ++q) {
    rte_eth_txconf txconf = dev.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(port_id, q, nb_txd, socket, &txconf); rc != 0)
      return fail("tx queue setup", rc);
  }

  rte_ether_addr mac;
  if (int rc = rte_eth_macaddr_get(port_id, &mac); rc != 0) return fail("macaddr_get", rc);
  std::copy(mac.addr_bytes, mac.addr_bytes + 6, info.mac.begin());

  if (int rc = rte_eth_dev_start(port_id); rc != 0) return fail("start", rc);
  // IPv6 neighbour solicitations go to a solicited-node multicast address.
  if (rte_eth_allmulticast_enable(port_id) != 0)
    std::printf(
        "dtlsgate: port %u (%s): all-multicast not supported: if it filters "
        "multicast, IPv6 neighbour solicitations will not reach us\n",
        port_id, info.driver.c_str());

  std::printf(
      "dtlsgate: port %u (%s) %02x:%02x:%02x:%02x:%02x:%02x: %u RX / %u TX queues, %u RX / %u "
      "TX descriptors, RSS %s, TX fast free %s, RX checksum offload %s, TX checksum offload "
      "%s\n",
      port_id, info.driver.c_str(), info.mac[0], info.mac[1], info.mac[2], info.mac[3], info.mac[4],
      info.mac[5], queues, tx_queues, nb_rxd, nb_txd, info.rss ? "on" : "off",
      (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) ? "on" : "not offered",
      rx_checksums, info.tx_checksum_offload ? "on" : "not offered");
  *out = info;
  return true;
}

void stop_port(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);
}

}  // namespace dtlsgate::app
