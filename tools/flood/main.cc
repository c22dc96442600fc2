// dtlsgate-flood: a DPDK traffic generator for DTLS cookie filters.
//
//   dtlsgate-flood [EAL options] -- --dst-ip 192.0.2.1 --mix attack --duration 5 [...]
//
// One lcore sends and receives on one port (whatever EAL gives: net_memif, net_af_packet,
// net_ring...). Frames come from per-(kind, family) mbuf pools whose buffers were written with
// the frame template once at start; a packet is an mbuf taken from its kind's pool with only
// the source address, port, cookie and checksums patched (FrameCrafter::patch). Replies are
// counted and classified (HVR by cookie length, anything else). Always bounded by --packets
// and/or --duration.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/printable.h"
#include "flood/client_hello_source.h"
#include "flood/frame_crafter.h"
#include "flood/mix.h"
#include "flood/source_range.h"

namespace dtlsgate::flood {
namespace {

constexpr uint16_t kMaxBurst = 64;
constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;
constexpr unsigned kPoolCache = 256;
static_assert(kPoolCache >= kMaxBurst, "the mempool cache must hold a whole burst");
// Each template pool covers the TX ring, one burst in hand and the cache: a pool runs dry only
// if the PMD holds more than its ring.
constexpr unsigned kTemplatePoolSize = kTxDescriptors + kMaxBurst + 2 * kPoolCache + 1023;
constexpr unsigned kRxPoolSize = 8191;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

struct Options {
  TargetSpec target;
  bool src_mac_given = false;
  std::vector<SourceRange> sources;
  std::string src_ports = "1024-65535";
  Mix mix;
  std::string mix_text = "hvr-only";
  std::string pcap;
  std::string secret_file;
  uint64_t rotation = 30;
  double rate = 0;
  uint64_t packets = 0;
  double duration = 0;
  unsigned burst = 32;
  uint16_t port_id = 0;
  double link_timeout = 10;
  double drain = 0.2;
  double warmup = 0;
  double linger = 0;
  uint64_t seed = 1;
  bool quiet = false;
};

const char* kUsage = R"(usage: dtlsgate-flood [EAL options] -- [options]
Sends crafted DTLS ClientHellos (and worse) to a DTLS cookie filter on DPDK port 0 and counts
what comes back. Bounded: give --packets and/or --duration.

  --dst-ip ADDR        the target's address; once per family (IPv4 and/or IPv6)   [required]
  --dst-port PORT      the target's DTLS port (4433)
  --dst-mac MAC        the target's MAC (02:00:00:00:00:01)
  --src-mac MAC        our source MAC (the port's own MAC)
  --src PREFIX         spoofed sources, e.g. 10.0.0.0/8 or 2001:db8::/32; repeat to mix
                       families (default: 10.0.0.0/8 and/or 2001:db8::/32, per --dst-ip)
  --src-port RANGE     spoofed source ports, FIRST-LAST or one port (1024-65535)
  --mix SPEC           kinds by weight, e.g. hvr=70,verify=10,stale=5,forged=5,replay=5,
                       garbage=3,nondtls=1,nonudp=1; or a preset: hvr-only, verify-only,
                       drop-only, attack (hvr-only)
  --pcap FILE          take the ClientHello template from the first cookie-less ClientHello in
                       FILE (pcap, not pcapng; Ethernet, Linux cooked as from tcpdump -i any,
                       or raw IP) instead of OpenSSL's own
  --secret-file FILE   the target's master secret (64 hex digits): needed by verify, stale and
                       replay, which mint cookies the way the target does
  --rotation SECONDS   the target's key rotation (30)
  --rate PPS           offered packets per second; 0 = as fast as possible (0)
  --packets N          stop after N packets accepted by the port
  --duration SECONDS   stop after this long
  --burst N            packets per tx burst, 1-64 (32)
  --port-id N          DPDK port to use (0)
  --link-timeout S     wait this long for the link to come up (10)
  --drain SECONDS      keep counting replies this long after the last send (0.2)
  --warmup SECONDS     send this long first and count nothing of it (the target's start-up
                       and ring fill stay out of the figures); not part of --duration (0)
  --linger SECONDS     after the summary, keep the port open (idle, replies freed) this long or
                       until SIGINT/SIGTERM: lets a memif peer stop first, since a DPDK 22.11
                       memif server can crash when its client disconnects under load (0)
  --seed N             random seed for sources, garbage and forged tags (1)
  --quiet              no per-second lines, only the final summary
  --help               this text

Kinds:
)";

bool fail(std::string* error, std::string text) {
  *error = std::move(text);
  return false;
}

template <typename T>
bool parse_number(const std::string& text, T* out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

bool parse_seconds(const std::string& name, const std::string& text, double* out,
                   std::string* error) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= 0) || v > 1e6) {
    return fail(error, name + ": expected seconds >= 0, got '" + printable(text) + "'");
  }
  *out = v;
  return true;
}

bool parse_mac(const std::string& name, const std::string& text, std::array<uint8_t, 6>* out,
               std::string* error) {
  rte_ether_addr addr;
  if (rte_ether_unformat_addr(text.c_str(), &addr) != 0) {
    return fail(error, name + ": '" + printable(text) + "' is not a MAC address");
  }
  std::copy(std::begin(addr.addr_bytes), std::end(addr.addr_bytes), out->begin());
  return true;
}

enum class Parse { kOk, kHelp, kError };

Parse parse_options(const std::vector<std::string>& args, Options* o, std::string* error) {
  std::vector<std::string> src_prefixes;
  std::vector<std::string> dst_ips;
  uint16_t dst_port = 4433;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& name = args[i];
    if (name == "--help" || name == "-h") return Parse::kHelp;
    if (name == "--quiet") {
      o->quiet = true;
      continue;
    }
    static const char* const kWithValue[] = {
        "--dst-ip",       "--dst-port", "--dst-mac",  "--src-mac",     "--src",
        "--src-port",     "--mix",      "--pcap",     "--secret-file", "--rotation",
        "--rate",         "--packets",  "--duration", "--burst",       "--port-id",
        "--link-timeout", "--drain",    "--seed",     "--warmup",      "--linger"};
    if (std::find(std::begin(kWithValue), std::end(kWithValue), name) == std::end(kWithValue)) {
      fail(error, "unknown option '" + printable(name) + "' (see --help)");
      return Parse::kError;
    }
    if (i + 1 >= args.size()) {
      fail(error, name + " needs a value");
      return Parse::kError;
    }
    const std::string& value = args[++i];
    bool ok = true;
    if (name == "--dst-ip") {
      dst_ips.push_back(value);
    } else if (name == "--dst-port") {
      ok = parse_number(value, &dst_port) && dst_port != 0;
      if (!ok) fail(error, "--dst-port: expected 1-65535, got '" + printable(value) + "'");
    } else if (name == "--dst-mac") {
      ok = parse_mac(name, value, &o->target.dst_mac, error);
    } else if (name == "--src-mac") {
      ok = parse_mac(name, value, &o->target.src_mac, error);
      o->src_mac_given = true;
    } else if (name == "--src") {
      src_prefixes.push_back(value);
    } else if (name == "--src-port") {
      o->src_ports = value;
    } else if (name == "--mix") {
      o->mix_text = value;
    } else if (name == "--pcap") {
      o->pcap = value;
    } else if (name == "--secret-file") {
      o->secret_file = value;
    } else if (name == "--rotation") {
      ok = parse_number(value, &o->rotation) && o->rotation != 0;
      if (!ok) fail(error, "--rotation: expected seconds >= 1, got '" + printable(value) + "'");
    } else if (name == "--rate") {
      ok = parse_seconds(name, value, &o->rate, error);
      if (!ok)
        fail(error, "--rate: expected packets per second >= 0, got '" + printable(value) + "'");
    } else if (name == "--packets") {
      ok = parse_number(value, &o->packets);
      if (!ok) fail(error, "--packets: expected a count, got '" + printable(value) + "'");
    } else if (name == "--duration") {
      ok = parse_seconds(name, value, &o->duration, error);
    } else if (name == "--burst") {
      ok = parse_number(value, &o->burst) && o->burst >= 1 && o->burst <= kMaxBurst;
      if (!ok) fail(error, "--burst: expected 1-64, got '" + printable(value) + "'");
    } else if (name == "--port-id") {
      ok = parse_number(value, &o->port_id);
      if (!ok) fail(error, "--port-id: expected a port number, got '" + printable(value) + "'");
    } else if (name == "--link-timeout") {
      ok = parse_seconds(name, value, &o->link_timeout, error);
    } else if (name == "--linger") {
      ok = parse_seconds(name, value, &o->linger, error);
    } else if (name == "--warmup") {
      ok = parse_seconds(name, value, &o->warmup, error);
    } else if (name == "--drain") {
      ok = parse_seconds(name, value, &o->drain, error);
    } else if (name == "--seed") {
      ok = parse_number(value, &o->seed);
      if (!ok) fail(error, "--seed: expected a number, got '" + printable(value) + "'");
    }
    if (!ok) return Parse::kError;
  }

  if (dst_ips.empty()) {
    fail(error, "--dst-ip is required (the target's address)");
    return Parse::kError;
  }
  for (const std::string& text : dst_ips) {
    Endpoint e;
    e.port = dst_port;
    if (!parse_address(text, &e, error)) {
      *error = "--dst-ip: " + *error;
      return Parse::kError;
    }
    auto& slot = e.family == AddressFamily::kIpv4 ? o->target.ipv4 : o->target.ipv6;
    if (slot) {
      fail(error,
           "--dst-ip: one address per family (got two of '" + printable(text) + "''s family)");
      return Parse::kError;
    }
    slot = e;
  }
  if (src_prefixes.empty()) {
    if (o->target.ipv4) src_prefixes.push_back("10.0.0.0/8");
    if (o->target.ipv6) src_prefixes.push_back("2001:db8::/32");
  }
  for (const std::string& text : src_prefixes) {
    SourceRange range;
    if (!parse_prefix(text, &range, error) || !parse_port_range(o->src_ports, &range, error)) {
      return Parse::kError;
    }
    const bool have = range.family == AddressFamily::kIpv4 ? o->target.ipv4.has_value()
                                                           : o->target.ipv6.has_value();
    if (!have) {
      fail(error, "--src " + printable(text) + ": no --dst-ip of that address family");
      return Parse::kError;
    }
    o->sources.push_back(range);
  }
  if (!parse_mix(o->mix_text, &o->mix, error)) return Parse::kError;
  if (o->packets == 0 && o->duration == 0) {
    fail(error, "refusing to run unbounded: give --packets N and/or --duration SECONDS");
    return Parse::kError;
  }
  for (std::size_t k = 0; k < kKindCount; ++k) {
    const auto kind = static_cast<Kind>(k);
    if (o->mix.weight[k] != 0 && needs_secret(kind) && o->secret_file.empty()) {
      fail(error, "--mix " + std::string(kind_name(kind)) +
                      " mints cookies: give the target's --secret-file");
      return Parse::kError;
    }
  }
  return Parse::kOk;
}

std::optional<TargetSecret> read_secret(const Options& o, std::string* error) {
  if (o.secret_file.empty()) return std::nullopt;
  std::ifstream file(o.secret_file);
  if (!file) {
    *error = "--secret-file " + printable(o.secret_file) + ": cannot open";
    return std::nullopt;
  }
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  TargetSecret secret;
  secret.rotation_seconds = o.rotation;
  if (!parse_master_secret(text, &secret.master, error)) {
    *error = "--secret-file " + printable(o.secret_file) + ": " + *error;
    return std::nullopt;
  }
  return secret;
}

uint64_t unix_now() {
  return static_cast<uint64_t>(std::time(nullptr));
}

struct Counters {
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_full = 0;     // bursts the TX ring did not take whole: the target is slower
  uint64_t alloc_fail = 0;  // a template pool ran dry
  std::array<uint64_t, kKindCount> tx_kind{};
  uint64_t rx_packets = 0;
  uint64_t rx_hvr = 0;
  uint64_t rx_other = 0;
  std::array<uint64_t, kMaxCookieLen + 1> rx_hvr_cookie_len{};
  uint64_t rx_hvr_odd_cookie = 0;  // HVR with a cookie longer than DTLS allows
};

struct TemplatePool {
  rte_mempool* pool = nullptr;
  const FrameTemplate* frame = nullptr;
};

void write_template(rte_mempool*, void* opaque, void* object, unsigned) {
  const auto* t = static_cast<const FrameTemplate*>(opaque);
  auto* m = static_cast<rte_mbuf*>(object);
  std::memcpy(static_cast<uint8_t*>(m->buf_addr) + RTE_PKTMBUF_HEADROOM, t->bytes.data(),
              t->bytes.size());
}

bool setup_port(uint16_t port, rte_mempool* rx_pool, std::string* error) {
  rte_eth_conf conf{};
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0) return fail(error, "cannot read port info");
  if (rte_eth_dev_configure(port, 1, 1, &conf) != 0) return fail(error, "port configure failed");
  uint16_t rxd = kRxDescriptors;
  uint16_t txd = kTxDescriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
  const int socket = rte_eth_dev_socket_id(port);
  const unsigned s = socket < 0 ? 0u : static_cast<unsigned>(socket);
  if (rte_eth_rx_queue_setup(port, 0, rxd, s, nullptr, rx_pool) != 0) {
    return fail(error, "rx queue setup failed");
  }
  if (rte_eth_tx_queue_setup(port, 0, txd, s, nullptr) != 0) {
    return fail(error, "tx queue setup failed");
  }
  if (rte_eth_dev_start(port) != 0) return fail(error, "port start failed");
  return true;
}

bool wait_for_link(uint16_t port, double seconds) {
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t deadline = rte_rdtsc() + static_cast<uint64_t>(seconds * static_cast<double>(hz));
  while (!g_stop) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) {
      return true;
    }
    if (rte_rdtsc() > deadline) return false;
    rte_delay_us_sleep(10000);
  }
  return false;
}

void count_replies(rte_mbuf** rx, uint16_t n, rte_mempool* rx_pool,
                   const std::vector<TemplatePool>& pools, Counters& c) {
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = rx[i];
    const ReplyInfo reply =
        inspect_reply(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m));
    ++c.rx_packets;
    if (reply.hvr) {
      ++c.rx_hvr;
      if (reply.cookie_len <= kMaxCookieLen) {
        ++c.rx_hvr_cookie_len[reply.cookie_len];
      } else {
        ++c.rx_hvr_odd_cookie;
      }
    } else {
      ++c.rx_other;
    }
    // In-process ports (net_ring) hand our own mbuf back after the target rewrote it: put the
    // template back before it returns to its pool, or a later packet would carry the reply.
    if (m->pool != rx_pool) {
      for (const TemplatePool& p : pools) {
        if (p.pool == m->pool) {
          std::memcpy(static_cast<uint8_t*>(m->buf_addr) + RTE_PKTMBUF_HEADROOM,
                      p.frame->bytes.data(), p.frame->bytes.size());
        }
      }
    }
  }
  rte_pktmbuf_free_bulk(rx, n);
}

void print_summary(const Counters& c, double tx_seconds, double total_seconds) {
  std::printf("tx_packets=%lu\ntx_bytes=%lu\ntx_full=%lu\ntx_alloc_fail=%lu\n", c.tx_packets,
              c.tx_bytes, c.tx_full, c.alloc_fail);
  for (std::size_t k = 0; k < kKindCount; ++k) {
    std::printf("tx_%s=%lu\n", std::string(kind_name(static_cast<Kind>(k))).c_str(), c.tx_kind[k]);
  }
  std::printf("tx_seconds=%.3f\ntx_mpps=%.3f\n", tx_seconds,
              tx_seconds > 0 ? static_cast<double>(c.tx_packets) / tx_seconds / 1e6 : 0.0);
  std::printf("rx_packets=%lu\nrx_hvr=%lu\nrx_other=%lu\n", c.rx_packets, c.rx_hvr, c.rx_other);
  for (std::size_t len = 0; len < c.rx_hvr_cookie_len.size(); ++len) {
    if (c.rx_hvr_cookie_len[len] != 0) {
      std::printf("rx_hvr_cookie_len_%zu=%lu\n", len, c.rx_hvr_cookie_len[len]);
    }
  }
  if (c.rx_hvr_odd_cookie != 0) std::printf("rx_hvr_cookie_len_over_32=%lu\n", c.rx_hvr_odd_cookie);
  std::printf("rx_mpps=%.3f\nseconds=%.3f\n",
              tx_seconds > 0 ? static_cast<double>(c.rx_packets) / tx_seconds / 1e6 : 0.0,
              total_seconds);
  std::fflush(stdout);
}

int run(const Options& o, const std::vector<uint8_t>& hello,
        const std::optional<TargetSecret>& secret) {
  if (rte_eth_dev_count_avail() == 0 || !rte_eth_dev_is_valid_port(o.port_id)) {
    std::fprintf(stderr,
                 "dtlsgate-flood: no DPDK port %u (give one with --vdev, e.g. "
                 "net_memif0,role=client,socket=/tmp/x.sock)\n",
                 o.port_id);
    return 1;
  }
  const uint16_t port = o.port_id;
  TargetSpec target = o.target;
  if (!o.src_mac_given) {
    rte_ether_addr own;
    if (rte_eth_macaddr_get(port, &own) == 0) {
      std::copy(std::begin(own.addr_bytes), std::end(own.addr_bytes), target.src_mac.begin());
    }
  }
  FrameCrafter crafter(hello, target, secret, unix_now(), o.seed);
  const std::vector<Kind> schedule = build_schedule(o.mix);

  const int socket = static_cast<int>(rte_socket_id());
  rte_mempool* rx_pool = rte_pktmbuf_pool_create("flood_rx", kRxPoolSize, kPoolCache, 0,
                                                 RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (rx_pool == nullptr) {
    std::fprintf(stderr, "dtlsgate-flood: cannot create the rx pool (%u mbufs): %s\n", kRxPoolSize,
                 rte_strerror(rte_errno));
    return 1;
  }
  // pool_of[family][kind]: only the kinds in the mix and the families in --src get a pool.
  std::array<std::array<rte_mempool*, kKindCount>, 2> pool_of{};
  std::vector<TemplatePool> pools;
  for (const SourceRange& range : o.sources) {
    const std::size_t fam = range.family == AddressFamily::kIpv4 ? 0 : 1;
    for (std::size_t k = 0; k < kKindCount; ++k) {
      if (o.mix.weight[k] == 0 || pool_of[fam][k] != nullptr) continue;
      const FrameTemplate& t = crafter.frame_template(static_cast<Kind>(k), range.family);
      const std::string name = "flood_" + std::to_string(fam) + "_" + std::to_string(k);
      rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), kTemplatePoolSize, kPoolCache, 0,
                                                  RTE_MBUF_DEFAULT_BUF_SIZE, socket);
      if (pool == nullptr) {
        std::fprintf(stderr, "dtlsgate-flood: cannot create template pool %s (%u mbufs): %s\n",
                     name.c_str(), kTemplatePoolSize, rte_strerror(rte_errno));
        return 1;
      }
      rte_mempool_obj_iter(pool, write_template, const_cast<FrameTemplate*>(&t));
      pool_of[fam][k] = pool;
      pools.push_back({pool, &t});
    }
  }
  std::fprintf(stderr,
               "dtlsgate-flood: ClientHello template %zu bytes (frame %zu), %zu template pools "
               "of %u mbufs, rx pool %u, schedule of %zu\n",
               hello.size(), crafter.frame_template(Kind::kHvr, o.sources[0].family).bytes.size(),
               pools.size(), kTemplatePoolSize, kRxPoolSize, schedule.size());

  std::string error;
  if (!setup_port(port, rx_pool, &error)) {
    std::fprintf(stderr, "dtlsgate-flood: port %u: %s\n", port, error.c_str());
    return 1;
  }
  if (!wait_for_link(port, o.link_timeout)) {
    std::fprintf(stderr,
                 "dtlsgate-flood: port %u link not up after %.1f s (is the peer "
                 "running?)\n",
                 port, o.link_timeout);
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    return 1;
  }

  const uint64_t hz = rte_get_tsc_hz();
  const auto seconds_since = [hz](uint64_t from, uint64_t to) {
    return static_cast<double>(to - from) / static_cast<double>(hz);
  };
  FastRandom random(o.seed * 0x9e3779b97f4a7c15ull + 1);
  Counters c;
  Counters last;
  uint64_t start = rte_rdtsc();
  uint64_t end_tsc = o.duration > 0
                         ? start + static_cast<uint64_t>(o.duration * static_cast<double>(hz))
                         : UINT64_MAX;
  uint64_t warmup_end =
      o.warmup > 0 ? start + static_cast<uint64_t>(o.warmup * static_cast<double>(hz)) : 0;
  uint64_t next_report = start + hz;
  uint64_t last_report = start;
  uint64_t tx_end = 0;
  std::size_t seq = 0;
  std::size_t source_turn = 0;
  rte_mbuf* tx[kMaxBurst];
  rte_mbuf* rx[kMaxBurst];
  Kind kinds[kMaxBurst];
  uint16_t pending = 0;  // built, refused by a full TX ring, sent first next time

  while (!g_stop) {
    const uint64_t now = rte_rdtsc();
    if (warmup_end != 0 && now >= warmup_end) {
      // Counting starts now: the bounds and the rate apply from here.
      warmup_end = 0;
      if (end_tsc != UINT64_MAX) end_tsc += now - start;
      start = now;
      last_report = now;
      next_report = now + hz;
      c = Counters{};
      last = c;
    }
    if (tx_end == 0) {
      if (warmup_end == 0 && (now >= end_tsc || (o.packets != 0 && c.tx_packets >= o.packets))) {
        tx_end = now;
      } else {
        uint64_t n = o.burst;
        if (o.packets != 0) n = std::min<uint64_t>(n, o.packets - c.tx_packets);
        if (o.rate > 0) {
          const auto due = static_cast<uint64_t>(seconds_since(start, now) * o.rate);
          n = std::min<uint64_t>(n, due > c.tx_packets ? due - c.tx_packets : 0);
        }
        // Frames the port refused last time go first: building them again would waste the
        // generator's time exactly when the target is the bottleneck.
        uint16_t built = pending;
        if (pending == 0) {
          PatchJob jobs[kMaxBurst];
          for (; built < n; ++built) {
            const SourceRange& range = o.sources[source_turn];
            source_turn = source_turn + 1 == o.sources.size() ? 0 : source_turn + 1;
            const Kind kind = schedule[seq];
            const std::size_t fam = range.family == AddressFamily::kIpv4 ? 0 : 1;
            rte_mbuf* m = rte_pktmbuf_alloc(pool_of[fam][static_cast<std::size_t>(kind)]);
            if (m == nullptr) {
              ++c.alloc_fail;
              break;
            }
            seq = seq + 1 == schedule.size() ? 0 : seq + 1;
            const FrameTemplate& t = crafter.frame_template(kind, range.family);
            const auto len = static_cast<uint16_t>(t.bytes.size());
            m->data_len = len;
            m->pkt_len = len;
            jobs[built] = PatchJob{&t, rte_pktmbuf_mtod(m, uint8_t*), range.draw(random)};
            tx[built] = m;
            kinds[built] = kind;
          }
          // Cookies minted for the whole burst at once (interleaved MACs): ~4x cheaper per
          // frame than one at a time, so the cookie kinds are not the generator's limit.
          crafter.patch_burst(jobs, built, random);
        }
        const uint16_t sent = built == 0 ? 0 : rte_eth_tx_burst(port, 0, tx, built);
        for (uint16_t i = 0; i < sent; ++i) {
          ++c.tx_kind[static_cast<std::size_t>(kinds[i])];
          c.tx_bytes += tx[i]->pkt_len;
        }
        c.tx_packets += sent;
        pending = static_cast<uint16_t>(built - sent);
        if (pending != 0) {
          ++c.tx_full;
          std::memmove(tx, tx + sent, pending * sizeof tx[0]);
          std::memmove(kinds, kinds + sent, pending * sizeof kinds[0]);
        }
      }
    } else if (seconds_since(tx_end, now) >= o.drain) {
      break;
    }

    const uint16_t got = rte_eth_rx_burst(port, 0, rx, kMaxBurst);
    if (got != 0) count_replies(rx, got, rx_pool, pools, c);

    if (now >= next_report) {
      crafter.set_time(unix_now());
      if (!o.quiet) {
        const double dt = seconds_since(last_report, now);
        std::printf(
            "flood: t=%.1f tx_mpps=%.3f tx_full_per_s=%.0f rx_mpps=%.3f rx_hvr_mpps=%.3f "
            "rx_other=%lu alloc_fail=%lu\n",
            seconds_since(start, now),
            static_cast<double>(c.tx_packets - last.tx_packets) / dt / 1e6,
            static_cast<double>(c.tx_full - last.tx_full) / dt,
            static_cast<double>(c.rx_packets - last.rx_packets) / dt / 1e6,
            static_cast<double>(c.rx_hvr - last.rx_hvr) / dt / 1e6, c.rx_other - last.rx_other,
            c.alloc_fail - last.alloc_fail);
        std::fflush(stdout);
      }
      last = c;
      last_report = now;
      next_report = now + hz;
    }
  }
  if (pending != 0) rte_pktmbuf_free_bulk(tx, pending);
  const uint64_t finished = rte_rdtsc();
  if (tx_end == 0) tx_end = finished;
  print_summary(c, seconds_since(start, tx_end), seconds_since(start, finished));
  const uint64_t linger_end = finished + static_cast<uint64_t>(o.linger * static_cast<double>(hz));
  while (!g_stop && rte_rdtsc() < linger_end) {
    const uint16_t got = rte_eth_rx_burst(port, 0, rx, kMaxBurst);
    if (got != 0) {
      rte_pktmbuf_free_bulk(rx, got);
    } else {
      rte_delay_us_sleep(1000);
    }
  }
  rte_eth_dev_stop(port);
  rte_eth_dev_close(port);
  return 0;
}

void print_usage() {
  std::fputs(kUsage, stdout);
#define DTLSGATE_X(e, name, help) std::printf("  %-9s %s\n", #name, help);
  DTLSGATE_FLOOD_KINDS(DTLSGATE_X)
#undef DTLSGATE_X
  std::printf("\nPresets:\n");
  for (const char* p : {"hvr-only", "verify-only", "drop-only", "attack"}) {
    std::printf("  %-12s %s\n", p, mix_preset(p).c_str());
  }
  std::printf(
      "\nExample (two processes over memif, the target is the server):\n"
      "  dtlsgate-flood -l 0 --no-huge -m 512 --no-pci --file-prefix flood \\\n"
      "    --vdev net_memif0,role=client,socket=/tmp/dtlsgate.sock -- \\\n"
      "    --dst-ip 192.0.2.1 --mix attack --secret-file secret.hex --duration 5\n"
      "Output: a 'flood:' line per second, then key=value lines (tx_packets=, tx_mpps=, "
      "rx_packets=, rx_hvr=, rx_hvr_cookie_len_N=, ...).\n");
}

}  // namespace
}  // namespace dtlsgate::flood

int main(int argc, char** argv) {
  using namespace dtlsgate::flood;
  // Our options are parsed before EAL starts: a typo costs one line, not an EAL boot.
  int split = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      split = i;
      break;
    }
  }
  std::vector<std::string> ours(argv + std::min(split + 1, argc), argv + argc);
  if (split == argc) {
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
        print_usage();
        return 0;
      }
    }
  }
  Options options;
  std::string error;
  switch (parse_options(ours, &options, &error)) {
    case Parse::kHelp:
      print_usage();
      return 0;
    case Parse::kError:
      std::fprintf(stderr, "dtlsgate-flood: %s\n", error.c_str());
      return 2;
    case Parse::kOk:
      break;
  }
  const std::optional<TargetSecret> secret = read_secret(options, &error);
  if (!options.secret_file.empty() && !secret) {
    std::fprintf(stderr, "dtlsgate-flood: %s\n", error.c_str());
    return 2;
  }
  const std::vector<uint8_t> hello = options.pcap.empty()
                                         ? openssl_client_hello(&error)
                                         : client_hello_from_pcap(options.pcap, &error);
  if (hello.empty()) {
    std::fprintf(stderr, "dtlsgate-flood: %s\n", error.c_str());
    return options.pcap.empty() ? 1 : 2;
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const int eal_args = rte_eal_init(split, argv);
  if (eal_args < 0) {
    std::fprintf(stderr, "dtlsgate-flood: EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  const int rc = run(options, hello, secret);
  rte_eal_cleanup();
  return rc;
}
