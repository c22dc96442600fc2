// dtlsgate: `dtlsgate [EAL options] -- [dtlsgate options]`. The main lcore is the control
// plane (key rotation, stats, telemetry, signals); worker lcores run worker.cc's loop.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/hvr_rate_limiter.h"
#include "options.h"
#include "pass_sink.h"
#include "port.h"
#include "stats.h"
#include "telemetry.h"
#include "worker.h"

namespace dtlsgate::app {
namespace {

constexpr unsigned kSlowPathShards = 1;  // the slow-path issue decides how many
constexpr unsigned kPassRingSize = 4096;
constexpr std::size_t kFlowTableCapacity = 1 << 16;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
static_assert(std::atomic<bool>::is_always_lock_free, "signal handlers store into it");

void on_signal(int sig) {
  if (sig == SIGHUP)
    g_reload.store(true);
  else
    g_stop.store(true);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

void print_app_usage(const char*) {
  std::fputs(app_usage().c_str(), stdout);
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "dtlsgate: %s\n", message.c_str());
  return 2;
}

int runtime_error(const std::string& message) {
  std::fprintf(stderr, "dtlsgate: %s\n", message.c_str());
  return 1;
}

bool write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!(out << text)) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

void reload_secret(const AppOptions& opts, CookieKeyring& keyring) {
  if (opts.secret_file.empty()) {
    std::printf("dtlsgate: SIGHUP: no --secret-file to re-read; keeping the random secret\n");
    return;
  }
  MasterSecret secret;
  std::string error;
  if (!read_secret_file(opts.secret_file, &secret, &error)) {
    std::fprintf(stderr, "dtlsgate: SIGHUP: %s; keeping the current secret\n", error.c_str());
    return;
  }
  keyring.replace_master(secret, static_cast<uint64_t>(std::time(nullptr)));
  std::printf(
      "dtlsgate: SIGHUP: re-read %s; cookies of the previous key stay valid for one "
      "epoch\n",
      opts.secret_file.c_str());
}

int run(const AppOptions& opts) {
  install_signal_handlers();

  std::vector<uint16_t> ports;
  uint16_t port_id;
  RTE_ETH_FOREACH_DEV(port_id) {
    ports.push_back(port_id);
  }
  if (ports.empty())
    return usage_error(
        "EAL gave us no port: add a NIC (-a <PCI>) or a virtual one "
        "(--vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap, "
        "--vdev net_af_packet0,iface=<if>)");

  std::vector<unsigned> worker_lcores;
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    worker_lcores.push_back(lcore);
  }
  // With a single lcore the main lcore polls too, between control tasks.
  const bool inline_worker = worker_lcores.empty();
  const unsigned lcores_for_workers =
      inline_worker ? 1 : static_cast<unsigned>(worker_lcores.size());

  unsigned max_queues = 65535;
  for (uint16_t p : ports) max_queues = std::min<unsigned>(max_queues, port_max_queues(p));
  unsigned workers = opts.workers;
  if (workers != 0) {
    if (workers > lcores_for_workers)
      return usage_error("--workers " + std::to_string(workers) + ": EAL gave only " +
                         std::to_string(lcores_for_workers) +
                         " worker lcore(s); give more with -l/--lcores");
    if (workers > max_queues)
      return usage_error("--workers " + std::to_string(workers) + ": a port offers only " +
                         std::to_string(max_queues) + " queue pair(s)");
  } else {
    workers = std::min(lcores_for_workers, max_queues);
    if (workers < lcores_for_workers)
      std::printf(
          "dtlsgate: a port offers only %u queue pair(s): %u worker(s), %u lcore(s) "
          "idle\n",
          max_queues, workers, lcores_for_workers - workers);
  }

  int socket = rte_eth_dev_socket_id(ports[0]);
  if (socket < 0) socket = static_cast<int>(rte_socket_id());
  std::string error;
  PoolSizing sizing{static_cast<unsigned>(ports.size()), workers, rte_lcore_count(),
                    kSlowPathShards * kPassRingSize};
  rte_mempool* pool = create_mbuf_pool("dtlsgate_mbufs", socket, sizing, &error);
  if (pool == nullptr) return runtime_error(error);

  std::vector<rte_ring*> pass_rings;
  for (unsigned s = 0; s < kSlowPathShards; ++s) {
    const std::string name = "dtlsgate_pass" + std::to_string(s);
    rte_ring* ring = rte_ring_create(name.c_str(), kPassRingSize, socket, RING_F_SC_DEQ);
    if (ring == nullptr)
      return runtime_error("cannot create ring " + name + ": " + rte_strerror(rte_errno));
    pass_rings.push_back(ring);
  }

  // One HVR rate limiter per worker (its state is the worker's own), so one classifier per
  // queue: classifier_of[port index][worker].
  std::vector<std::unique_ptr<HvrRateLimiter>> limiters(workers);
  if (opts.hvr_rate != 0 || opts.hvr_rate_per_prefix != 0) {
    HvrRateLimit limit;
    limit.global_per_second = opts.hvr_rate;
    limit.per_prefix_per_second = opts.hvr_rate_per_prefix;
    for (auto& l : limiters) l = std::make_unique<HvrRateLimiter>(limit);
    std::printf(
        "dtlsgate: HVR caps per worker: %llu/s in all, %llu/s per source prefix (0 = none)\n",
        static_cast<unsigned long long>(opts.hvr_rate),
        static_cast<unsigned long long>(opts.hvr_rate_per_prefix));
  }
  FlowTable flows(kFlowTableCapacity);
  std::vector<std::vector<std::unique_ptr<Classifier>>> classifier_of(ports.size());
  for (std::size_t pi = 0; pi < ports.size(); ++pi) {
    PortInfo info;
    if (!setup_port(ports[pi], static_cast<uint16_t>(workers), pool, &info, &error))
      return runtime_error(error);
    ClassifierConfig config;
    config.ipv4 = opts.ipv4;
    config.ipv6 = opts.ipv6;
    config.ports = opts.ports;
    config.mac = opts.mac.value_or(info.mac);
    for (unsigned w = 0; w < workers; ++w) {
      classifier_of[pi].push_back(std::make_unique<Classifier>(config, &flows));
      classifier_of[pi].back()->set_rate_limiter(limiters[w].get());
    }
  }

  MasterSecret secret;
  if (opts.secret) {
    secret = *opts.secret;
  } else {
    secret = random_master_secret();
    std::printf(
        "dtlsgate: warning: no --secret-file: using a random master secret; cookies "
        "minted by other nodes or before a restart will not verify\n");
  }
  CookieKeyring keyring(secret, opts.rotation_seconds, static_cast<uint64_t>(std::time(nullptr)));

  std::vector<QueueLabel> labels;
  for (uint16_t p : ports)
    for (unsigned w = 0; w < workers; ++w) labels.push_back({p, static_cast<uint16_t>(w)});
  Stats stats(labels, ports);

  std::vector<WorkerContext> contexts(workers);
  for (unsigned w = 0; w < workers; ++w) {
    for (std::size_t pi = 0; pi < ports.size(); ++pi)
      contexts[w].queues.push_back(
          WorkerQueue{ports[pi], static_cast<uint16_t>(w), classifier_of[pi][w].get(),
                      stats.counters(pi * workers + w), limiters[w].get()});
    contexts[w].keyring = &keyring;
    contexts[w].pass_rings = pass_rings;
    contexts[w].stop = &g_stop;
    contexts[w].ns_per_tsc = 1e9 / static_cast<double>(rte_get_tsc_hz());
  }

  ConfigView config_view{opts.addr_text,
                         opts.ports,
                         workers,
                         opts.stats_interval,
                         opts.secret_file.empty() ? "random" : opts.secret_file,
                         &keyring};
  register_telemetry(&stats, &config_view);

  PassSink sink(pass_rings);
  stats.set_slow_path_counter(&sink.received());
  sink.start();

  std::string addresses;
  for (const std::string& a : opts.addr_text) addresses.append(" ").append(a);
  std::string udp_ports;
  for (uint16_t p : opts.ports) udp_ports.append(" ").append(std::to_string(p));
  std::printf(
      "dtlsgate: answering for%s on UDP%s; %u worker(s)%s; cookie key epoch %llu "
      "(rotation %llus)\n",
      addresses.c_str(), udp_ports.c_str(), workers, inline_worker ? " on the main lcore" : "",
      static_cast<unsigned long long>(keyring.epoch()),
      static_cast<unsigned long long>(opts.rotation_seconds));
  std::fflush(stdout);

  if (!inline_worker)
    for (unsigned w = 0; w < workers; ++w)
      rte_eal_remote_launch(run_worker, &contexts[w], worker_lcores[w]);

  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_get_tsc_cycles();
  const uint64_t end = opts.duration_seconds > 0
                           ? start + static_cast<uint64_t>(opts.duration_seconds * hz)
                           : UINT64_MAX;
  uint64_t next_key_check = start + hz;
  const uint64_t stats_period = opts.stats_interval * hz;
  uint64_t next_stats = start + stats_period;
  StatsSnapshot previous = stats.snapshot();

  while (!g_stop.load()) {
    if (inline_worker) {
      for (int i = 0; i < 256; ++i) poll_once(contexts[0]);
    } else {
      rte_delay_us_sleep(1000);
    }
    const uint64_t now = rte_get_tsc_cycles();
    if (g_reload.exchange(false)) reload_secret(opts, keyring);
    if (now >= next_key_check) {
      if (keyring.update(static_cast<uint64_t>(std::time(nullptr))))
        std::printf("dtlsgate: cookie key epoch %llu\n",
                    static_cast<unsigned long long>(keyring.epoch()));
      next_key_check = now + hz;
    }
    if (stats_period != 0 && now >= next_stats) {
      StatsSnapshot current = stats.snapshot();
      std::printf("%s\n", stats.interval_line(previous, current).c_str());
      std::fflush(stdout);
      previous = std::move(current);
      next_stats += stats_period;
      if (next_stats <= now) next_stats = now + stats_period;
    }
    if (now >= end) break;
  }

  g_stop.store(true);
  rte_eal_mp_wait_lcore();
  sink.stop();  // drains what workers queued before they stopped

  const StatsSnapshot final_stats = stats.snapshot();
  const double seconds = static_cast<double>(final_stats.tsc - start) / static_cast<double>(hz);
  for (uint16_t p : ports) stop_port(p);
  for (rte_ring* ring : pass_rings) rte_ring_free(ring);

  std::printf("%s", stats.summary_text(final_stats, seconds).c_str());
  std::fflush(stdout);
  if (!opts.summary_json.empty() &&
      !write_file(opts.summary_json, stats.summary_json(final_stats, seconds)))
    return runtime_error("--summary-json " + opts.summary_json + ": cannot write");
  return 0;
}

}  // namespace
}  // namespace dtlsgate::app

int main(int argc, char** argv) {
  using namespace dtlsgate::app;
  int dashdash = argc;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--") == 0) {
      dashdash = i;
      break;
    }
  bool eal_help = false;
  for (int i = 1; i < dashdash; ++i)
    eal_help = eal_help || std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0;

  // Ours first: a bad option or file is one line and exit 2, before EAL prints anything.
  AppOptions opts;
  if (!eal_help) {
    std::vector<std::string> app_args;
    for (int i = dashdash + 1; i < argc; ++i) app_args.emplace_back(argv[i]);
    std::string error;
    switch (parse_app_options(app_args, &opts, &error)) {
      case ParseResult::kHelp:
        std::fputs(app_usage().c_str(), stdout);
        return 0;
      case ParseResult::kError:
        return usage_error(error);
      case ParseResult::kOk:
        break;
    }
  }

  // `dtlsgate --help` (before "--"): EAL prints its options, then ours through this hook.
  rte_set_application_usage_hook(print_app_usage);
  const int eal_argc = dashdash < argc ? dashdash + 1 : argc;
  if (rte_eal_init(eal_argc, argv) < 0) {
    const int err = rte_errno;
    std::fprintf(stderr,
                 "dtlsgate: EAL init failed: %s (EAL options go before \"--\", ours "
                 "after; see --help)\n",
                 rte_strerror(err));
    return err == EINVAL ? 2 : 1;
  }
  const int rc = run(opts);
  rte_eal_cleanup();
  return rc;
}
