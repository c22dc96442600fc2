// DPDK telemetry commands (readable with dpdk-telemetry.py when EAL runs with telemetry on):
//   /dtlsgate/stats   every counter (verdicts, I/O, NIC imissed/rx_nombuf), totals
//   /dtlsgate/config  addresses, ports, workers, rotation, current key epoch, checksum
//                     offloads per port
#pragma once

#include <string>
#include <vector>

#include "dtlsgate/cookie/keyring.h"
#include "stats.h"

namespace dtlsgate::app {

struct ConfigView {
  std::vector<std::string> addresses;
  std::vector<uint16_t> ports;
  unsigned workers = 0;
  unsigned stats_interval = 0;
  std::string secret_source;  // the file, or "random"
  const CookieKeyring* keyring = nullptr;
  // Per port, in port order: 1 where the NIC verifies (RX) or computes (TX) IPv4 header and
  // UDP checksums for the workers.
  std::vector<uint8_t> rx_checksum_offload;
  std::vector<uint8_t> tx_checksum_offload;
};

// stats and config must outlive EAL (the telemetry thread calls back until rte_eal_cleanup).
void register_telemetry(const Stats* stats, const ConfigView* config);

}  // namespace dtlsgate::app
