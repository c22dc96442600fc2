#include "telemetry.h"

#include <rte_telemetry.h>

#include <cerrno>

#include "dtlsgate/source_prefix.h"

namespace dtlsgate::app {
namespace {

const Stats* g_stats = nullptr;
const ConfigView* g_config = nullptr;

void add_u64(rte_tel_data* d, std::string_view name, uint64_t value) {
  const std::string key(name);
  rte_tel_data_add_dict_u64(d, key.c_str(), value);
}

int stats_command(const char*, const char*, rte_tel_data* d) {
  const StatsSnapshot s = g_stats->snapshot();
  rte_tel_data_start_dict(d);
  for (std::size_t i = 0; i < kIoCounterCount; ++i) add_u64(d, kIoCounterInfo[i].name, s.io[i]);
  for (std::size_t v = 0; v < kVerdictCount; ++v) add_u64(d, kVerdictInfo[v].name, s.verdicts[v]);
  add_u64(d, "imissed", s.imissed);
  add_u64(d, "rx_nombuf", s.rx_nombuf);
  add_u64(d, "mbufs_in_use", s.mbufs_in_use);
  add_u64(d, "mbufs_total", s.mbufs_total);
  for (std::size_t i = 0; i < kSlowIoCounterCount; ++i)
    add_u64(d, kSlowIoCounterInfo[i].name, s.slow_io[i]);
  for (std::size_t i = 0; i < kSessionCounterCount; ++i)
    add_u64(d, kSessionCounterInfo[i].name, s.session[i]);
  return 0;
}

int config_command(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  rte_tel_data* addresses = rte_tel_data_alloc();
  rte_tel_data_start_array(addresses, RTE_TEL_STRING_VAL);
  for (const std::string& a : g_config->addresses)
    rte_tel_data_add_array_string(addresses, a.c_str());
  rte_tel_data_add_dict_container(d, "addresses", addresses, 0);
  rte_tel_data* ports = rte_tel_data_alloc();
  rte_tel_data_start_array(ports, RTE_TEL_U64_VAL);
  for (uint16_t p : g_config->ports) rte_tel_data_add_array_u64(ports, p);
  rte_tel_data_add_dict_container(d, "udp_ports", ports, 0);
  add_u64(d, "workers", g_config->workers);
  add_u64(d, "stats_interval", g_config->stats_interval);
  add_u64(d, "rotation_seconds", g_config->keyring->rotation_seconds());
  add_u64(d, "key_epoch", g_config->keyring->epoch());
  rte_tel_data_add_dict_string(d, "secret", g_config->secret_source.c_str());
  for (const auto& [name, per_port] :
       {std::pair{"rx_checksum_offload", &g_config->rx_checksum_offload},
        std::pair{"tx_checksum_offload", &g_config->tx_checksum_offload}}) {
    rte_tel_data* list = rte_tel_data_alloc();
    if (list == nullptr) return -ENOMEM;
    rte_tel_data_start_array(list, RTE_TEL_U64_VAL);
    for (uint8_t on : *per_port) rte_tel_data_add_array_u64(list, on);
    rte_tel_data_add_dict_container(d, name, list, 0);
  }
  return 0;
}

// The prefixes the reflection guard refused most, most first, as three parallel lists:
// {"prefixes": ["198.51.100.0/24", ...], "refused": [N, ...], "error": [E, ...]}. Not keyed by
// prefix, nor a list of objects: DPDK 22.11 drops, unannounced, a dictionary entry whose key
// holds a '.' (the answer was {}) and an object added to a list (the answer was []).
int refused_prefixes_command(const char*, const char*, rte_tel_data* d) {
  const StatsSnapshot s = g_stats->snapshot();
  rte_tel_data_start_dict(d);
  rte_tel_data* prefixes = rte_tel_data_alloc();
  rte_tel_data* refused = rte_tel_data_alloc();
  rte_tel_data* error = rte_tel_data_alloc();
  if (prefixes == nullptr || refused == nullptr || error == nullptr) {
    rte_tel_data_free(prefixes);
    rte_tel_data_free(refused);
    rte_tel_data_free(error);
    return -ENOMEM;
  }
  rte_tel_data_start_array(prefixes, RTE_TEL_STRING_VAL);
  rte_tel_data_start_array(refused, RTE_TEL_U64_VAL);
  rte_tel_data_start_array(error, RTE_TEL_U64_VAL);
  for (const RefusedPrefix& p : s.refused_prefixes) {
    rte_tel_data_add_array_string(prefixes, prefix_text(p.key).c_str());
    rte_tel_data_add_array_u64(refused, p.refused);
    rte_tel_data_add_array_u64(error, p.error);
  }
  rte_tel_data_add_dict_container(d, "prefixes", prefixes, 0);  // d owns them from here
  rte_tel_data_add_dict_container(d, "refused", refused, 0);
  rte_tel_data_add_dict_container(d, "error", error, 0);
  return 0;
}

}  // namespace

void register_telemetry(const Stats* stats, const ConfigView* config) {
  g_stats = stats;
  g_config = config;
  rte_telemetry_register_cmd("/dtlsgate/stats", stats_command,
                             "Every dtlsgate counter since start. Takes no parameters");
  rte_telemetry_register_cmd("/dtlsgate/config", config_command,
                             "dtlsgate addresses, ports, workers, key rotation. No parameters");
  rte_telemetry_register_cmd("/dtlsgate/refused_prefixes", refused_prefixes_command,
                             "Source prefixes the reflection guard refused most, with estimated "
                             "refusals. No parameters");
}

}  // namespace dtlsgate::app
