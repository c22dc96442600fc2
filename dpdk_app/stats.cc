#include "stats.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "dtlsgate/hvr_rate_limiter.h"
#include "dtlsgate/source_prefix.h"

namespace dtlsgate::app {
namespace {

// Workers write with plain increments; a relaxed atomic load sees a whole, recent value.
uint64_t read_counter(const uint64_t& c) {
  return __atomic_load_n(&c, __ATOMIC_RELAXED);
}

void appendf(std::string* out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string* out, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) out->append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

bool always_shown(std::size_t verdict) {
  const auto v = static_cast<Verdict>(verdict);
  return v == Verdict::kReplyHvr || v == Verdict::kPassVerified || v == Verdict::kPassFlow;
}

// The counters issue 4 asks every stats line to carry; the rest show once they are non-zero.
bool session_always_shown(std::size_t i) {
  const auto c = static_cast<SessionCounter>(i);
  return c == SessionCounter::kSslObjectsCreated || c == SessionCounter::kHandshakesCompleted ||
         c == SessionCounter::kHandshakesFailed || c == SessionCounter::kHandshakesTimedOut ||
         c == SessionCounter::kSessionsOpen || c == SessionCounter::kBytesIn ||
         c == SessionCounter::kBytesOut;
}

}  // namespace

uint64_t StatsSnapshot::io_counter(std::string_view name) const {
  for (std::size_t i = 0; i < kIoCounterCount; ++i)
    if (kIoCounterInfo[i].name == name) return io[i];
  return 0;
}

uint64_t StatsSnapshot::verdict_total() const {
  uint64_t t = 0;
  for (uint64_t c : verdicts) t += c;
  return t;
}

Stats::Stats(std::vector<QueueLabel> queues, std::vector<uint16_t> ports)
    : labels_(std::move(queues)),
      ports_(std::move(ports)),
      counters_(std::make_unique<QueueCounters[]>(labels_.size())) {}

StatsSnapshot Stats::snapshot() const {
  StatsSnapshot s;
  s.tsc = rte_get_tsc_cycles();
  s.queue_rx.resize(labels_.size());
  for (std::size_t q = 0; q < labels_.size(); ++q) {
    const QueueCounters& c = counters_[q];
    for (std::size_t v = 0; v < kVerdictCount; ++v)
      s.verdicts[v] += read_counter(c.verdicts.count[v]);
    for (std::size_t i = 0; i < kIoCounterCount; ++i)
      s.io[i] += read_counter(c.io.*kIoCounterInfo[i].member);
    s.queue_rx[q] = read_counter(c.io.rx_packets);
  }
  for (uint16_t port : ports_) {
    rte_eth_stats nic;
    if (rte_eth_stats_get(port, &nic) == 0) {
      s.imissed += nic.imissed;
      s.rx_nombuf += nic.rx_nombuf;
    }
  }
  if (pool_ != nullptr) {
    s.mbufs_in_use = rte_mempool_in_use_count(pool_);
    s.mbufs_total = pool_->size;
  }
  for (const SlowPathCounters& sp : slow_paths_) {
    for (std::size_t i = 0; i < kSessionCounterCount; ++i)
      s.session[i] += read_counter(sp.session->count[i]);
    for (std::size_t i = 0; i < kSlowIoCounterCount; ++i)
      s.slow_io[i] += read_counter(sp.io->*kSlowIoCounterInfo[i].member);
  }
  for (const HvrRateLimiter* guard : guards_)
    RefusedPrefixes::merge(&s.refused_prefixes, guard->refused_prefixes().top(),
                           RefusedPrefixes::kSlots);
  return s;
}

std::string Stats::interval_line(const StatsSnapshot& prev, const StatsSnapshot& cur) const {
  const double seconds =
      static_cast<double>(cur.tsc - prev.tsc) / static_cast<double>(rte_get_tsc_hz());
  auto rate = [seconds](uint64_t now, uint64_t before) {
    return seconds > 0 ? static_cast<double>(now - before) / seconds : 0.0;
  };
  std::string line = "dtlsgate: pps";
  appendf(&line, " rx %.0f tx %.0f |",
          rate(cur.io_counter("rx_packets"), prev.io_counter("rx_packets")),
          rate(cur.io_counter("tx_packets"), prev.io_counter("tx_packets")));
  for (std::size_t v = 0; v < kVerdictCount; ++v) {
    if (!always_shown(v) && cur.verdicts[v] == prev.verdicts[v]) continue;
    appendf(&line, " %.*s %.0f", static_cast<int>(kVerdictInfo[v].name.size()),
            kVerdictInfo[v].name.data(), rate(cur.verdicts[v], prev.verdicts[v]));
  }
  line += " |";
  for (std::size_t q = 0; q < labels_.size(); ++q)
    appendf(&line, " p%uq%u %.0f", labels_[q].port, labels_[q].queue,
            rate(cur.queue_rx[q], prev.queue_rx[q]));
  appendf(&line, " | imissed %.0f rx_nombuf %.0f", rate(cur.imissed, prev.imissed),
          rate(cur.rx_nombuf, prev.rx_nombuf));
  for (std::size_t i = 0; i < kIoCounterCount; ++i) {
    const std::string_view name = kIoCounterInfo[i].name;
    if (name == "rx_packets" || name == "tx_packets" || name == "rx_bytes") continue;
    if (cur.io[i] == prev.io[i]) continue;  // drops are shown when they happen
    appendf(&line, " %.*s %.0f", static_cast<int>(name.size()), name.data(),
            rate(cur.io[i], prev.io[i]));
  }
  // Session counters as totals (a handshake count means more than its rate here): those the
  // slow path always has, then any other that is not zero.
  line += " | slow";
  for (std::size_t i = 0; i < kSessionCounterCount; ++i) {
    if (!session_always_shown(i) && cur.session[i] == 0) continue;
    appendf(&line, " %.*s %" PRIu64, static_cast<int>(kSessionCounterInfo[i].name.size()),
            kSessionCounterInfo[i].name.data(), cur.session[i]);
  }
  for (std::size_t i = 0; i < kSlowIoCounterCount; ++i) {
    if (cur.slow_io[i] == prev.slow_io[i]) continue;
    appendf(&line, " %.*s/s %.0f", static_cast<int>(kSlowIoCounterInfo[i].name.size()),
            kSlowIoCounterInfo[i].name.data(), rate(cur.slow_io[i], prev.slow_io[i]));
  }
  // Who is being reflected at: shown while the guard refuses (its estimates are totals).
  const auto limited = static_cast<std::size_t>(Verdict::kDropRateLimited);
  if (cur.verdicts[limited] != prev.verdicts[limited] && !cur.refused_prefixes.empty()) {
    appendf(&line, " | refused_most %s", prefix_text(cur.refused_prefixes[0].key).c_str());
  }
  appendf(&line, " (%.2fs)", seconds);
  return line;
}

std::string Stats::summary_text(const StatsSnapshot& s, double seconds) const {
  std::string out;
  appendf(&out, "dtlsgate: summary after %.1f s\n", seconds);
  for (std::size_t i = 0; i < kIoCounterCount; ++i)
    appendf(&out, "  %-28.*s %12" PRIu64 "\n", static_cast<int>(kIoCounterInfo[i].name.size()),
            kIoCounterInfo[i].name.data(), s.io[i]);
  for (std::size_t v = 0; v < kVerdictCount; ++v) {
    if (s.verdicts[v] == 0 && !always_shown(v)) continue;
    appendf(&out, "  %-28.*s %12" PRIu64 "\n", static_cast<int>(kVerdictInfo[v].name.size()),
            kVerdictInfo[v].name.data(), s.verdicts[v]);
  }
  appendf(&out, "  %-28s %12" PRIu64 "\n  %-28s %12" PRIu64 "\n", "imissed", s.imissed, "rx_nombuf",
          s.rx_nombuf);
  appendf(&out, "  %-28s %12" PRIu64 " of %" PRIu64 "\n", "mbufs_in_use", s.mbufs_in_use,
          s.mbufs_total);
  for (std::size_t i = 0; i < kSlowIoCounterCount; ++i)
    appendf(&out, "  %-28.*s %12" PRIu64 "\n", static_cast<int>(kSlowIoCounterInfo[i].name.size()),
            kSlowIoCounterInfo[i].name.data(), s.slow_io[i]);
  for (std::size_t i = 0; i < kSessionCounterCount; ++i)
    appendf(&out, "  %-28.*s %12" PRIu64 "\n", static_cast<int>(kSessionCounterInfo[i].name.size()),
            kSessionCounterInfo[i].name.data(), s.session[i]);
  for (std::size_t q = 0; q < labels_.size(); ++q)
    appendf(&out, "  rx on port %u queue %-10u %12" PRIu64 "\n", labels_[q].port, labels_[q].queue,
            s.queue_rx[q]);
  for (const RefusedPrefix& p : s.refused_prefixes) {  // the guard's, estimated from a sample
    appendf(&out, "  %-28s %12" PRIu64 " (estimated)\n", ("refused " + prefix_text(p.key)).c_str(),
            p.refused);
  }
  appendf(&out, "  verdicts add up to rx_packets: %s\n",
          s.verdict_total() == s.io_counter("rx_packets") ? "yes" : "NO");
  return out;
}

std::string Stats::summary_json(const StatsSnapshot& s, double seconds) const {
  std::string out = "{\n";
  appendf(&out, "  \"duration_seconds\": %.3f", seconds);
  for (std::size_t i = 0; i < kIoCounterCount; ++i)
    appendf(&out, ",\n  \"%.*s\": %" PRIu64, static_cast<int>(kIoCounterInfo[i].name.size()),
            kIoCounterInfo[i].name.data(), s.io[i]);
  for (std::size_t v = 0; v < kVerdictCount; ++v)
    appendf(&out, ",\n  \"%.*s\": %" PRIu64, static_cast<int>(kVerdictInfo[v].name.size()),
            kVerdictInfo[v].name.data(), s.verdicts[v]);
  appendf(&out, ",\n  \"imissed\": %" PRIu64 ",\n  \"rx_nombuf\": %" PRIu64, s.imissed,
          s.rx_nombuf);
  appendf(&out, ",\n  \"mbufs_in_use\": %" PRIu64 ",\n  \"mbufs_total\": %" PRIu64, s.mbufs_in_use,
          s.mbufs_total);
  for (std::size_t i = 0; i < kSlowIoCounterCount; ++i)
    appendf(&out, ",\n  \"%.*s\": %" PRIu64, static_cast<int>(kSlowIoCounterInfo[i].name.size()),
            kSlowIoCounterInfo[i].name.data(), s.slow_io[i]);
  for (std::size_t i = 0; i < kSessionCounterCount; ++i)
    appendf(&out, ",\n  \"%.*s\": %" PRIu64, static_cast<int>(kSessionCounterInfo[i].name.size()),
            kSessionCounterInfo[i].name.data(), s.session[i]);
  out += ",\n  \"queues\": [";
  for (std::size_t q = 0; q < labels_.size(); ++q)
    appendf(&out, "%s{\"port\": %u, \"queue\": %u, \"rx_packets\": %" PRIu64 "}", q ? ", " : "",
            labels_[q].port, labels_[q].queue, s.queue_rx[q]);
  out += "],\n  \"refused_prefixes\": [";
  for (std::size_t i = 0; i < s.refused_prefixes.size(); ++i) {
    const RefusedPrefix& p = s.refused_prefixes[i];
    appendf(&out, "%s{\"prefix\": \"%s\", \"refused\": %" PRIu64 ", \"error\": %" PRIu64 "}",
            i ? ", " : "", prefix_text(p.key).c_str(), p.refused, p.error);
  }
  out += "]\n}\n";
  return out;
}

}  // namespace dtlsgate::app
