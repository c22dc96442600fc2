// dtlsgate's own command line (the part after "--"). Parsed before EAL starts, so a bad option,
// address or file is reported in one line and exit code 2 without EAL noise; nothing here
// touches DPDK.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/hvr_rate_limiter.h"
#include "dtlsgate/session/server_context.h"
#include "dtlsgate/session/session_engine.h"

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
  // --hvr-rate-per-prefix, per worker, 0 = no cap; the default is lib's (RELIABILITY.md)
  uint64_t hvr_rate_per_prefix = HvrRateLimit{}.per_prefix_per_second;
  std::string cert_path;            // --cert (PEM chain), with --key
  std::string key_path;             // --key (PEM private key)
  std::string ciphers = "DEFAULT";  // --ciphers (OpenSSL cipher string)
  // Loaded and checked while parsing, so a bad file is one line and exit 2. nullptr when no
  // --cert/--key was given (main makes a throw-away self-signed one, with a warning).
  std::shared_ptr<ServerTlsContext> tls;
  unsigned slow_threads = 1;  // --slow-threads
  // --mtu, --max-sessions, --max-half-open, --max-sessions-per-source, --handshake-timeout:
  // per slow-path thread (sessions are sharded over them by 5-tuple hash).
  SessionEngineConfig engine;
};

// Largest --mtu: a UDP payload that still fits a 1500-byte link MTU over IPv6.
inline constexpr uint16_t kMaxUdpPayload = 1500 - 40 - 8;

enum class ParseResult { kOk, kHelp, kError };

// args are the words after "--" (no program name). On kError, *error is one line.
ParseResult parse_app_options(const std::vector<std::string>& args, AppOptions* out,
                              std::string* error);

// Reads and parses a --secret-file (64 hex digits). Used at start and on SIGHUP.
bool read_secret_file(const std::string& path, MasterSecret* out, std::string* error);

// Our half of --help.
std::string app_usage();

}  // namespace dtlsgate::app
