// BM_Classify/*: the fast path's cost per frame through classify_burst, in bursts of 32 as a
// worker lcore runs it, on plain buffers (no EAL, no NIC).
//
//   hvr        cookie-less ClientHellos exactly as OpenSSL 3 writes them (205-byte UDP
//              payload, generated in-process at setup), from 1024 different source
//              addresses/ports: parse, MAC, rewrite into the HVR in place.
//   verify     the same clients' second ClientHello with the cookie: parse, MAC, compare.
//   drop       a garbage mix: not for us, bad version, short records, not UDP, bad checksum,
//              records of unknown sessions, fragments, extension headers...
//   copy_only  what hvr also pays to restore its frames between iterations (the HVR rewrites
//              them): subtract it from hvr for the classifier's own cost.
//
// items_per_second is frames per second on one core.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "support/frame_builder.h"

namespace {

using namespace dtlsgate;
using test::Bytes;

constexpr std::size_t kBurst = 32;
constexpr std::size_t kFrames = 1024;  // 32 bursts: more sources than fit in a few cache lines
// One mbuf per frame, laid out as rte_pktmbuf_pool_create lays them out: 64-byte object header,
// 128-byte rte_mbuf, 128 bytes of headroom, then the data (cache-line aligned), 2368 bytes
// apart. A power-of-two stride (2048) would put every frame's line k into the same two L1 sets
// and measure conflict misses no mbuf pool has (hvr 9.5 vs 10.0 M/s here).
constexpr std::size_t kSlot = 2368;
constexpr std::size_t kDataOffset = 64 + 128 + 128;

ClassifierConfig bench_config() {
  ClassifierConfig c;
  c.ipv4 = {{192, 0, 2, 1}};
  c.ipv6 = {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  c.ports = {4433};
  c.mac = {0x02, 0, 0, 0, 0, 0x01};
  return c;
}

MasterSecret bench_master() {
  MasterSecret m{};
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>(i * 7 + 1);
  return m;
}

// The i-th client: IPv4 198.18.x.y (RFC 2544 benchmark range), one in 8 over IPv6.
test::UdpFrameSpec client(std::size_t i) {
  test::UdpFrameSpec s;
  s.src_port = static_cast<uint16_t>(20000 + (i * 7919) % 40000);
  if (i % 8 == 7) {
    char ip[64];
    std::snprintf(ip, sizeof ip, "2001:db8:1::%zx:%zx", (i + 1) >> 16, (i + 1) & 0xffff);
    s.src_ip = ip;
    s.dst_ip = "2001:db8::1";
  } else {
    s.src_ip = "198.18." + std::to_string((i >> 8) & 0xff) + "." + std::to_string(i & 0xff);
  }
  return s;
}

// Frames laid out as mbufs would be (see kSlot), plus a pristine copy to restore them from.
struct FramePool {
  // 64-byte aligned like a mempool; frames are placed at kDataOffset in their slot.
  struct alignas(64) Slot {
    uint8_t bytes[kSlot];
  };
  std::vector<Slot> arena = std::vector<Slot>(kFrames);
  std::vector<Slot> pristine = std::vector<Slot>(kFrames);
  std::vector<uint16_t> lens;

  void add(const Bytes& frame) {
    if (frame.size() > kSlot - kDataOffset || lens.size() == kFrames) std::abort();
    const std::size_t i = lens.size();
    std::memcpy(arena[i].bytes + kDataOffset, frame.data(), frame.size());
    std::memcpy(pristine[i].bytes + kDataOffset, frame.data(), frame.size());
    lens.push_back(static_cast<uint16_t>(frame.size()));
  }
  std::size_t size() const { return lens.size(); }
  uint8_t* frame(std::size_t i) { return arena[i].bytes + kDataOffset; }
  const uint8_t* original(std::size_t i) const { return pristine[i].bytes + kDataOffset; }
  // An HVR rewrites only the reply's bytes (14 + 20/40 + 8 + 45 <= 107): restoring the first
  // kRewritten bytes puts the frame back (hvr_rewrites_only_the_prefix() checks it at setup),
  // and keeps the harness's own cost per frame small next to the classifier's.
  static constexpr std::size_t kRewritten = 128;
  void restore(std::size_t i) {
    std::memcpy(frame(i), original(i), std::min<std::size_t>(lens[i], kRewritten));
  }
  bool restored(std::size_t i) const {
    return std::memcmp(arena[i].bytes + kDataOffset, original(i), lens[i]) == 0;
  }
};

struct Bench {
  Bench()
      : ring(bench_master(), 60, 1'700'000'000), flows(4096), classifier(bench_config(), &flows) {
    for (std::size_t i = 0; i < 16; ++i) {
      const test::UdpFrameSpec s = client(100'000 + i);
      const Bytes src = test::parse_ip(s.src_ip);
      const Bytes dst = test::parse_ip(s.dst_ip);
      flows.insert(
          {src.size() == 4 ? Endpoint::ipv4(src.data(), s.src_port)
                           : Endpoint::ipv6(src.data(), s.src_port),
           dst.size() == 4 ? Endpoint::ipv4(dst.data(), 4433) : Endpoint::ipv6(dst.data(), 4433)});
    }
    const std::size_t clients = kFrames;
    for (std::size_t i = 0; i < clients; ++i) {
      // One OpenSSL client per source: its ClientHello #1, our HVR, its ClientHello #2.
      test::OpenSslHelloClient openssl;
      const test::UdpFrameSpec s = client(i);
      const Bytes hello1 = test::build_udp_frame(s, openssl.first_client_hello());
      Bytes reply = hello1;
      FrameRef ref{reply.data(), static_cast<uint16_t>(reply.size()), 0};
      if (classifier.classify(keys(), ref, nullptr) != Verdict::kReplyHvr) {
        std::fprintf(stderr, "bench setup: no HVR for client %zu\n", i);
        std::abort();
      }
      const std::size_t payload = test::layout_of(s).payload;
      const Bytes hello2 =
          test::build_udp_frame(s, openssl.respond({reply.data() + payload, ref.len - payload}));
      hvr.add(hello1);
      verify.add(hello2);
      if (i == 0) first_hello_payload = hello1.size() - payload;
    }
    add_garbage();
  }

  void add_garbage() {
    test::ClientHelloSpec spec;
    spec.extensions = test::extension(11, Bytes{1, 0});
    const Bytes hello = test::client_hello_record(spec);
    for (std::size_t i = 0; drop.size() < kFrames; ++i) {
      test::UdpFrameSpec s = client(i);
      Bytes f;
      switch (i % 10) {
        case 0:  // another server's address
          s.dst_ip = s.src_ip.find(':') != std::string::npos ? "2001:db8::99" : "192.0.2.99";
          f = test::build_udp_frame(s, hello);
          break;
        case 1: {  // TLS, not DTLS
          Bytes p = hello;
          p[1] = 0x03;
          p[2] = 0x03;
          f = test::build_udp_frame(s, p);
          break;
        }
        case 2:  // short record
          f = test::build_udp_frame(s, Bytes{22, 0xfe, 0xfd, 0, 0});
          break;
        case 3: {  // TCP
          f = test::build_udp_frame(s, hello);
          f[s.src_ip.find(':') != std::string::npos ? 14 + 6 : 14 + 9] = 6;
          test::refresh_checksums(f);
          break;
        }
        case 4:  // bad UDP checksum
          f = test::build_udp_frame(s, hello);
          f.back() ^= 0x5a;
          break;
        case 5:  // application data of no known session
          f = test::build_udp_frame(s, test::dtls_record(23, 0xfefd, 1, 5, Bytes(100, 0xab)));
          break;
        case 6:  // other port
          s.dst_port = 5684;
          f = test::build_udp_frame(s, hello);
          break;
        case 7: {  // record length past the datagram
          Bytes p = hello;
          p[11] = 0x7f;
          f = test::build_udp_frame(s, p);
          break;
        }
        case 8: {  // handshake epoch 1 of no known session
          Bytes p = hello;
          p[4] = 1;
          f = test::build_udp_frame(s, p);
          break;
        }
        case 9: {  // an unknown EtherType (LLDP-like)
          f = test::build_udp_frame(s, hello);
          f[12] = 0x88;
          f[13] = 0xcc;
          break;
        }
      }
      drop.add(f);
    }
  }

  const CookieKeySet& keys() const { return *ring.snapshot(); }

  CookieKeyring ring;
  FlowTable flows;
  Classifier classifier;
  FramePool hvr, verify, drop;
  std::size_t first_hello_payload = 0;
};

Bench& bench() {
  static Bench b;
  return b;
}

enum class Restore { kNo, kYes };

// expected: the verdict every frame must get; nullopt: every frame must be some drop.
void run_bursts(benchmark::State& state, FramePool& pool, Restore restore,
                std::optional<Verdict> expected) {
  Bench& b = bench();
  FrameRef refs[kBurst];
  Verdict verdicts[kBurst];
  PassInfo pass[kBurst];
  VerdictCounters counters;
  std::size_t next = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBurst; ++i) {
      const std::size_t f = next + i;
      if (restore == Restore::kYes) pool.restore(f);
      refs[i] = {pool.frame(f), pool.lens[f], 0};
    }
    b.classifier.classify_burst(b.keys(), refs, kBurst, verdicts, pass, counters);
    benchmark::DoNotOptimize(verdicts);
    next = (next + kBurst) % pool.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
  // A benchmark that silently measured the wrong path would be worse than none.
  if (expected && counters[*expected] != counters.total()) {
    state.SkipWithError("frames did not all get the expected verdict");
  }
  if (!expected) {
    uint64_t drops = 0;
    for (std::size_t v = 0; v < kVerdictCount; ++v) {
      if (is_drop(static_cast<Verdict>(v))) drops += counters.count[v];
    }
    if (drops != counters.total()) state.SkipWithError("a garbage frame was not dropped");
  }
  state.counters["udp_payload_bytes"] = static_cast<double>(b.first_hello_payload);
}

// Classifies every hvr frame once, restores it, and checks it is byte for byte the original:
// the restore in run_bursts then really gives the classifier a fresh ClientHello each time.
bool hvr_rewrites_only_the_prefix(FramePool& pool) {
  Bench& b = bench();
  for (std::size_t f = 0; f < pool.size(); ++f) {
    pool.restore(f);  // the previous repetition left HVRs behind
    if (!pool.restored(f)) return false;
    FrameRef ref{pool.frame(f), pool.lens[f], 0};
    if (b.classifier.classify(b.keys(), ref, nullptr) != Verdict::kReplyHvr) return false;
    if (ref.len > FramePool::kRewritten) return false;
    pool.restore(f);
    if (!pool.restored(f)) return false;
  }
  return true;
}

void BM_Classify_hvr(benchmark::State& state) {
  if (!hvr_rewrites_only_the_prefix(bench().hvr)) {
    state.SkipWithError("an HVR rewrote bytes the restore does not put back");
    return;
  }
  run_bursts(state, bench().hvr, Restore::kYes, Verdict::kReplyHvr);
}

void BM_Classify_verify(benchmark::State& state) {
  run_bursts(state, bench().verify, Restore::kNo, Verdict::kPassVerified);
}

void BM_Classify_drop(benchmark::State& state) {
  run_bursts(state, bench().drop, Restore::kNo, std::nullopt);
}

void BM_Classify_copy_only(benchmark::State& state) {
  FramePool& pool = bench().hvr;
  std::size_t next = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBurst; ++i) pool.restore(next + i);
    benchmark::ClobberMemory();
    next = (next + kBurst) % pool.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
}

const bool kRegistered = [] {
  benchmark::RegisterBenchmark("BM_Classify/hvr", BM_Classify_hvr);
  benchmark::RegisterBenchmark("BM_Classify/verify", BM_Classify_verify);
  benchmark::RegisterBenchmark("BM_Classify/drop", BM_Classify_drop);
  benchmark::RegisterBenchmark("BM_Classify/copy_only", BM_Classify_copy_only);
  return true;
}();

}  // namespace
