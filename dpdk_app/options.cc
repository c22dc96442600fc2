#include "options.h"

#include <arpa/inet.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "dtlsgate/printable.h"

namespace dtlsgate::app {
namespace {

template <typename T>
bool parse_uint(const std::string& text, T min, T max, T* out) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty() || v < min || v > max) return false;
  *out = static_cast<T>(v);
  return true;
}

bool parse_seconds(const std::string& text, double* out) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty() || !(v >= 0) || v > 1e9) return false;
  *out = v;
  return true;
}

bool parse_mac(const std::string& text, std::array<uint8_t, 6>* out) {
  unsigned b[6];
  char tail;
  if (text.size() != 17 || std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1],
                                       &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    return false;
  for (int i = 0; i < 6; ++i) (*out)[i] = static_cast<uint8_t>(b[i]);
  return true;
}

}  // namespace

bool read_secret_file(const std::string& path, MasterSecret* out, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "--secret-file " + printable(path) + ": cannot open";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string why;
  if (!parse_master_secret(text.str(), out, &why)) {
    *error = "--secret-file " + printable(path) + ": " + why;
    return false;
  }
  return true;
}

ParseResult parse_app_options(const std::vector<std::string>& args, AppOptions* out,
                              std::string* error) {
  AppOptions o;
  bool ports_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "--help" || name == "-h") return ParseResult::kHelp;
    static const char* const kWithValue[] = {"--addr",
                                             "--port",
                                             "--workers",
                                             "--secret-file",
                                             "--rotation",
                                             "--duration",
                                             "--stats-interval",
                                             "--summary-json",
                                             "--mac",
                                             "--hvr-rate",
                                             "--hvr-rate-per-prefix",
                                             "--cert",
                                             "--key",
                                             "--ciphers",
                                             "--mtu",
                                             "--max-sessions",
                                             "--max-half-open",
                                             "--max-sessions-per-source",
                                             "--handshake-timeout",
                                             "--slow-threads"};
    bool known = false;
    for (const char* k : kWithValue) known = known || name == k;
    if (!known) {
      *error = "unknown option '" + printable(args[i]) + "' (see --help)";
      return ParseResult::kError;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        *error = name + " needs a value";
        return ParseResult::kError;
      }
      value = args[++i];
    }
    auto bad = [&](const std::string& why) {
      *error = name + " '" + printable(value) + "': " + why;
      return ParseResult::kError;
    };

    if (name == "--addr") {
      std::array<uint8_t, 4> v4;
      std::array<uint8_t, 16> v6;
      if (inet_pton(AF_INET, value.c_str(), v4.data()) == 1) {
        o.ipv4.push_back(v4);
      } else if (inet_pton(AF_INET6, value.c_str(), v6.data()) == 1) {
        o.ipv6.push_back(v6);
      } else {
        return bad("not an IPv4 or IPv6 address");
      }
      o.addr_text.push_back(value);
    } else if (name == "--port") {
      uint16_t port;
      if (!parse_uint<uint16_t>(value, 1, 65535, &port)) return bad("not a UDP port (1-65535)");
      if (!ports_given) o.ports.clear();
      ports_given = true;
      o.ports.push_back(port);
    } else if (name == "--workers") {
      if (!parse_uint<unsigned>(value, 1, 1024, &o.workers)) return bad("not a count (1-1024)");
    } else if (name == "--secret-file") {
      MasterSecret secret;
      if (!read_secret_file(value, &secret, error)) return ParseResult::kError;
      o.secret_file = value;
      o.secret = secret;
    } else if (name == "--rotation") {
      if (!parse_uint<uint64_t>(value, 1, 86400, &o.rotation_seconds))
        return bad("not a number of seconds (1-86400)");
    } else if (name == "--duration") {
      if (!parse_seconds(value, &o.duration_seconds)) return bad("not a number of seconds");
    } else if (name == "--stats-interval") {
      if (!parse_uint<unsigned>(value, 0, 3600, &o.stats_interval))
        return bad("not a number of seconds (0-3600)");
    } else if (name == "--summary-json") {
      if (value.empty()) return bad("empty path");
      o.summary_json = value;
    } else if (name == "--hvr-rate" || name == "--hvr-rate-per-prefix") {
      uint64_t* rate = name == "--hvr-rate" ? &o.hvr_rate : &o.hvr_rate_per_prefix;
      if (!parse_uint<uint64_t>(value, 0, 1'000'000'000, rate))
        return bad("not a rate in HVRs per second (0 = no cap)");
    } else if (name == "--cert" || name == "--key") {
      if (value.empty()) return bad("empty path");
      (name == "--cert" ? o.cert_path : o.key_path) = value;
    } else if (name == "--ciphers") {
      if (value.empty()) return bad("empty cipher string");
      o.ciphers = value;
    } else if (name == "--mtu") {
      if (!parse_uint<uint16_t>(value, 256, kMaxUdpPayload, &o.engine.mtu))
        return bad("not a UDP payload size (256-" + std::to_string(kMaxUdpPayload) + " bytes)");
    } else if (name == "--max-sessions") {
      if (!parse_uint<std::size_t>(value, 1, 10'000'000, &o.engine.max_sessions))
        return bad("not a count (1-10000000)");
    } else if (name == "--max-half-open") {
      if (!parse_uint<std::size_t>(value, 1, 10'000'000, &o.engine.max_half_open))
        return bad("not a count (1-10000000)");
    } else if (name == "--max-sessions-per-source") {
      if (!parse_uint<std::size_t>(value, 0, 10'000'000, &o.engine.max_sessions_per_source))
        return bad("not a count (0 = no cap)");
    } else if (name == "--handshake-timeout") {
      double seconds = 0;
      if (!parse_seconds(value, &seconds) || seconds < 0.1 || seconds > 3600)
        return bad("not a number of seconds (0.1-3600)");
      o.engine.handshake_timeout_us = static_cast<uint64_t>(seconds * 1e6);
    } else if (name == "--slow-threads") {
      if (!parse_uint<unsigned>(value, 1, 16, &o.slow_threads)) return bad("not a count (1-16)");
    } else if (name == "--mac") {
      std::array<uint8_t, 6> mac;
      if (!parse_mac(value, &mac)) return bad("not a MAC address (aa:bb:cc:dd:ee:ff)");
      o.mac = mac;
    }
  }
  if (o.ipv4.empty() && o.ipv6.empty()) {
    *error = "no --addr given: dtlsgate needs at least one address to answer for";
    return ParseResult::kError;
  }
  if (o.ports.empty()) o.ports.push_back(4433);
  // A cookie verifies for up to three epochs (e-1, e, e+1): remember verified hellos that long
  // so a replay from the same 5-tuple never makes a second SSL object.
  o.engine.replay_window_us = (3 * o.rotation_seconds + 5) * 1'000'000;
  if (o.cert_path.empty() != o.key_path.empty()) {
    *error = o.cert_path.empty() ? "--key given without --cert" : "--cert given without --key";
    return ParseResult::kError;
  }
  if (!o.cert_path.empty()) {
    for (const std::string* path : {&o.cert_path, &o.key_path}) {
      if (!std::ifstream(*path)) {
        *error = (path == &o.cert_path ? "--cert " : "--key ") + printable(*path) + ": cannot open";
        return ParseResult::kError;
      }
    }
    ServerTlsOptions tls_options;
    tls_options.cipher_list = o.ciphers;
    std::string why;
    std::unique_ptr<ServerTlsContext> tls =
        ServerTlsContext::from_pem_files(o.cert_path, o.key_path, tls_options, &why);
    if (!tls) {
      *error = "--cert " + printable(o.cert_path) + " --key " + printable(o.key_path) + ": " + why;
      return ParseResult::kError;
    }
    o.tls = std::move(tls);
  }
  *out = std::move(o);
  return ParseResult::kOk;
}

std::string app_usage() {
  return R"(usage: dtlsgate [EAL options] -- [dtlsgate options]

EAL options come first (see the EAL list above, or `dtlsgate --help` before "--"). On a machine
without hugepages or NIC, for example:
  -l 0-1 --no-huge -m 512 --no-pci --no-shconf --vdev net_af_packet0,iface=veth0
Every port EAL gives us is served; one RX/TX queue pair per worker lcore.

dtlsgate options:
  --addr IP              address we answer for (IPv4 or IPv6; repeatable; at least one)
  --port N               UDP port we serve (repeatable; default 4433)
  --workers N            worker lcores / queues per port (default: every worker lcore)
  --secret-file PATH     32-byte cookie master secret, 64 hex digits (default: random, with a
                         warning; nodes sharing a secret accept each other's cookies).
                         SIGHUP re-reads it; the previous key stays valid for one epoch
  --rotation SECONDS     cookie key epoch length (default 30)
  --duration SECONDS     run that long, then stop as on SIGINT (default: until a signal)
  --stats-interval S     print packets per second every S seconds (default 1, 0 = quiet)
  --summary-json PATH    write the final counters as one JSON object at exit
  --mac MAC              MAC address to answer ARP/ND with (default: each port's own)
  --hvr-rate N           reflection guard: at most N HVRs per second per worker (default 0:
                         no cap); over the cap a ClientHello counts as drop_rate_limited
  --hvr-rate-per-prefix N  at most N HVRs per second per worker to one source /24 (IPv4) or
                         /56 (IPv6), after a burst of 500 (default 1000; 0: no cap)
  --cert PATH            server certificate chain (PEM, leaf first); with --key. Without both,
                         a throw-away self-signed certificate is made at start (a warning)
  --key PATH             private key of --cert (PEM)
  --ciphers STRING       OpenSSL cipher string (default DEFAULT; DTLS 1.0 clients need
                         'DEFAULT:@SECLEVEL=0' under OpenSSL 3)
  --slow-threads N       slow-path (OpenSSL) threads; sessions are sharded over them by 5-tuple
                         hash, each has its own ring and its own TX queue per port (default 1).
                         They run on the EAL lcores left after the workers, else as threads
  --mtu N                UDP payload bytes per datagram the slow path sends (default 1400,
                         256-1452)
  --max-sessions N       sessions per slow-path thread (default 4096)
  --max-half-open N      handshakes in progress per slow-path thread (default 1024)
  --max-sessions-per-source N  sessions one client address may hold per slow-path thread
                         (default 64, 0 = no cap)
  --handshake-timeout S  a handshake not done in S seconds is dropped (default 10)
  --help                 this text
Exit codes: 0 after a clean stop (SIGINT, SIGTERM, --duration), 2 on a bad option, 1 on an
EAL or port failure.
)";
}

}  // namespace dtlsgate::app
