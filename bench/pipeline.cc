// dtlsgate-pipeline: the worker's classification pipeline on one core, without EAL: the real
// Classifier (with an empty flow table, as a worker has before sessions exist, or --sessions N
// established ones the flood's sources never match) over bursts of 32 real frames, crafted by
// the same code as dtlsgate-flood (tools/flood/frame_crafter.h).
//
// What a figure means: the saturated throughput of classify_burst alone (parse, cookie MACs,
// HVR rewrite, verdict counters). Frames sit in mbuf-sized slots and are restored outside the
// timed region after each pass (as if a NIC had just written them, so they are in cache as
// DDIO leaves them); rx/tx bursts and mbuf handling of the DPDK shell are not included.
//
//   dtlsgate-pipeline [--mix PRESET|SPEC]... [--seconds S] [--repeats R] [--frames N]
//                     [--threads N] [--hvr-rate-per-prefix N] [--family ipv4|ipv6]
//   dtlsgate-pipeline --mix hvr-only --packets N     (exact count, for callgrind)
//
// --family ipv6 sends the same mixes over IPv6 (sources in 2001:db8:8000::/33, to
// [2001:db8::1]:4433); the classifier answers for both families either way, as the app does.
//
// --threads N runs N such pipelines at once, one per CPU of the affinity mask (taskset), each
// with its own Classifier, frames and counters and the one flow table and key set, as N worker
// lcores have; a figure is then the sum of the N threads' rates, each timed on its own.
//
// --hvr-rate-per-prefix N gives each pipeline the app's reflection guard (HvrRateLimiter, the
// app's default is 1000; here the default is 0, no guard, as every figure before it had). Its
// clock advances 1 ms per burst instead of following the wall clock: the same 2048 frames come
// round every pass, so a real clock would soon refuse them all and measure the cheap refusal.
// At 1 ms per burst no source prefix nears its limit, and every HVR takes the path a real
// client's does, the guard's check included (what a refused flood saves depends on its
// sources; the app's counters show it, this bench does not).
//
// Every frame's verdict is checked against what its kind must get on the first pass: a bench
// that measured the wrong path would fail instead of printing a number.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/hvr_rate_limiter.h"
#include "dtlsgate/printable.h"
#include "flood/client_hello_source.h"
#include "flood/frame_crafter.h"
#include "flood/mix.h"
#include "flood/source_range.h"

namespace {

using namespace dtlsgate;
using namespace dtlsgate::flood;

constexpr std::size_t kBurst = 32;
constexpr std::size_t kSlot = 2048 + 128;  // an mbuf's data room apart, like a real rx ring

struct Options {
  std::vector<std::pair<std::string, Mix>> mixes;  // as given, and parsed once
  double seconds = 1.0;
  unsigned repeats = 3;
  std::size_t frames = 2048;
  uint64_t packets = 0;  // > 0: classify exactly this many (rounded up to a burst), no timing
  RxChecksums rx;        // --rx-checksums nic: frames arrive marked as a NIC with offload marks
  TxChecksums tx = TxChecksums::kSoftware;  // --tx-checksums nic: replies leave their sums to it
  std::size_t sessions = 0;  // established sessions in the flow table (every datagram looks)
  unsigned threads = 1;      // pipelines run at once, one per CPU of the affinity mask
  uint64_t hvr_rate_per_prefix = 0;             // > 0: each pipeline has the app's reflection guard
  AddressFamily family = AddressFamily::kIpv4;  // --family ipv6: the flood and target over IPv6
};

// The reflection guard's clock, one per pipeline: 1 ms per burst (see the top of the file).
struct GuardClock {
  HvrRateLimiter* limiter = nullptr;  // none: nothing to tick
  uint64_t now_ns = 0;

  void tick() {
    if (limiter == nullptr) return;
    now_ns += 1'000'000;
    limiter->set_time(now_ns);
  }
};

// Named in callgrind's --toggle-collect: everything the worker spends on a burst, nothing else.
__attribute__((noinline)) void classify_one_burst(const Classifier& classifier,
                                                  const CookieKeySet& keys, FrameRef* frames,
                                                  Verdict* verdicts, PassInfo* pass,
                                                  VerdictCounters& counters) {
  classifier.classify_burst(keys, frames, kBurst, verdicts, pass, counters);
}

bool verdict_fits(Kind kind, Verdict v) {
  switch (kind) {
    case Kind::kHvr:
      return v == Verdict::kReplyHvr;
    case Kind::kVerify:
      return v == Verdict::kPassVerified;
    case Kind::kStale:
      return v == Verdict::kDropExpiredCookie;
    case Kind::kForged:
    case Kind::kReplay:
      return v == Verdict::kDropBadCookie;
    case Kind::kNonDtls:
      return v == Verdict::kDropNotForUs;
    case Kind::kNonUdp:
      return v == Verdict::kDropNotUdp;
    case Kind::kGarbage:
      return is_drop(v);
  }
  return false;
}

// The short name bench-pps prints: hvr-only -> hvr, drop-only -> drop.
std::string key_of(const std::string& mix) {
  const std::size_t dash = mix.find("-only");
  if (dash != std::string::npos) return mix.substr(0, dash);
  if (mix.find('=') != std::string::npos || mix.find(',') != std::string::npos) return "custom";
  return mix;
}

struct Workload {
  std::vector<uint8_t> pristine;
  std::vector<uint8_t> arena;
  std::vector<FrameRef> refs;
  std::vector<uint16_t> lengths;
  std::vector<Kind> kinds;
  RxChecksums rx;
};

Workload craft(const FrameCrafter& crafter, const Mix& mix, std::size_t count,
               AddressFamily family) {
  const std::vector<Kind> schedule = build_schedule(mix);
  SourceRange sources;
  std::string error;
  parse_prefix(family == AddressFamily::kIpv4 ? "10.0.0.0/8" : "2001:db8:8000::/33", &sources,
               &error);
  FastRandom random(42);
  Workload w;
  w.pristine.assign(count * kSlot, 0);
  w.kinds.resize(count);
  w.lengths.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const Kind kind = schedule[i % schedule.size()];
    const FrameTemplate& t = crafter.frame_template(kind, family);
    uint8_t* slot = &w.pristine[i * kSlot];
    std::memcpy(slot, t.bytes.data(), t.bytes.size());
    crafter.patch(t, slot, sources.draw(random), random);
    w.kinds[i] = kind;
    w.lengths[i] = static_cast<uint16_t>(t.bytes.size());
  }
  w.arena = w.pristine;
  w.refs.resize(count);
  return w;
}

void restore(Workload& w) {
  for (std::size_t i = 0; i < w.refs.size(); ++i) {
    std::memcpy(&w.arena[i * kSlot], &w.pristine[i * kSlot], w.lengths[i]);
    w.refs[i] = FrameRef{&w.arena[i * kSlot], w.lengths[i], static_cast<uint16_t>(kSlot), w.rx};
  }
}

// One pass over every frame, burst by burst. Returns false on a verdict its kind must not get.
// count: frames from the first (a multiple of kBurst, at most all of them).
bool pass_once(const Classifier& classifier, const CookieKeySet& keys, Workload& w,
               std::size_t count, GuardClock& clock, VerdictCounters& counters, bool check,
               std::string* error) {
  Verdict verdicts[kBurst];
  PassInfo pass[kBurst];
  for (std::size_t at = 0; at + kBurst <= count; at += kBurst) {
    clock.tick();  // as the worker sets its limiter's time before each burst
    classify_one_burst(classifier, keys, &w.refs[at], verdicts, pass, counters);
    if (!check) continue;
    for (std::size_t i = 0; i < kBurst; ++i) {
      if (!verdict_fits(w.kinds[at + i], verdicts[i])) {
        *error = "frame " + std::to_string(at + i) + " of kind " +
                 std::string(kind_name(w.kinds[at + i])) + " got verdict " +
                 std::string(verdict_name(verdicts[i]));
        return false;
      }
    }
  }
  return true;
}

// The CPUs this process may run on (taskset), in order.
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// One thread's part of a timed run: its own classifier and frames, `seconds` of classification
// per repeat (restores not timed), its rate per repeat into mpps[r].
struct Lane {
  const Classifier* classifier = nullptr;
  GuardClock clock;
  Workload w;
  VerdictCounters counters;
  std::vector<double> mpps;
  std::string error;  // pass_once's, unused: the timed passes do not check verdicts
};

void run_lane(Lane& lane, const CookieKeySet& keys, const Options& o, std::barrier<>& start) {
  lane.mpps.assign(o.repeats, 0);
  for (unsigned r = 0; r < o.repeats; ++r) {
    start.arrive_and_wait();  // every lane's repeat r runs at the same time
    double timed = 0;
    uint64_t packets = 0;
    while (timed < o.seconds) {
      restore(lane.w);
      const auto t0 = std::chrono::steady_clock::now();
      pass_once(*lane.classifier, keys, lane.w, lane.w.refs.size(), lane.clock, lane.counters,
                false, &lane.error);
      const auto t1 = std::chrono::steady_clock::now();
      timed += std::chrono::duration<double>(t1 - t0).count();
      packets += lane.w.refs.size();
    }
    lane.mpps[r] = static_cast<double>(packets) / timed / 1e6;
  }
}

// Each pipeline's own guard, as each worker lcore has its own; nullptr without
// --hvr-rate-per-prefix. The app's other guard, --hvr-rate (global), stays off as its default.
std::unique_ptr<HvrRateLimiter> make_guard(const Options& o) {
  if (o.hvr_rate_per_prefix == 0) return nullptr;
  HvrRateLimit limit;
  limit.per_prefix_per_second = o.hvr_rate_per_prefix;
  return std::make_unique<HvrRateLimiter>(limit);
}

int usage_error(const std::string& text) {
  // One line, whatever the user typed into the option this quotes.
  std::fprintf(stderr, "dtlsgate-pipeline: %s\n", dtlsgate::printable(text).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || name == "-h") {
      std::printf(
          "usage: dtlsgate-pipeline [--mix PRESET|SPEC]... [--seconds S] [--repeats R] "
          "[--frames N] [--packets N] [--rx-checksums software|nic] [--tx-checksums software|nic] "
          "[--sessions N] "
          "[--threads N] [--hvr-rate-per-prefix N] [--family ipv4|ipv6]\n"
          "Saturated classify_burst throughput on one core over flood-crafted frames.\n"
          "Presets: hvr-only verify-only drop-only attack (default: all four).\n"
          "--packets N classifies exactly N frames once (for callgrind --toggle-collect="
          "'*classify_one_burst*').\n"
          "--rx-checksums nic marks frames as a NIC with RX checksum offload does (IPv4 header "
          "and\n"
          "UDP checksum GOOD), so the software sums are skipped; default: software.\n"
          "--tx-checksums nic writes HVR replies as for a port with TX checksum offload (the\n"
          "IPv4 header and UDP sums left to the NIC); default: software.\n"
          "--sessions N puts N established sessions (clients in 172.16.0.0/12, never a flood\n"
          "source) in the flow table, so every datagram's lookup probes it; default: 0.\n"
          "--threads N runs N pipelines at once, one per CPU of the affinity mask (taskset),\n"
          "each with its own classifier and frames; a figure is the sum of their rates.\n"
          "--hvr-rate-per-prefix N gives each pipeline the app's reflection guard (the app's\n"
          "default is 1000), its clock 1 ms per burst so that no HVR is refused: the cost of\n"
          "the check on a real client's path; default: 0, no guard.\n"
          "--family ipv6 sends the flood from 2001:db8:8000::/33 to [2001:db8::1]:4433 instead of\n"
          "from 10.0.0.0/8 to 192.0.2.1:4433; default: ipv4.\n");
      return 0;
    }
    static const char* const kWithValue[] = {
        "--mix",          "--seconds",      "--repeats",  "--frames",  "--packets",
        "--rx-checksums", "--tx-checksums", "--sessions", "--threads", "--hvr-rate-per-prefix",
        "--family"};
    if (std::find(std::begin(kWithValue), std::end(kWithValue), name) == std::end(kWithValue)) {
      return usage_error("unknown option '" + name + "' (see --help)");
    }
    if (i + 1 >= argc) return usage_error(name + " needs a value (see --help)");
    const std::string value = argv[++i];
    char* end = nullptr;
    if (name == "--mix") {
      Mix mix;  // judged here, so a bad one is refused before any output
      std::string error;
      if (!parse_mix(value, &mix, &error)) return usage_error(error);
      o.mixes.emplace_back(value, mix);
    } else if (name == "--seconds") {
      o.seconds = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !(o.seconds > 0) || o.seconds > 60) {
        return usage_error("--seconds: expected 0 < S <= 60");
      }
    } else if (name == "--repeats") {
      o.repeats = static_cast<unsigned>(std::strtoul(value.c_str(), &end, 10));
      if (*end != '\0' || o.repeats == 0 || o.repeats > 99) {
        return usage_error("--repeats: 1-99");
      }
    } else if (name == "--frames") {
      o.frames = std::strtoul(value.c_str(), &end, 10);
      if (*end != '\0' || o.frames < kBurst || o.frames > 65536) {
        return usage_error("--frames: 32-65536");
      }
      o.frames -= o.frames % kBurst;
    } else if (name == "--packets") {
      o.packets = std::strtoull(value.c_str(), &end, 10);
      if (*end != '\0' || o.packets == 0 || o.packets > 100000000) {
        return usage_error("--packets: 1-100000000");
      }
    } else if (name == "--rx-checksums") {
      if (value != "software" && value != "nic") {
        return usage_error("--rx-checksums: software or nic");
      }
      o.rx = value == "nic" ? RxChecksums{true, true} : RxChecksums{};
    } else if (name == "--tx-checksums") {
      if (value != "software" && value != "nic") {
        return usage_error("--tx-checksums: software or nic");
      }
      o.tx = value == "nic" ? TxChecksums::kOffload : TxChecksums::kSoftware;
    } else if (name == "--sessions") {
      o.sessions = std::strtoul(value.c_str(), &end, 10);
      if (*end != '\0' || value.empty() || o.sessions > 32768) {
        return usage_error("--sessions: 0-32768");
      }
    } else if (name == "--threads") {
      o.threads = static_cast<unsigned>(std::strtoul(value.c_str(), &end, 10));
      if (*end != '\0' || value.empty() || o.threads == 0 || o.threads > 64) {
        return usage_error("--threads: 1-64");
      }
    } else if (name == "--hvr-rate-per-prefix") {
      o.hvr_rate_per_prefix = std::strtoull(value.c_str(), &end, 10);
      if (*end != '\0' || value.empty() || value[0] == '-' || o.hvr_rate_per_prefix > 1000000000) {
        return usage_error("--hvr-rate-per-prefix: 0-1000000000 HVRs per second");
      }
    } else if (name == "--family") {
      if (value != "ipv4" && value != "ipv6") return usage_error("--family: ipv4 or ipv6");
      o.family = value == "ipv6" ? AddressFamily::kIpv6 : AddressFamily::kIpv4;
    } else {
      return usage_error("unknown option '" + name + "' (see --help)");
    }
  }
  if (o.mixes.empty()) o.mixes = all_presets();
  if (o.threads > 1 && o.packets != 0) {
    return usage_error("--packets counts one pipeline: use it without --threads");
  }
  const std::vector<int> cpus = allowed_cpus();
  if (o.threads > 1 && cpus.size() < o.threads) {
    return usage_error("--threads " + std::to_string(o.threads) + " needs as many CPUs, the " +
                       "affinity mask has " + std::to_string(cpus.size()) + " (taskset -c)");
  }

  std::string error;
  const std::vector<uint8_t> hello = openssl_client_hello(&error);
  if (hello.empty()) {
    std::fprintf(stderr, "dtlsgate-pipeline: %s\n", error.c_str());
    return 1;
  }
  TargetSpec target;
  Endpoint server;
  server.port = 4433;
  parse_address("192.0.2.1", &server, &error);
  target.ipv4 = server;
  Endpoint server6;
  server6.port = 4433;
  parse_address("2001:db8::1", &server6, &error);
  if (o.family == AddressFamily::kIpv6) target.ipv6 = server6;
  TargetSecret secret;
  secret.master = random_master_secret();
  const auto now = static_cast<uint64_t>(std::time(nullptr));
  CookieKeyring keyring(secret.master, secret.rotation_seconds, now);
  const FrameCrafter crafter(hello, target, secret, now, 7);

  ClassifierConfig config;
  config.ipv4.push_back({192, 0, 2, 1});
  // Both families, as the app usually answers for: IPv4 frames that miss the IPv4 prediction
  // then pay for the IPv6 one's compare too.
  config.ipv6.push_back(server6.addr);
  config.ports = {4433};
  config.mac = target.dst_mac;
  config.tx_checksums = o.tx;
  FlowTable flows(1 << 16);
  for (std::size_t i = 0; i < o.sessions; ++i) {
    const uint8_t client[4] = {172, static_cast<uint8_t>(16 + (i >> 16 & 15)),
                               static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    flows.insert(FlowKey{Endpoint::ipv4(client, static_cast<uint16_t>(40000 + i % 20000)), server});
  }
  const Classifier classifier(config, &flows);
  const CookieKeySet& keys = *keyring.snapshot();

  std::printf(
      "client_hello_bytes=%zu\nframe_bytes=%zu\nburst=%zu\nrx_checksums=%s\ntx_checksums=%s\n"
      "sessions=%zu\n"
      "threads=%u\nhvr_rate_per_prefix=%lu\nfamily=%s\n",
      hello.size(), crafter.frame_template(Kind::kHvr, o.family).bytes.size(), kBurst,
      o.rx.l4_good ? "nic" : "software", o.tx == TxChecksums::kOffload ? "nic" : "software",
      flows.size(), o.threads, o.hvr_rate_per_prefix,
      o.family == AddressFamily::kIpv6 ? "ipv6" : "ipv4");
  for (const auto& [mix_text, mix] : o.mixes) {
    const std::string key = key_of(mix_text);

    if (o.packets != 0) {
      Workload w = craft(crafter, mix, o.frames, o.family);
      w.rx = o.rx;
      Classifier guarded = classifier;
      const std::unique_ptr<HvrRateLimiter> guard = make_guard(o);
      guarded.set_rate_limiter(guard.get());
      GuardClock clock{guard.get()};
      VerdictCounters counters;
      uint64_t done = 0;
      bool first = true;
      while (done < o.packets) {
        restore(w);
        const uint64_t bursts = (o.packets - done + kBurst - 1) / kBurst;
        const std::size_t n = std::min<uint64_t>(w.refs.size(), bursts * kBurst);
        if (!pass_once(guarded, keys, w, n, clock, counters, first, &error)) {
          std::fprintf(stderr, "dtlsgate-pipeline: %s: %s\n", mix_text.c_str(), error.c_str());
          return 1;
        }
        first = false;
        done += n;
      }
      std::printf("%s_packets=%lu\n", key.c_str(), counters.total());
      continue;
    }

    // One lane per thread, each with its own classifier (as each worker lcore has one) and
    // frames, each checked on its first pass.
    std::vector<Classifier> classifiers(o.threads, classifier);
    std::vector<std::unique_ptr<HvrRateLimiter>> guards(o.threads);
    std::vector<Lane> lanes(o.threads);
    for (unsigned t = 0; t < o.threads; ++t) {
      Lane& lane = lanes[t];
      guards[t] = make_guard(o);
      classifiers[t].set_rate_limiter(guards[t].get());
      lane.clock.limiter = guards[t].get();
      lane.classifier = &classifiers[t];
      lane.w = craft(crafter, mix, o.frames, o.family);
      lane.w.rx = o.rx;
      restore(lane.w);
      if (!pass_once(*lane.classifier, keys, lane.w, lane.w.refs.size(), lane.clock, lane.counters,
                     true, &error)) {
        std::fprintf(stderr, "dtlsgate-pipeline: %s: %s\n", mix_text.c_str(), error.c_str());
        return 1;
      }
    }
    std::barrier start(static_cast<std::ptrdiff_t>(o.threads));
    if (o.threads == 1) {
      run_lane(lanes[0], keys, o, start);
    } else {
      std::vector<std::thread> running;
      for (unsigned t = 0; t < o.threads; ++t) {
        running.emplace_back([&, t] {
          pin_to(cpus[t]);
          run_lane(lanes[t], keys, o, start);
        });
      }
      for (std::thread& thread : running) thread.join();
    }
    std::vector<double> mpps(o.repeats, 0);
    for (const Lane& lane : lanes) {
      for (unsigned r = 0; r < o.repeats; ++r) mpps[r] += lane.mpps[r];
    }
    std::sort(mpps.begin(), mpps.end());
    const double median = mpps[mpps.size() / 2];
    std::printf("%s_mpps=%.3f\n%s_mpps_min=%.3f\n%s_mpps_max=%.3f\n%s_ns_per_packet=%.1f\n",
                key.c_str(), median, key.c_str(), mpps.front(), key.c_str(), mpps.back(),
                key.c_str(), 1e3 / median);
    std::fflush(stdout);
  }
  return 0;
}
