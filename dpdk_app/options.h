// dtlsgate's own command line (the part after "--"). Parsed before EAL starts, so a bad option,
// address or file is reported in one line and exit code 2 without EAL noise; nothing here
// touches DPDK.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dtlsgate/cookie/keyring.h"

namespace dtlsgate::app {

struct AppOptions {
  std::vector<std::array<uint8_t, 4>> ipv4;   // --addr (IPv4)
  std::vector<std::array<uint8_t, 16>> ipv6;  // --addr (IPv6)
  std::vector<std::string> addr_text;         // --addr as given, for logs and telemetry
  std::vector<uint16_t> ports;                // --port, default {4433}
  unsigned workers = 0;                       // --workers, 0 = one per worker lcore
  std::string secret_file;                    // --secret-file, empty = random secret
  std::optional<MasterSecret> secret;         // read from secret_file
  uint64_t rotation_seconds = 30;             // --rotation
  double duration_seconds = 0;                // --duration, 0 = until SIGINT/SIGTERM
  unsigned stats_interval = 1;                // --stats-interval, 0 = quiet
  std::string summary_json;                   // --summary-json
  std::optional<std::array<uint8_t, 6>> mac;  // --mac, overrides every port's MAC
  uint64_t hvr_rate = 0;                      // --hvr-rate, per worker, 0 = no cap
  uint64_t hvr_rate_per_prefix = 0;           // --hvr-rate-per-prefix, per worker, 0 = no cap
};

enum class ParseResult { kOk, kHelp, kError };

// args are the words after "--" (no program name). On kError, *error is one line.
ParseResult parse_app_options(const std::vector<std::string>& args, AppOptions* out,
                              std::string* error);

// Reads and parses a --secret-file (64 hex digits). Used at start and on SIGHUP.
bool read_secret_file(const std::string& path, MasterSecret* out, std::string* error);

// Our half of --help.
std::string app_usage();

}  // namespace dtlsgate::app
