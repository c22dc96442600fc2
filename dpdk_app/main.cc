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
#include "dtlsgate/session/self_signed.h"
#include "options.h"
#include "pass_ring.h"
#include "port.h"
#include "slow_path.h"
#include "stats.h"
#include "telemetry.h"
#include "worker.h"

namespace dtlsgate::app {
namespace {

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

  std::vector<unsigned> lcores;
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    lcores.push_back(lcore);
  }
  const unsigned slow_threads = opts.slow_threads;

  unsigned max_rx = 65535, max_tx = 65535;
  for (uint16_t p : ports) {
    max_rx = std::min<unsigned>(max_rx, port_max_rx_queues(p));
    max_tx = std::min<unsigned>(max_tx, port_max_tx_queues(p));
  }
  // Every worker has a TX queue of its own, and so has every slow-path thread.
  if (max_tx <= slow_threads)
    return usage_error("a port offers only " + std::to_string(max_tx) +
                       " TX queue(s): the workers and " + std::to_string(slow_threads) +
                       " slow-path thread(s) need one each (net_af_packet: add qpairs=" +
                       std::to_string(slow_threads + 1) + " to its --vdev)");
  const unsigned max_workers_by_queues = std::min(max_rx, max_tx - slow_threads);

  // Workers take the first worker lcores; slow-path threads the next ones if EAL gave that
  // many, else they run as plain threads. With a single lcore the main lcore polls too.
  const unsigned lcores_for_workers =
      lcores.empty() ? 1
                     : static_cast<unsigned>(lcores.size() > slow_threads && opts.workers == 0
                                                 ? lcores.size() - slow_threads
                                                 : lcores.size());
  unsigned workers = opts.workers;
  if (workers != 0) {
    if (workers > lcores_for_workers)
      return usage_error("--workers " + std::to_string(workers) + ": EAL gave only " +
                         std::to_string(lcores_for_workers) +
                         " worker lcore(s); give more with -l/--lcores");
    if (workers > max_workers_by_queues)
      return usage_error("--workers " + std::to_string(workers) + ": a port offers only " +
                         std::to_string(max_workers_by_queues) +
                         " queue pair(s) once the slow-path threads have their TX queues");
  } else {
    workers = std::min(lcores_for_workers, max_workers_by_queues);
    if (workers < lcores_for_workers)
      std::printf(
          "dtlsgate: a port offers only %u queue pair(s) for workers: %u worker(s), %u lcore(s) "
          "idle\n",
          max_workers_by_queues, workers, lcores_for_workers - workers);
  }
  const bool inline_worker = lcores.empty();
  std::vector<unsigned> worker_lcores, slow_lcores;
  for (std::size_t i = 0; i < lcores.size(); ++i) {
    if (i < workers)
      worker_lcores.push_back(lcores[i]);
    else if (slow_lcores.size() < slow_threads)
      slow_lcores.push_back(lcores[i]);
  }
  const bool slow_on_lcores = slow_lcores.size() == slow_threads;
  std::printf("dtlsgate: %u slow-path thread(s) %s\n", slow_threads,
              slow_on_lcores ? "on their own lcores"
                             : "as plain threads (no lcore left for them: add lcores, e.g. "
                               "--lcores '0@0,1@1,2@0', to pin them)");

  int socket = rte_eth_dev_socket_id(ports[0]);
  if (socket < 0) socket = static_cast<int>(rte_socket_id());
  std::string error;
  PoolSizing sizing{static_cast<unsigned>(ports.size()), workers + slow_threads,
                    rte_lcore_count() + slow_threads, slow_threads * kPassRingSize};
  rte_mempool* pool = create_mbuf_pool("dtlsgate_mbufs", socket, sizing, &error);
  if (pool == nullptr) return runtime_error(error);

  std::vector<rte_ring*> pass_rings;
  for (unsigned s = 0; s < slow_threads; ++s) {
    rte_ring* ring =
        create_pass_ring("dtlsgate_pass" + std::to_string(s), kPassRingSize, socket, &error);
    if (ring == nullptr) return runtime_error(error);
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
  std::vector<PortInfo> port_info(ports.size());
  std::vector<uint16_t> rx_queues_of(ports.size());
  for (std::size_t pi = 0; pi < ports.size(); ++pi) {
    PortInfo& info = port_info[pi];
    const auto tx_queues = static_cast<uint16_t>(workers + slow_threads);
    rx_queues_of[pi] = port_rx_queues(ports[pi], static_cast<uint16_t>(workers), tx_queues);
    if (!setup_port(ports[pi], rx_queues_of[pi], tx_queues, pool, &info, &error))
      return runtime_error(error);
    ClassifierConfig config;
    config.ipv4 = opts.ipv4;
    config.ipv6 = opts.ipv6;
    config.ports = opts.ports;
    config.mac = opts.mac.value_or(info.mac);
    config.tx_checksums = info.tx_checksum_offload ? TxChecksums::kOffload : TxChecksums::kSoftware;
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

  // RX queue q of a port is polled by worker q % workers and answered on that worker's TX
  // queue (more RX queues than workers only where the PMD receives on every queue it has).
  std::vector<QueueLabel> labels;
  for (std::size_t pi = 0; pi < ports.size(); ++pi)
    for (uint16_t q = 0; q < rx_queues_of[pi]; ++q) labels.push_back({ports[pi], q});
  Stats stats(labels, ports);
  stats.set_pool(pool);
  for (const auto& l : limiters)
    if (l != nullptr) stats.add_guard(l.get());

  std::vector<WorkerContext> contexts(workers);
  std::size_t label = 0;
  for (std::size_t pi = 0; pi < ports.size(); ++pi)
    for (uint16_t q = 0; q < rx_queues_of[pi]; ++q, ++label) {
      const unsigned w = q % workers;
      contexts[w].queues.push_back(WorkerQueue{
          ports[pi], q, classifier_of[pi][w].get(), stats.counters(label), limiters[w].get(),
          static_cast<uint16_t>(w), port_info[pi].tx_checksum_offload});
    }
  for (unsigned w = 0; w < workers; ++w) {
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
                         &keyring,
                         {},
                         {}};
  for (const PortInfo& info : port_info) {
    config_view.rx_checksum_offload.push_back(info.rx_checksum_offload ? 1 : 0);
    config_view.tx_checksum_offload.push_back(info.tx_checksum_offload ? 1 : 0);
  }
  register_telemetry(&stats, &config_view);

  std::shared_ptr<ServerTlsContext> tls = opts.tls;
  if (!tls) {
    ServerTlsOptions tls_options;
    tls_options.cipher_list = opts.ciphers;
    tls = make_self_signed_context("dtlsgate", tls_options, &error);
    if (!tls) return runtime_error(error);
    std::printf(
        "dtlsgate: warning: no --cert/--key: using a throw-away self-signed certificate; "
        "clients must skip verification\n");
  }
  std::vector<std::unique_ptr<SlowPath>> slow_paths;
  for (unsigned s = 0; s < slow_threads; ++s) {
    SlowPathConfig sc;
    sc.ring = pass_rings[s];
    for (std::size_t pi = 0; pi < ports.size(); ++pi)
      sc.ports.push_back(SlowPathPort{ports[pi], static_cast<uint16_t>(workers + s),
                                      opts.mac.value_or(port_info[pi].mac)});
    sc.pool = pool;
    sc.tls = tls.get();
    sc.keys = &keyring;
    sc.flows = &flows;
    sc.engine = opts.engine;
    slow_paths.push_back(std::make_unique<SlowPath>(std::move(sc)));
    stats.add_slow_path(&slow_paths.back()->session_counters(), &slow_paths.back()->io_counters());
    slow_paths.back()->set_stop(&g_stop);
  }
  std::printf(
      "dtlsgate: slow path: MTU %u, per thread at most %zu sessions, %zu half-open (timeout "
      "%.1f s), %zu per client address\n",
      opts.engine.mtu, opts.engine.max_sessions, opts.engine.max_half_open,
      static_cast<double>(opts.engine.handshake_timeout_us) / 1e6,
      opts.engine.max_sessions_per_source);

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
  for (unsigned s = 0; s < slow_threads; ++s) {
    if (slow_on_lcores)
      rte_eal_remote_launch(SlowPath::run_on_lcore, slow_paths[s].get(), slow_lcores[s]);
    else
      slow_paths[s]->start_thread(&g_stop);
  }

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
  for (auto& sp : slow_paths) {
    sp->join_thread();
    // What workers queued after the slow thread's last look; its output may still go out.
    while (sp->poll_once(SlowPath::monotonic_us()) > 0) {
    }
  }

  const StatsSnapshot final_stats = stats.snapshot();
  const double seconds = static_cast<double>(final_stats.tsc - start) / static_cast<double>(hz);
  for (uint16_t p : ports) stop_port(p);
  slow_paths.clear();  // frees the SSL objects; unpublishes their flows
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
