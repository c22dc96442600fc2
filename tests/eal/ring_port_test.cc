// The worker loop of build/dpdk_app/dtlsgate on in-process net_ring ports: frames go in
// through the RX ring, replies come out of the TX ring, passes land in the slow-path ring.
// Checks the replies byte by byte, the counters and that every mbuf goes back to the pool.
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/cookie.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/hvr_rate_limiter.h"
#include "dtlsgate/session/server_context.h"
#include "dtlsgate/wire/packet.h"
#include "pass_ring.h"
#include "port.h"
#include "slow_path.h"
#include "support/frame_builder.h"
#include "support/openssl_dtls_client.h"
#include "support/test_certificate.h"
#include "worker.h"

namespace dtlsgate::app {
namespace {

using test::Bytes;

rte_mempool* g_pool = nullptr;

const std::array<uint8_t, 6> kOurMac{0x02, 0, 0, 0, 0, 0x01};
const std::array<uint8_t, 6> kClientMac{0x02, 0, 0, 0, 0, 0x02};

// RFC 1071 written out here, independent of lib/'s checksum code.
uint16_t ones_complement_sum(const uint8_t* p, std::size_t len, uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

bool udp_checksum_ok(const Bytes& f, bool v6) {
  const std::size_t l3 = 14, l4 = l3 + (v6 ? 40 : 20);
  const std::size_t udp_len = f.size() - l4;
  uint32_t pseudo = 0;
  const std::size_t addr_off = v6 ? 8 : 12, addr_len = v6 ? 32 : 8;
  pseudo += ones_complement_sum(&f[l3 + addr_off], addr_len);
  pseudo += 17 + static_cast<uint32_t>(udp_len);
  return ones_complement_sum(&f[l4], udp_len, pseudo) == 0xffff;
}

struct Ports {
  uint16_t port_id = 0;
  rte_ring* rx = nullptr;       // we enqueue what the "NIC" receives
  rte_ring* tx = nullptr;       // what the worker sent (TX queue 0)
  rte_ring* slow_tx = nullptr;  // what the slow-path thread sent (TX queue 1)
  rte_ring* pass = nullptr;     // the slow-path ring (pass_ring.h elements)
};

// A net_ring port set up by the app's own setup_port (1 RX queue, TX queues for the worker and
// the slow path), plus a slow-path ring.
Ports make_ports(unsigned tx_ring_size, unsigned pass_ring_size) {
  static int serial = 0;
  const std::string id = std::to_string(serial++);
  Ports p;
  p.rx = rte_ring_create(("rx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  p.tx = rte_ring_create(("tx" + id).c_str(), tx_ring_size, 0,
                         RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
  p.slow_tx = rte_ring_create(("stx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  p.pass = rte_ring_create_elem(("pass" + id).c_str(), sizeof(PassedDatagram), pass_ring_size, 0,
                                RING_F_SC_DEQ | RING_F_EXACT_SZ);
  EXPECT_TRUE(p.rx && p.tx && p.slow_tx && p.pass);
  rte_ring* tx_rings[] = {p.tx, p.slow_tx};
  const int port = rte_eth_from_rings(("net_ring_t" + id).c_str(), &p.rx, 1, tx_rings, 2, 0);
  EXPECT_GE(port, 0);
  p.port_id = static_cast<uint16_t>(port);
  PortInfo info;
  std::string error;
  EXPECT_TRUE(setup_port(p.port_id, 1, 2, g_pool, &info, &error)) << error;
  return p;
}

class RingPortTest : public ::testing::Test {
 protected:
  void SetUp() override { build(1024, 1024); }

  void build(unsigned tx_ring_size, unsigned pass_ring_size) {
    ports_ = make_ports(tx_ring_size, pass_ring_size);
    ClassifierConfig config;
    config.ipv4 = {{192, 0, 2, 1}};
    std::array<uint8_t, 16> v6{};
    const Bytes ours6 = test::parse_ip("2001:db8::1");
    std::copy(ours6.begin(), ours6.end(), v6.begin());
    config.ipv6 = {v6};
    config.ports = {4433};
    config.mac = kOurMac;
    classifier_ = std::make_unique<Classifier>(config, &flows_);
    counters_ = std::make_unique<QueueCounters>();
    ctx_.queues = {WorkerQueue{ports_.port_id, 0, classifier_.get(), counters_.get()}};
    ctx_.keyring = &keyring_;
    ctx_.pass_rings = {ports_.pass};
    ctx_.stop = &stop_;
    ctx_.ns_per_tsc = 1e9 / static_cast<double>(rte_get_tsc_hz());
  }

  // Gives this worker an HVR rate limiter, wired as main.cc does.
  void limit(const HvrRateLimit& l) {
    limiter_ = std::make_unique<HvrRateLimiter>(l);
    classifier_->set_rate_limiter(limiter_.get());
    ctx_.queues[0].limiter = limiter_.get();
  }

  void TearDown() override {
    // Whatever a test left behind goes back, then the pool must be whole again.
    slow_path_.reset();
    drain(ports_.tx);
    drain(ports_.slow_tx);
    drain_pass(ports_.pass);
    EXPECT_EQ(rte_mempool_in_use_count(g_pool), 0u) << "mbuf leak";
    EXPECT_EQ(counters_->verdicts.total(), counters_->io.rx_packets) << "verdicts must add up";
  }

  void inject(const std::vector<Bytes>& frames) {
    for (const Bytes& f : frames) {
      rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
      ASSERT_NE(m, nullptr);
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
      ASSERT_EQ(rte_ring_enqueue(ports_.rx, m), 0);
    }
  }

  // Runs the loop until the RX ring is empty.
  void run_loop() {
    while (poll_once(ctx_) > 0) {
    }
  }

  static std::vector<Bytes> drain(rte_ring* ring) {
    std::vector<Bytes> out;
    void* obj;
    while (rte_ring_dequeue(ring, &obj) == 0) {
      auto* m = static_cast<rte_mbuf*>(obj);
      const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
      out.emplace_back(d, d + m->data_len);
      rte_pktmbuf_free(m);
    }
    return out;
  }

  // The frames in a slow-path ring, with the verdict and flow the worker put next to each.
  static std::vector<Bytes> drain_pass(rte_ring* ring,
                                       std::vector<PassedDatagram>* meta = nullptr) {
    std::vector<Bytes> out;
    PassedDatagram d;
    while (rte_ring_dequeue_elem(ring, &d, sizeof d) == 0) {
      const auto* data = rte_pktmbuf_mtod(d.mbuf, const uint8_t*);
      out.emplace_back(data, data + d.mbuf->data_len);
      if (meta != nullptr) meta->push_back(d);
      rte_pktmbuf_free(d.mbuf);
    }
    return out;
  }

  // A slow-path thread on this port's second TX queue, fed by the pass ring, as main.cc wires
  // one (the test drives it with poll_once, or lets it run as a thread).
  SlowPath& slow_path() {
    if (!slow_path_) {
      std::string error;
      ServerTlsOptions options;
      options.cipher_list = "DEFAULT:@SECLEVEL=0";
      tls_ = ServerTlsContext::from_memory(cert_.cert, cert_.key, options, &error);
      EXPECT_NE(tls_, nullptr) << error;
      SlowPathConfig sc;
      sc.ring = ports_.pass;
      sc.ports = {SlowPathPort{ports_.port_id, 1, kOurMac}};
      sc.pool = g_pool;
      sc.tls = tls_.get();
      sc.keys = &keyring_;
      sc.flows = &flows_;
      slow_path_ = std::make_unique<SlowPath>(std::move(sc));
    }
    return *slow_path_;
  }

  uint64_t verdict(Verdict v) const { return counters_->verdicts[v]; }

  const CookieKeySet& keys() const { return *keyring_.snapshot(); }

  static MasterSecret fixed_secret() {
    MasterSecret s;
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 7 + 1);
    return s;
  }

  Ports ports_;
  FlowTable flows_{1024};
  CookieKeyring keyring_{fixed_secret(), 30, static_cast<uint64_t>(std::time(nullptr))};
  std::unique_ptr<Classifier> classifier_;
  std::unique_ptr<HvrRateLimiter> limiter_;
  std::unique_ptr<QueueCounters> counters_;
  std::atomic<bool> stop_{false};
  WorkerContext ctx_;
  test::TestCertificate cert_;
  std::unique_ptr<ServerTlsContext> tls_;
  std::unique_ptr<SlowPath> slow_path_;
};

struct HelloCase {
  const char* name;
  std::string client_ip;
  std::string server_ip;
  uint16_t record_version;
  uint16_t client_version;
  uint64_t record_seq;
  Bytes session_id;
};

const HelloCase kHelloCases[] = {
    {"ipv4_dtls12_in_dtls10_record",
     "192.0.2.10",
     "192.0.2.1",
     test::kDtls10,
     test::kDtls12,
     0,
     {}},
    {"ipv4_dtls10", "198.51.100.7", "192.0.2.1", test::kDtls10, test::kDtls10, 3, {}},
    {"ipv6_dtls12_record_fefd",
     "2001:db8::10",
     "2001:db8::1",
     test::kDtls12,
     test::kDtls12,
     0x0000010203040506ull & 0xffffffffffffull,
     {}},
    {"ipv6_with_session_id", "2001:db8::99", "2001:db8::1", test::kDtls10, test::kDtls12, 7,
     Bytes(32, 0xab)},
};

test::UdpFrameSpec spec_for(const HelloCase& c) {
  test::UdpFrameSpec s;
  s.dst_mac = kOurMac;
  s.src_mac = kClientMac;
  s.src_ip = c.client_ip;
  s.dst_ip = c.server_ip;
  s.src_port = 40000;
  s.dst_port = 4433;
  return s;
}

test::ClientHelloSpec hello_for(const HelloCase& c) {
  test::ClientHelloSpec h;
  h.client_version = c.client_version;
  for (std::size_t i = 0; i < h.random.size(); ++i) h.random[i] = static_cast<uint8_t>(i + 1);
  h.session_id = c.session_id;
  return h;
}

using test::endpoint;

// The HVR frame DESIGN.md specifies, built here field by field.
Bytes expected_hvr_frame(const HelloCase& c, const test::ClientHelloSpec& hello,
                         const CookieKeySet& keys) {
  CookieInput in;
  in.client = endpoint(c.client_ip, 40000);
  in.server = endpoint(c.server_ip, 4433);
  in.client_version = hello.client_version;
  in.random = hello.random.data();
  in.session_id = hello.session_id.data();
  in.session_id_len = static_cast<uint8_t>(hello.session_id.size());
  uint8_t cookie[kCookieLen];
  mint_cookie(keys, in, cookie);

  const uint8_t len = kCookieLen;
  Bytes hvr = {0x16, 0xfe, 0xff, 0x00, 0x00};
  for (int shift = 40; shift >= 0; shift -= 8)
    hvr.push_back(static_cast<uint8_t>(c.record_seq >> shift));
  hvr.insert(hvr.end(), {0x00, static_cast<uint8_t>(15 + len), 0x03, 0x00, 0x00,
                         static_cast<uint8_t>(3 + len), 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                         static_cast<uint8_t>(3 + len), 0xfe, 0xff, len});
  hvr.insert(hvr.end(), cookie, cookie + len);

  test::UdpFrameSpec reply;
  reply.dst_mac = kClientMac;
  reply.src_mac = kOurMac;
  reply.src_ip = c.server_ip;
  reply.dst_ip = c.client_ip;
  reply.src_port = 4433;
  reply.dst_port = 40000;
  Bytes frame = test::build_udp_frame(reply, hvr);
  if (c.client_ip.find(':') == std::string::npos) {
    frame[14 + 4] = 0;  // identification 0: DF is set, nothing will reassemble
    frame[14 + 5] = 0;
    test::fix_checksums(reply, frame);
  }
  return frame;
}

TEST_F(RingPortTest, CookielessClientHellosGetTheDesignHvrByteForByte) {
  for (const HelloCase& c : kHelloCases) {
    SCOPED_TRACE(c.name);
    const test::ClientHelloSpec hello = hello_for(c);
    const Bytes request = test::build_udp_frame(
        spec_for(c), test::client_hello_record(hello, c.record_version, c.record_seq));
    inject({request});
    run_loop();
    const std::vector<Bytes> sent = drain(ports_.tx);
    ASSERT_EQ(sent.size(), 1u);
    const Bytes& reply = sent[0];
    EXPECT_EQ(reply, expected_hvr_frame(c, hello, keys()));
    EXPECT_LE(reply.size(), request.size()) << "an HVR must never amplify";
    const bool v6 = c.client_ip.find(':') != std::string::npos;
    if (!v6) {
      EXPECT_EQ(ones_complement_sum(&reply[14], 20), 0xffff) << "IPv4 header checksum";
    }
    EXPECT_TRUE(udp_checksum_ok(reply, v6));
  }
  EXPECT_EQ(verdict(Verdict::kReplyHvr), std::size(kHelloCases));
  EXPECT_EQ(counters_->io.tx_packets, std::size(kHelloCases));
  EXPECT_EQ(counters_->io.rx_packets, std::size(kHelloCases));
}

TEST_F(RingPortTest, ClientHelloWithOurCookieReachesTheSlowPathRingUnchanged) {
  for (const HelloCase& c : kHelloCases) {
    SCOPED_TRACE(c.name);
    test::ClientHelloSpec hello = hello_for(c);
    inject({test::build_udp_frame(
        spec_for(c), test::client_hello_record(hello, c.record_version, c.record_seq))});
    run_loop();
    const std::vector<Bytes> sent = drain(ports_.tx);
    ASSERT_EQ(sent.size(), 1u);
    const Bytes& hvr = sent[0];
    const std::size_t cookie_at = hvr.size() - kCookieLen;
    hello.cookie.assign(hvr.begin() + static_cast<long>(cookie_at), hvr.end());

    const Bytes second = test::build_udp_frame(
        spec_for(c), test::client_hello_record(hello, c.record_version, c.record_seq + 1, 1));
    inject({second});
    run_loop();
    EXPECT_TRUE(drain(ports_.tx).empty()) << "a verified ClientHello gets no reply here";
    std::vector<PassedDatagram> meta;
    const std::vector<Bytes> passed = drain_pass(ports_.pass, &meta);
    ASSERT_EQ(passed.size(), 1u);
    EXPECT_EQ(passed[0], second);
    EXPECT_EQ(meta[0].verdict, Verdict::kPassVerified);
    EXPECT_EQ(meta[0].pass.flow,
              (FlowKey{endpoint(c.client_ip, 40000), endpoint(c.server_ip, 4433)}));
    const std::size_t at = test::layout_of(spec_for(c)).payload;
    EXPECT_EQ(meta[0].pass.payload_offset, at);
    EXPECT_EQ(meta[0].pass.payload_len, second.size() - at);
  }
  EXPECT_EQ(verdict(Verdict::kPassVerified), std::size(kHelloCases));
}

struct MalformedCase {
  const char* name;
  Verdict expected;
  Bytes frame;
};

std::vector<MalformedCase> malformed_cases() {
  const HelloCase& c = kHelloCases[0];
  const test::ClientHelloSpec hello = hello_for(c);
  const test::UdpFrameSpec spec = spec_for(c);
  const Bytes good = test::build_udp_frame(spec, test::client_hello_record(hello));
  const std::size_t payload = test::layout_of(spec).payload;

  std::vector<MalformedCase> cases;
  cases.push_back({"cut inside the IP header", Verdict::kDropTruncated,
                   Bytes(good.begin(), good.begin() + 30)});
  Bytes not_ip = good;
  not_ip[12] = 0x88;
  not_ip[13] = 0xb5;
  cases.push_back({"local experimental EtherType", Verdict::kDropNotIp, not_ip});
  test::UdpFrameSpec other_port = spec;
  other_port.dst_port = 4434;
  cases.push_back({"port we do not serve", Verdict::kDropNotForUs,
                   test::build_udp_frame(other_port, test::client_hello_record(hello))});
  test::UdpFrameSpec other_addr = spec;
  other_addr.dst_ip = "192.0.2.2";
  cases.push_back({"address we do not answer for", Verdict::kDropNotForUs,
                   test::build_udp_frame(other_addr, test::client_hello_record(hello))});
  Bytes bad_sum = good;
  bad_sum[payload + 20] ^= 0x01;  // inside the random: the checksum no longer matches
  cases.push_back({"UDP checksum off by one bit", Verdict::kDropBadUdpChecksum, bad_sum});
  Bytes epoch = good;
  epoch[payload + 4] = 1;
  test::fix_checksums(spec, epoch);
  cases.push_back({"epoch 1 from an unknown 5-tuple", Verdict::kDropNonzeroEpoch, epoch});
  Bytes alert = good;
  alert[payload] = 21;
  test::fix_checksums(spec, alert);
  cases.push_back({"alert record from an unknown 5-tuple", Verdict::kDropNotHandshake, alert});
  // Built in the test body: a forged cookie must carry the live key id to be "bad", not
  // "expired".
  cases.push_back({"cookie that is not ours", Verdict::kDropBadCookie, {}});
  return cases;
}

TEST_F(RingPortTest, MalformedFramesGetNoReplyAndANamedDropCounter) {
  for (MalformedCase& c : malformed_cases()) {
    SCOPED_TRACE(c.name);
    if (c.frame.empty()) {  // the forged cookie needs the live key id
      const HelloCase& hc = kHelloCases[0];
      test::ClientHelloSpec forged = hello_for(hc);
      forged.cookie = Bytes(kCookieLen, 0x5a);
      forged.cookie[0] = keys().keys[0].id;
      c.frame = test::build_udp_frame(spec_for(hc),
                                      test::client_hello_record(forged, test::kDtls10, 1, 1));
    }
    const uint64_t before = verdict(c.expected);
    inject({c.frame});
    run_loop();
    EXPECT_TRUE(drain(ports_.tx).empty());
    EXPECT_TRUE(drain_pass(ports_.pass).empty());
    EXPECT_EQ(verdict(c.expected), before + 1) << verdict_name(c.expected);
  }
  EXPECT_EQ(counters_->io.tx_packets, 0u);
}

TEST_F(RingPortTest, ArpRequestForOurAddressIsAnsweredFromOurMac) {
  Bytes arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0,    0,
               0x02, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,  // request
               0x02, 0,    0,    0,    0,    0x02, 192,  0, 2, 10,          // sender
               0,    0,    0,    0,    0,    0,    192,  0, 2, 1};          // target: us
  arp.resize(60, 0);  // Ethernet minimum with padding
  inject({arp});
  run_loop();
  const std::vector<Bytes> sent = drain(ports_.tx);
  ASSERT_EQ(sent.size(), 1u);
  const Bytes& r = sent[0];
  EXPECT_EQ(Bytes(r.begin(), r.begin() + 12),
            (Bytes{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01}));
  EXPECT_EQ(r[21], 2) << "ARP reply opcode";
  EXPECT_EQ(Bytes(r.begin() + 22, r.begin() + 42),
            (Bytes{0x02, 0, 0, 0, 0, 0x01, 192, 0, 2, 1, 0x02, 0, 0, 0, 0, 0x02, 192, 0, 2, 10}));
  EXPECT_EQ(verdict(Verdict::kReplyArp), 1u);
}

TEST_F(RingPortTest, FullTxQueueIsACountedDropNotAStall) {
  build(/*tx_ring_size=*/4, 1024);
  std::vector<Bytes> burst;
  for (uint16_t i = 0; i < kBurst; ++i) {
    test::UdpFrameSpec s = spec_for(kHelloCases[0]);
    s.src_port = static_cast<uint16_t>(50000 + i);
    burst.push_back(test::build_udp_frame(s, test::client_hello_record(hello_for(kHelloCases[0]))));
  }
  inject(burst);
  run_loop();
  EXPECT_EQ(verdict(Verdict::kReplyHvr), kBurst);
  EXPECT_EQ(counters_->io.tx_packets, 4u);
  EXPECT_EQ(counters_->io.tx_dropped, kBurst - 4u);
  EXPECT_EQ(drain(ports_.tx).size(), 4u);
}

TEST_F(RingPortTest, FullSlowPathRingIsACountedDropNotAStall) {
  build(1024, /*pass_ring_size=*/4);
  const HelloCase& c = kHelloCases[0];
  test::ClientHelloSpec hello = hello_for(c);
  inject({test::build_udp_frame(spec_for(c), test::client_hello_record(hello))});
  run_loop();
  const Bytes hvr = drain(ports_.tx).at(0);
  hello.cookie.assign(hvr.end() - kCookieLen, hvr.end());
  const Bytes second =
      test::build_udp_frame(spec_for(c), test::client_hello_record(hello, test::kDtls10, 1, 1));
  inject(std::vector<Bytes>(10, second));
  run_loop();
  EXPECT_EQ(verdict(Verdict::kPassVerified), 10u);
  EXPECT_EQ(counters_->io.ring_dropped, 6u);
  EXPECT_EQ(drain_pass(ports_.pass).size(), 4u);
}

TEST_F(RingPortTest, PassesReachTheRingOfTheirFlowHashInArrivalOrder) {
  // Three slow-path rings; the third holds only 2 elements, so it refuses some.
  std::vector<rte_ring*> rings = {ports_.pass};
  for (const char* name : {"shard1", "shard2"}) {
    rings.push_back(rte_ring_create_elem(name, sizeof(PassedDatagram), rings.size() == 2 ? 2 : 64,
                                         0, RING_F_SC_DEQ | RING_F_EXACT_SZ));
    ASSERT_NE(rings.back(), nullptr);
  }
  ctx_.pass_rings = rings;
  const HelloCase& c = kHelloCases[0];
  // 12 clients (ports 40000..40011), each verified with its own cookie.
  std::vector<test::ClientHelloSpec> hellos;
  std::vector<test::UdpFrameSpec> specs;
  for (uint16_t k = 0; k < 12; ++k) {
    test::UdpFrameSpec spec = spec_for(c);
    spec.src_port = static_cast<uint16_t>(40000 + k);
    test::ClientHelloSpec hello = hello_for(c);
    inject({test::build_udp_frame(spec, test::client_hello_record(hello))});
    run_loop();
    const Bytes hvr = drain(ports_.tx).at(0);
    hello.cookie.assign(hvr.end() - kCookieLen, hvr.end());
    hellos.push_back(hello);
    specs.push_back(spec);
  }
  // One burst: each client's hello twice (record sequence 1, then 2), with a cookie-less hello
  // and a datagram for another port in between.
  std::vector<Bytes> burst;
  for (uint16_t k = 0; k < 12; ++k)
    burst.push_back(
        test::build_udp_frame(specs[k], test::client_hello_record(hellos[k], test::kDtls10, 1, 1)));
  burst.push_back(test::build_udp_frame(spec_for(c), test::client_hello_record(hello_for(c))));
  test::UdpFrameSpec other_port = spec_for(c);
  other_port.dst_port = 53;
  burst.push_back(test::build_udp_frame(other_port, Bytes(20, 0)));
  for (uint16_t k = 0; k < 12; ++k)
    burst.push_back(
        test::build_udp_frame(specs[k], test::client_hello_record(hellos[k], test::kDtls10, 2, 1)));
  ASSERT_LE(burst.size(), kBurst);
  inject(burst);
  EXPECT_EQ(poll_once(ctx_), burst.size());

  EXPECT_EQ(verdict(Verdict::kPassVerified), 24u);
  EXPECT_EQ(drain(ports_.tx).size(), 1u) << "the cookie-less hello's HVR";
  std::size_t taken = 0;
  std::size_t expected_refused = 0;
  for (std::size_t r = 0; r < rings.size(); ++r) {
    SCOPED_TRACE(r);
    // What this ring should get: the datagrams of the flows that hash to it, in burst order
    // (burst[k] and burst[14 + k] are client k's).
    std::vector<Bytes> expected;
    for (std::size_t at = 0; at < burst.size(); ++at) {
      if (at == 12 || at == 13) continue;
      const std::size_t k = at < 12 ? at : at - 14;
      const FlowKey flow{endpoint(c.client_ip, specs[k].src_port), endpoint(c.server_ip, 4433)};
      if (hash_flow(flow) % rings.size() == r) expected.push_back(burst[at]);
    }
    std::vector<PassedDatagram> meta;
    const std::vector<Bytes> got = drain_pass(rings[r], &meta);
    const std::size_t capacity = r == 2 ? 2 : 64;
    expected_refused += expected.size() > capacity ? expected.size() - capacity : 0;
    if (expected.size() > capacity) expected.resize(capacity);
    EXPECT_EQ(got, expected);
    for (const PassedDatagram& d : meta) {
      EXPECT_EQ(hash_flow(d.pass.flow) % rings.size(), r);
      EXPECT_EQ(d.verdict, Verdict::kPassVerified);
    }
    taken += got.size();
  }
  EXPECT_GT(taken, 0u);
  EXPECT_EQ(counters_->io.ring_dropped, expected_refused);
  EXPECT_EQ(taken + expected_refused, 24u);
  for (std::size_t r = 1; r < rings.size(); ++r) rte_ring_free(rings[r]);
  ctx_.pass_rings = {ports_.pass};
}

TEST_F(RingPortTest, HvrRateCapPerSourcePrefixWithholdsRepliesAsACountedDrop) {
  HvrRateLimit l;
  l.per_prefix_per_second = 1;
  l.per_prefix_burst = 3;
  limit(l);
  std::vector<Bytes> flood;  // 20 ClientHellos from one /24, then one from another /24
  for (uint16_t i = 0; i < 20; ++i) {
    test::UdpFrameSpec s = spec_for(kHelloCases[0]);
    s.src_ip = "203.0.113." + std::to_string(i + 1);
    flood.push_back(test::build_udp_frame(s, test::client_hello_record(hello_for(kHelloCases[0]))));
  }
  test::UdpFrameSpec other = spec_for(kHelloCases[0]);
  other.src_ip = "198.51.100.1";
  flood.push_back(
      test::build_udp_frame(other, test::client_hello_record(hello_for(kHelloCases[0]))));
  inject(flood);
  run_loop();
  const std::vector<Bytes> sent = drain(ports_.tx);
  EXPECT_EQ(sent.size(), verdict(Verdict::kReplyHvr));
  EXPECT_LE(verdict(Verdict::kReplyHvr), 3u + 1u) << "burst of 3 for the flooded /24, 1 other";
  const Bytes quiet = test::parse_ip("198.51.100.1");
  bool quiet_answered = false;
  for (const Bytes& r : sent) quiet_answered |= Bytes(r.begin() + 30, r.begin() + 34) == quiet;
  EXPECT_TRUE(quiet_answered) << "the quiet /24 must still get its HVR";
  EXPECT_EQ(verdict(Verdict::kReplyHvr) + verdict(Verdict::kDropRateLimited), flood.size());
}

TEST_F(RingPortTest, WorkerLcoreLoopAnswersUntilStoppedAndTheSlowPathThreadTakesPasses) {
  const unsigned worker = rte_get_next_lcore(rte_lcore_id(), 1, 0);
  if (worker >= RTE_MAX_LCORE) GTEST_SKIP() << "needs a second lcore (-l 0-1)";
  std::atomic<bool> slow_stop{false};
  slow_path().start_thread(&slow_stop);
  ASSERT_EQ(rte_eal_remote_launch(run_worker, &ctx_, worker), 0);

  const HelloCase& c = kHelloCases[2];
  test::ClientHelloSpec hello = hello_for(c);
  const Bytes first = test::build_udp_frame(spec_for(c), test::client_hello_record(hello));
  inject(std::vector<Bytes>(100, first));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<Bytes> replies;
  while (replies.size() < 100 && std::chrono::steady_clock::now() < deadline) {
    for (Bytes& r : drain(ports_.tx)) replies.push_back(std::move(r));
  }
  ASSERT_EQ(replies.size(), 100u);
  hello.cookie.assign(replies[0].end() - kCookieLen, replies[0].end());
  inject(std::vector<Bytes>(
      50,
      test::build_udp_frame(spec_for(c), test::client_hello_record(hello, test::kDtls10, 1, 1))));
  auto received = [this] {
    return __atomic_load_n(&slow_path().io_counters().slow_path_received, __ATOMIC_RELAXED);
  };
  while (received() < 50 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));

  stop_.store(true);
  EXPECT_EQ(rte_eal_wait_lcore(worker), 0);
  slow_stop.store(true);
  slow_path().join_thread();
  EXPECT_EQ(received(), 50u);
  EXPECT_EQ(verdict(Verdict::kReplyHvr), 100u);
  // The first verified hello publishes the flow: the rest arrive as datagrams of a known flow.
  EXPECT_GE(verdict(Verdict::kPassVerified), 1u);
  EXPECT_EQ(verdict(Verdict::kPassVerified) + verdict(Verdict::kPassFlow), 50u);
  // The factory's hello is no real client's: OpenSSL refuses it, and the next copy tries again.
  const SessionCounters& sc = slow_path().session_counters();
  EXPECT_GE(sc[SessionCounter::kSslObjectsCreated], 1u);
  EXPECT_EQ(sc[SessionCounter::kSslObjectsCreated],
            sc[SessionCounter::kHandshakesFailed] + slow_path().engine().session_count());
}

// ---------------------------------------------------------------------------------------------
// A real OpenSSL client through the ring ports: worker (HVR) and slow path (handshake, echo).

struct ClientCase {
  const char* name;
  std::string client_ip;
  std::string server_ip;
  int version;
  uint16_t mtu;
};

const ClientCase kClientCases[] = {
    {"DTLS 1.2 over IPv4", "192.0.2.10", "192.0.2.1", DTLS1_2_VERSION, 1400},
    {"DTLS 1.2 over IPv6", "2001:db8::10", "2001:db8::1", DTLS1_2_VERSION, 1400},
    {"DTLS 1.0 over IPv4", "198.51.100.7", "192.0.2.1", DTLS1_VERSION, 1400},
    {"DTLS 1.2 over IPv6, client MTU 500", "2001:db8::99", "2001:db8::1", DTLS1_2_VERSION, 500},
};

TEST_F(RingPortTest, OpenSslClientCompletesAHandshakeThroughTheRingPortsAndGetsItsEcho) {
  uint64_t now_us = SlowPath::monotonic_us();
  uint16_t client_port = 41000;
  for (const ClientCase& c : kClientCases) {
    SCOPED_TRACE(c.name);
    test::DtlsClientOptions options;
    options.version = c.version;
    options.cipher_list = "DEFAULT:@SECLEVEL=0";
    options.mtu = c.mtu;
    test::OpenSslDtlsClient client(options);
    test::UdpFrameSpec up;
    up.dst_mac = kOurMac;
    up.src_mac = kClientMac;
    up.src_ip = c.client_ip;
    up.dst_ip = c.server_ip;
    up.src_port = ++client_port;
    up.dst_port = 4433;
    const bool v6 = c.client_ip.find(':') != std::string::npos;
    const uint64_t created_before =
        slow_path().session_counters()[SessionCounter::kSslObjectsCreated];

    std::size_t hvrs = 0, from_slow_path = 0;
    // Moves datagrams both ways until neither side has more to say (bounded).
    auto pump = [&] {
      for (int round = 0; round < 32; ++round) {
        const std::vector<std::vector<uint8_t>> out = client.take_output();
        std::vector<Bytes> frames;
        for (const auto& d : out) frames.push_back(test::build_udp_frame(up, d));
        inject(frames);
        run_loop();
        slow_path().poll_once(now_us);
        std::vector<Bytes> down = drain(ports_.tx);
        hvrs += down.size();
        for (Bytes& f : drain(ports_.slow_tx)) {
          ++from_slow_path;
          down.push_back(std::move(f));
        }
        if (out.empty() && down.empty()) return;
        for (const Bytes& f : down) {
          EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), Bytes(kClientMac.begin(), kClientMac.end()))
              << "to the MAC the session's first verified frame came from";
          EXPECT_EQ(Bytes(f.begin() + 6, f.begin() + 12), Bytes(kOurMac.begin(), kOurMac.end()));
          if (!v6) {
            EXPECT_EQ(ones_complement_sum(&f[14], 20), 0xffff) << "IPv4 header checksum";
          }
          EXPECT_TRUE(udp_checksum_ok(f, v6));
          FrameView view;
          Verdict drop;
          ASSERT_TRUE(parse_l2_l3(f.data(), static_cast<uint16_t>(f.size()), &view, &drop));
          ASSERT_TRUE(parse_udp(f.data(), &view, &drop));
          EXPECT_EQ(source_endpoint(f.data(), view), endpoint(c.server_ip, 4433));
          EXPECT_EQ(destination_endpoint(f.data(), view), endpoint(c.client_ip, up.src_port));
          EXPECT_LE(view.payload_len, 1400u) << "the server's MTU";
          client.receive(std::span<const uint8_t>(f.data() + view.payload, view.payload_len));
        }
      }
      ADD_FAILURE() << "pump did not settle";
    };

    client.start();
    pump();
    ASSERT_TRUE(client.handshake_done());
    EXPECT_EQ(hvrs, 1u) << "the worker answered the cookie-less hello";
    EXPECT_GE(from_slow_path, 1u) << "the server flight came from the slow path's TX queue";
    EXPECT_EQ(slow_path().session_counters()[SessionCounter::kSslObjectsCreated],
              created_before + 1);
    EXPECT_TRUE(
        flows_.contains(FlowKey{endpoint(c.client_ip, up.src_port), endpoint(c.server_ip, 4433)}));

    const std::string line = std::string("echo through the rings: ") + c.name;
    ASSERT_TRUE(client.send(line));
    pump();
    ASSERT_FALSE(client.received().empty());
    EXPECT_EQ(client.received().back(), line);

    client.close();
    pump();
    EXPECT_FALSE(
        flows_.contains(FlowKey{endpoint(c.client_ip, up.src_port), endpoint(c.server_ip, 4433)}))
        << "close_notify ends the session and unpublishes the flow";
    now_us += 1000;
  }
  const SessionCounters& sc = slow_path().session_counters();
  EXPECT_EQ(sc[SessionCounter::kHandshakesCompleted], std::size(kClientCases));
  EXPECT_EQ(sc[SessionCounter::kSessionsClosedByPeer], std::size(kClientCases));
  EXPECT_EQ(sc[SessionCounter::kSessionsOpen], 0u);
  EXPECT_EQ(slow_path().remembered_peers(), 0u) << "peer MACs are forgotten with their sessions";
  EXPECT_EQ(slow_path().io_counters().slow_tx_unroutable, 0u);
  EXPECT_EQ(slow_path().io_counters().slow_tx_dropped, 0u);
}

}  // namespace
}  // namespace dtlsgate::app

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* eal_args[] = {"ring_port_test", "-l",          "0-1",
                            "--no-huge",      "-m",          "512",
                            "--no-pci",       "--no-shconf", "--no-telemetry",
                            "--log-level",    "*:warning"};
  if (rte_eal_init(static_cast<int>(std::size(eal_args)), const_cast<char**>(eal_args)) < 0) {
    std::fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  std::string error;
  dtlsgate::app::g_pool = dtlsgate::app::create_mbuf_pool("test_mbufs", 0, {4, 1, 2, 4096}, &error);
  if (dtlsgate::app::g_pool == nullptr) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
