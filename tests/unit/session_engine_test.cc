// The slow path as a specification: real OpenSSL clients talk through the fast-path classifier
// (every datagram wrapped in Ethernet/IP/UDP) to the session engine, all over byte buffers.
#include "dtlsgate/session/session_engine.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/session/echo_handler.h"
#include "support/frame_builder.h"
#include "support/gateway.h"
#include "support/openssl_dtls_client.h"
#include "support/test_certificate.h"

namespace dtlsgate {
namespace {

using test::Bytes;
using test::OpenSslDtlsClient;

constexpr uint16_t kServerPort = 4433;
constexpr uint64_t kUnixT0 = 1'700'000'000;
constexpr uint64_t kRotationSeconds = 60;
const std::string kDtls10Ciphers = "DEFAULT:@SECLEVEL=0";

struct Peer {
  std::string client_ip = "192.0.2.10";
  uint16_t client_port = 50000;
  std::string server_ip = "192.0.2.1";
};

Endpoint endpoint_of(const std::string& ip, uint16_t port) {
  const Bytes a = test::parse_ip(ip);
  return a.size() == 4 ? Endpoint::ipv4(a.data(), port) : Endpoint::ipv6(a.data(), port);
}

FlowKey flow_of(const Peer& p) {
  return FlowKey{endpoint_of(p.client_ip, p.client_port), endpoint_of(p.server_ip, kServerPort)};
}

test::UdpFrameSpec frame_spec_of(const Peer& p) {
  test::UdpFrameSpec spec;
  spec.src_ip = p.client_ip;
  spec.dst_ip = p.server_ip;
  spec.src_port = p.client_port;
  spec.dst_port = kServerPort;
  return spec;
}

ClassifierConfig classifier_config() {
  ClassifierConfig c;
  std::array<uint8_t, 4> v4;
  const Bytes a4 = test::parse_ip("192.0.2.1");
  std::copy(a4.begin(), a4.end(), v4.begin());
  c.ipv4.push_back(v4);
  std::array<uint8_t, 16> v6;
  const Bytes a6 = test::parse_ip("2001:db8::1");
  std::copy(a6.begin(), a6.end(), v6.begin());
  c.ipv6.push_back(v6);
  c.ports = {kServerPort};
  c.mac = {0x02, 0, 0, 0, 0, 0x01};
  return c;
}

MasterSecret test_secret() {
  MasterSecret s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 7 + 1);
  return s;
}

// test::Gateway (the fast and slow path joined as dpdk_app joins them) with this spec's
// world: its addresses, secret and clock, a verdict count, and the datagrams sent to each peer.
class Gateway : public test::Gateway {
 public:
  explicit Gateway(SessionEngineConfig config = {}, ServerTlsOptions tls_options = {})
      : test::Gateway(setup(config, tls_options)) {
    EXPECT_NE(tls, nullptr) << tls_error;
    now_us = 5'000'000;
  }

  // One datagram from a client: framed, classified, then answered in place (HVR) or handed to
  // the engine. Returns the fast-path verdict.
  Verdict from_client(const Peer& peer, std::span<const uint8_t> payload) {
    Bytes hvr;
    PassInfo pass;
    const Verdict v = test::Gateway::from_client(frame_spec_of(peer), payload, &hvr, &pass);
    verdicts.add(v);
    if (v == Verdict::kReplyHvr) {
      pending.emplace_back(flow_of(peer), std::move(hvr));
    } else if (v == Verdict::kPassVerified || v == Verdict::kPassFlow) {
      EXPECT_EQ(pass.flow, flow_of(peer));
    }
    return v;
  }

  // Everything the gateway has sent to this client since the last call, in order.
  std::vector<Bytes> to_client(const Peer& peer) {
    for (OutgoingDatagram& d : engine->take_output()) {
      pending.emplace_back(d.flow, std::move(d.payload));
    }
    std::vector<Bytes> out;
    std::vector<std::pair<FlowKey, Bytes>> rest;
    const FlowKey flow = flow_of(peer);
    for (auto& [f, bytes] : pending) {
      if (f == flow) {
        out.push_back(std::move(bytes));
      } else {
        rest.emplace_back(f, std::move(bytes));
      }
    }
    pending.swap(rest);
    return out;
  }

  uint64_t counter(SessionCounter c) const { return engine->counters()[c]; }

  VerdictCounters verdicts;
  std::vector<std::pair<FlowKey, Bytes>> pending;

 private:
  static test::GatewaySetup setup(SessionEngineConfig config, ServerTlsOptions tls_options) {
    test::GatewaySetup s;
    s.secret = test_secret();
    s.rotation_seconds = kRotationSeconds;
    s.unix_seconds = kUnixT0;
    s.flow_capacity = 1024;
    s.classifier = classifier_config();
    s.engine = config;
    s.tls = std::move(tls_options);
    return s;
  }
};

struct LinkFaults {
  std::function<bool(std::size_t)> drop_to_server = [](std::size_t) { return false; };
  std::function<bool(std::size_t)> drop_to_client = [](std::size_t) { return false; };
  bool reverse_batches = false;  // deliver each burst of datagrams in reverse order
};

struct PumpStats {
  std::size_t to_server = 0;
  std::size_t to_client = 0;
};

// Moves datagrams both ways until neither side has anything more to say (bounded rounds).
PumpStats pump(Gateway& gw, OpenSslDtlsClient& client, const Peer& peer,
               const LinkFaults& faults = {}, PumpStats stats = {}) {
  for (int round = 0; round < 64; ++round) {
    std::vector<Bytes> up = client.take_output();
    std::vector<Bytes> down = gw.to_client(peer);
    if (up.empty() && down.empty()) return stats;
    if (faults.reverse_batches) {
      std::reverse(up.begin(), up.end());
      std::reverse(down.begin(), down.end());
    }
    for (const Bytes& d : up) {
      if (!faults.drop_to_server(stats.to_server++)) gw.from_client(peer, d);
    }
    for (const Bytes& d : down) {
      if (!faults.drop_to_client(stats.to_client++)) client.receive(d);
    }
  }
  ADD_FAILURE() << "pump did not settle";
  return stats;
}

// Round one of the cookie exchange: the client's first flight up, the HVR back down.
void hvr_round_trip(Gateway& gw, OpenSslDtlsClient& client, const Peer& peer) {
  for (const Bytes& d : client.take_output()) gw.from_client(peer, d);
  for (const Bytes& d : gw.to_client(peer)) client.receive(d);
}

void expect_echo(Gateway& gw, OpenSslDtlsClient& client, const Peer& peer,
                 const std::string& text) {
  ASSERT_TRUE(client.send(text));
  pump(gw, client, peer);
  ASSERT_FALSE(client.received().empty());
  EXPECT_EQ(client.received().back(), text);
}

// ---------------------------------------------------------------------------------------------
// Handshake and echo for each protocol version and address family.

struct VersionCase {
  const char* name;
  int version;
  const char* expected_version;
  std::string client_ip;
  std::string server_ip;
};

class HandshakeTest : public ::testing::TestWithParam<VersionCase> {};

TEST_P(HandshakeTest, CompletesThroughTheFastPathAndEchoes) {
  const VersionCase& c = GetParam();
  const bool dtls10 = c.version == DTLS1_VERSION;
  ServerTlsOptions tls_options;
  if (dtls10) tls_options.cipher_list = kDtls10Ciphers;
  Gateway gw({}, tls_options);
  test::DtlsClientOptions options;
  options.version = c.version;
  if (dtls10) options.cipher_list = kDtls10Ciphers;
  OpenSslDtlsClient client(options);
  const Peer peer{c.client_ip, 50001, c.server_ip};

  client.start();
  pump(gw, client, peer);

  ASSERT_TRUE(client.handshake_done());
  EXPECT_FALSE(client.failed());
  EXPECT_EQ(client.negotiated_version(), c.expected_version);
  EXPECT_TRUE(gw.engine->is_established(flow_of(peer)));
  EXPECT_TRUE(gw.flows.contains(flow_of(peer)));
  EXPECT_EQ(gw.verdicts[Verdict::kReplyHvr], 1u);
  EXPECT_EQ(gw.verdicts[Verdict::kPassVerified], 1u);
  EXPECT_GE(gw.verdicts[Verdict::kPassFlow], 1u);  // the client's second flight
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 1u);
  EXPECT_EQ(gw.counter(SessionCounter::kHandshakesCompleted), 1u);
  EXPECT_EQ(gw.counter(SessionCounter::kSessionsOpen), 1u);

  const std::string text = "hello through dtlsgate";
  expect_echo(gw, client, peer, text);
  EXPECT_EQ(gw.counter(SessionCounter::kBytesIn), text.size());
  EXPECT_EQ(gw.counter(SessionCounter::kBytesOut), text.size());
}

INSTANTIATE_TEST_SUITE_P(
    VersionsAndFamilies, HandshakeTest,
    ::testing::Values(
        VersionCase{"Dtls12Ipv4", DTLS1_2_VERSION, "DTLSv1.2", "192.0.2.10", "192.0.2.1"},
        VersionCase{"Dtls12Ipv6", DTLS1_2_VERSION, "DTLSv1.2", "2001:db8::10", "2001:db8::1"},
        VersionCase{"Dtls10Ipv4", DTLS1_VERSION, "DTLSv1", "192.0.2.10", "192.0.2.1"},
        VersionCase{"Dtls10Ipv6", DTLS1_VERSION, "DTLSv1", "2001:db8::10", "2001:db8::1"}),
    [](const ::testing::TestParamInfo<VersionCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Datagram boundaries and the MTU.

TEST(SessionEngineMtu, ServerFlightLeavesAsSeparateDatagramsWithinTheMtu) {
  for (const uint16_t mtu : {uint16_t{1400}, uint16_t{600}, uint16_t{400}}) {
    SCOPED_TRACE(mtu);
    SessionEngineConfig config;
    config.mtu = mtu;
    Gateway gw(config);
    test::DtlsClientOptions options;
    options.mtu = mtu;
    OpenSslDtlsClient client(options);
    const Peer peer;
    client.start();
    // HVR round trip, then the cookie-bearing hello.
    hvr_round_trip(gw, client, peer);
    for (const Bytes& d : client.take_output()) gw.from_client(peer, d);

    const std::vector<Bytes> flight = gw.to_client(peer);
    // OpenSSL packs several records into one datagram up to the MTU it asked our BIO for; a
    // datagram must hold whole records only and never exceed the MTU.
    std::size_t handshake_records = 0;
    for (const Bytes& d : flight) {
      EXPECT_LE(d.size(), mtu);
      std::size_t at = 0;
      while (at + 13 <= d.size()) {
        EXPECT_EQ(d[at], 22);  // handshake content type
        at += 13 + (std::size_t{d[at + 11]} << 8 | d[at + 12]);
        ++handshake_records;
      }
      EXPECT_EQ(at, d.size()) << "a record crosses a datagram boundary";
    }
    // ServerHello, Certificate, ServerKeyExchange, ServerHelloDone at least.
    EXPECT_GE(handshake_records, 4u);
    if (mtu == 400) {
      EXPECT_GE(flight.size(), 2u);  // the certificate alone needs ~400 bytes
    }
    for (const Bytes& d : flight) client.receive(d);
    pump(gw, client, peer);
    EXPECT_TRUE(client.handshake_done());
  }
}

TEST(SessionEngineMtu, MtuOutsideWhatOpenSslCanPackIsRefused) {
  test::TestCertificate cert;
  std::string error;
  auto tls = ServerTlsContext::from_memory(cert.cert, cert.key, {}, &error);
  ASSERT_NE(tls, nullptr) << error;
  CookieKeyring keyring(test_secret(), kRotationSeconds, kUnixT0);
  EchoHandler echo;
  for (const uint16_t mtu : {uint16_t{255}, uint16_t{4097}, uint16_t{9000}}) {
    SessionEngineConfig config;
    config.mtu = mtu;
    EXPECT_THROW(SessionEngine(*tls, keyring, nullptr, echo, config), std::invalid_argument) << mtu;
  }
}

// ---------------------------------------------------------------------------------------------
// Loss, reordering, rotation.

TEST(SessionEngineLoss, FirstHelloVerifyRequestLostClientRetransmits) {
  Gateway gw;
  test::DtlsClientOptions options;
  options.initial_retransmit_us = 40'000;
  OpenSslDtlsClient client(options);
  const Peer peer;
  client.start();
  LinkFaults faults;
  faults.drop_to_client = [](std::size_t i) { return i == 0; };  // the first HVR
  PumpStats stats = pump(gw, client, peer, faults);
  EXPECT_FALSE(client.handshake_done());
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 0u);

  // The client's timer runs on OpenSSL's wall clock.
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(client.handle_timeout(), 1);
  pump(gw, client, peer, faults, stats);

  EXPECT_TRUE(client.handshake_done());
  EXPECT_EQ(gw.verdicts[Verdict::kReplyHvr], 2u);
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 1u);
  expect_echo(gw, client, peer, "after a lost HVR");
}

// (msg_type, message_seq) of every plaintext handshake record in the datagrams, in order.
std::vector<std::pair<uint8_t, uint16_t>> handshake_messages(const std::vector<Bytes>& datagrams) {
  std::vector<std::pair<uint8_t, uint16_t>> messages;
  for (const Bytes& d : datagrams) {
    std::size_t at = 0;
    while (at + 13 + 12 <= d.size()) {
      const std::size_t len = std::size_t{d[at + 11]} << 8 | d[at + 12];
      const bool epoch0 = d[at + 3] == 0 && d[at + 4] == 0;
      if (d[at] == 22 && epoch0) {
        messages.emplace_back(d[at + 13],
                              static_cast<uint16_t>(d[at + 13 + 4] << 8 | d[at + 13 + 5]));
      }
      at += 13 + len;
    }
  }
  return messages;
}

TEST(SessionEngineLoss, LostServerFlightIsRetransmittedWhenTheClockPassesTheTimeout) {
  SessionEngineConfig config;
  config.initial_retransmit_us = 50'000;
  Gateway gw(config);
  OpenSslDtlsClient client;
  const Peer peer;
  client.start();
  hvr_round_trip(gw, client, peer);                                     // CH1 -> HVR
  for (const Bytes& d : client.take_output()) gw.from_client(peer, d);  // CH2 -> flight
  const auto lost = handshake_messages(gw.to_client(peer));             // the whole flight is lost
  ASSERT_GE(lost.size(), 4u);

  const std::optional<uint64_t> deadline = gw.engine->next_deadline();
  ASSERT_TRUE(deadline.has_value());
  EXPECT_LE(*deadline, gw.now_us + 50'000);
  // Before the deadline nothing is resent.
  gw.engine->on_timer(gw.now_us);
  EXPECT_TRUE(gw.to_client(peer).empty());
  EXPECT_EQ(gw.counter(SessionCounter::kRetransmissions), 0u);

  // OpenSSL 3.0 checks its own timer against the wall clock: let that much real time pass too.
  std::this_thread::sleep_for(std::chrono::milliseconds(70));
  gw.now_us = *deadline;
  gw.engine->on_timer(gw.now_us);
  EXPECT_EQ(gw.counter(SessionCounter::kRetransmissions), 1u);
  const std::vector<Bytes> resent = gw.to_client(peer);
  // The same handshake messages again (in records with new sequence numbers).
  EXPECT_EQ(handshake_messages(resent), lost);
  for (const Bytes& d : resent) EXPECT_LE(d.size(), 1400u);
  for (const Bytes& d : resent) client.receive(d);
  pump(gw, client, peer);

  EXPECT_TRUE(client.handshake_done());
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 1u);
  expect_echo(gw, client, peer, "after a lost flight");
}

TEST(SessionEngineLoss, ReorderedDatagramsBothWays) {
  Gateway gw;
  OpenSslDtlsClient client;
  const Peer peer;
  client.start();
  LinkFaults faults;
  faults.reverse_batches = true;
  pump(gw, client, peer, faults);
  ASSERT_TRUE(client.handshake_done());
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 1u);
  EXPECT_EQ(gw.counter(SessionCounter::kHandshakesCompleted), 1u);
  expect_echo(gw, client, peer, "reordered");
}

TEST(SessionEngineCookies, KeyRotationBetweenHvrAndSecondHelloIsAccepted) {
  Gateway gw;
  OpenSslDtlsClient client;
  const Peer peer;
  client.start();
  hvr_round_trip(gw, client, peer);
  // The fast path and OpenSSL's verify callback (called in listen and again in accept) must
  // both accept a cookie minted under the previous epoch's key.
  ASSERT_TRUE(gw.keyring.update(kUnixT0 + kRotationSeconds));
  pump(gw, client, peer);
  ASSERT_TRUE(client.handshake_done());
  EXPECT_EQ(gw.verdicts[Verdict::kPassVerified], 1u);
  EXPECT_EQ(gw.counter(SessionCounter::kHandshakesCompleted), 1u);
  expect_echo(gw, client, peer, "across a rotation");
}

TEST(SessionEngineCookies, TwoRotationsLaterTheCookieIsExpiredAndNoSslObjectIsMade) {
  Gateway gw;
  OpenSslDtlsClient client;
  const Peer peer;
  client.start();
  hvr_round_trip(gw, client, peer);
  ASSERT_TRUE(gw.keyring.update(kUnixT0 + 2 * kRotationSeconds));
  for (const Bytes& d : client.take_output()) {
    EXPECT_EQ(gw.from_client(peer, d), Verdict::kDropExpiredCookie);
  }
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 0u);
}

// ---------------------------------------------------------------------------------------------
// Exactly one SSL object per verified client, none otherwise.

// The cookie-bearing ClientHello of a fresh client, taken off the wire after one HVR.
Bytes second_client_hello(Gateway& gw, const Peer& peer) {
  OpenSslDtlsClient client;
  client.start();
  hvr_round_trip(gw, client, peer);
  std::vector<Bytes> out = client.take_output();
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? Bytes{} : out.front();
}

TEST(SessionEngineAdmission, OneSslObjectPerVerifiedClientEvenWhenItsHelloRepeats) {
  Gateway gw;
  std::vector<std::unique_ptr<OpenSslDtlsClient>> clients;
  for (uint16_t port : {40001, 40002, 40003}) {
    const Peer peer{"192.0.2.10", port, "192.0.2.1"};
    auto client = std::make_unique<OpenSslDtlsClient>();
    client->start();
    for (const Bytes& d : client->take_output()) gw.from_client(peer, d);
    for (const Bytes& d : gw.to_client(peer)) client->receive(d);
    const std::vector<Bytes> hello2 = client->take_output();
    ASSERT_EQ(hello2.size(), 1u);
    // The cookie-bearing hello arrives three times (client retransmission, network dup).
    EXPECT_EQ(gw.from_client(peer, hello2[0]), Verdict::kPassVerified);
    EXPECT_EQ(gw.from_client(peer, hello2[0]), Verdict::kPassFlow);
    EXPECT_EQ(gw.from_client(peer, hello2[0]), Verdict::kPassFlow);
    for (const Bytes& d : gw.to_client(peer)) client->receive(d);
    pump(gw, *client, peer);
    EXPECT_TRUE(client->handshake_done());
    clients.push_back(std::move(client));
  }
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 3u);
  EXPECT_EQ(gw.counter(SessionCounter::kHandshakesCompleted), 3u);
  EXPECT_EQ(gw.counter(SessionCounter::kSessionsOpen), 3u);
  EXPECT_EQ(gw.engine->session_count(), 3u);
}

TEST(SessionEngineAdmission, RepeatedHellosOnAHandshakeInProgressAreKeptFromOpenSsl) {
  Gateway gw;
  const Peer peer;
  const Bytes hello2 = second_client_hello(gw, peer);
  EXPECT_EQ(gw.from_client(peer, hello2), Verdict::kPassVerified);
  for (int copy = 0; copy < 5; ++copy) EXPECT_EQ(gw.from_client(peer, hello2), Verdict::kPassFlow);
  EXPECT_EQ(gw.counter(SessionCounter::kHelloOnSession), 5u);
  EXPECT_EQ(gw.counter(SessionCounter::kHandshakesFailed), 0u);
  EXPECT_EQ(gw.engine->half_open_count(), 1u);  // the handshake is still waiting, not failed
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 1u);
}

// A valid cookie-bearing hello replayed from its own 5-tuple after its session ended (here by
// a handshake timeout; the same holds after a close or a failure): the fast path verifies the
// cookie again, the engine remembers the hello and makes no second SSL object.
TEST(SessionEngineAdmission, HelloReplayedAfterItsSessionEndedMakesNoSecondSslObject) {
  SessionEngineConfig config;
  config.handshake_timeout_us = 2'000'000;
  Gateway gw(config);
  const Peer peer;
  const Bytes hello2 = second_client_hello(gw, peer);
  EXPECT_EQ(gw.from_client(peer, hello2), Verdict::kPassVerified);
  gw.engine->on_timer(gw.now_us + 2'000'000);
  ASSERT_EQ(gw.counter(SessionCounter::kHandshakesTimedOut), 1u);
  ASSERT_FALSE(gw.flows.contains(flow_of(peer)));
  for (int copy = 0; copy < 3; ++copy) {
    EXPECT_EQ(gw.from_client(peer, hello2), Verdict::kPassVerified);
  }
  EXPECT_EQ(gw.counter(SessionCounter::kHelloReplayed), 3u);
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 1u);
  EXPECT_EQ(gw.engine->session_count(), 0u);
  EXPECT_FALSE(gw.flows.contains(flow_of(peer)));

  // A new connection from the same 5-tuple (new random, new cookie) is a new client.
  gw.to_client(peer);  // what the ended session sent, not for the new client
  const Bytes fresh = second_client_hello(gw, peer);
  EXPECT_EQ(gw.from_client(peer, fresh), Verdict::kPassVerified);
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 2u);
}

TEST(SessionEngineAdmission, NoSslObjectForHellosWithoutAValidCookieFromTheirAddress) {
  Gateway gw;
  const Peer alice{"192.0.2.10", 41000, "192.0.2.1"};
  const Bytes alice_hello2 = second_client_hello(gw, alice);
  ASSERT_FALSE(alice_hello2.empty());

  Bytes forged = alice_hello2;
  // Cookie sits after record(13) + handshake(12) + version(2) + random(32) + sid len(1) + sid
  // and its length byte; the last cookie byte is a tag byte.
  const std::size_t sid_len = forged[13 + 12 + 2 + 32];
  const std::size_t cookie_len_at = 13 + 12 + 2 + 32 + 1 + sid_len;
  const std::size_t cookie_len = forged[cookie_len_at];
  ASSERT_EQ(cookie_len, kCookieLen);
  forged[cookie_len_at + cookie_len] ^= 0x01;

  struct Case {
    const char* what;
    Peer from;
    Bytes payload;
    Verdict expected;
  };
  OpenSslDtlsClient fresh;
  fresh.start();
  const Bytes cookieless = fresh.take_output().at(0);
  const std::vector<Case> cases = {
      {"cookie-less hello", Peer{"192.0.2.20", 42000, "192.0.2.1"}, cookieless, Verdict::kReplyHvr},
      {"forged cookie", alice, forged, Verdict::kDropBadCookie},
      {"replayed from another port", Peer{"192.0.2.10", 41001, "192.0.2.1"}, alice_hello2,
       Verdict::kDropBadCookie},
      {"replayed from another address", Peer{"192.0.2.99", 41000, "192.0.2.1"}, alice_hello2,
       Verdict::kDropBadCookie},
      {"replayed over IPv6", Peer{"2001:db8::10", 41000, "2001:db8::1"}, alice_hello2,
       Verdict::kDropBadCookie},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(gw.from_client(c.from, c.payload), c.expected);
  }
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 0u);
  EXPECT_EQ(gw.engine->session_count(), 0u);
  EXPECT_EQ(gw.flows.size(), 0u);
}

TEST(SessionEngineAdmission, NonHelloFromAnUnknownFlowStaysAFastPathDrop) {
  Gateway gw;
  OpenSslDtlsClient client;
  const Peer peer;
  client.start();
  pump(gw, client, peer);
  ASSERT_TRUE(client.handshake_done());
  ASSERT_TRUE(client.send("application data"));
  const std::vector<Bytes> records = client.take_output();
  ASSERT_EQ(records.size(), 1u);
  // The same encrypted record from a 5-tuple without a session.
  const Peer stranger{"192.0.2.10", 50999, "192.0.2.1"};
  EXPECT_TRUE(is_drop(gw.from_client(stranger, records[0])));
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 1u);
}

TEST(SessionEngineAdmission, HelloWithMessageSeqOtherThanOneIsCountedAndNotGivenToOpenSsl) {
  Gateway gw;
  const Peer peer;
  Bytes hello2 = second_client_hello(gw, peer);
  ASSERT_GE(hello2.size(), 25u);
  for (const uint16_t seq : {uint16_t{0}, uint16_t{2}}) {
    Bytes altered = hello2;
    altered[13 + 4] = static_cast<uint8_t>(seq >> 8);
    altered[13 + 5] = static_cast<uint8_t>(seq);
    // Straight to the engine: the classifier drops these itself (kDropHelloSeq); the engine
    // must not rely on that.
    gw.engine->on_datagram(Verdict::kPassVerified, flow_of(peer), altered, gw.now_us);
  }
  EXPECT_EQ(gw.counter(SessionCounter::kHelloSeqRejected), 2u);
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 0u);
  EXPECT_FALSE(gw.flows.contains(flow_of(peer)));
}

TEST(SessionEngineAdmission, AtMaxSessionsAVerifiedHelloIsRefusedAndCounted) {
  SessionEngineConfig config;
  config.max_sessions = 1;
  Gateway gw(config);
  const Peer first{"192.0.2.10", 43001, "192.0.2.1"};
  const Peer second{"192.0.2.10", 43002, "192.0.2.1"};
  OpenSslDtlsClient a;
  a.start();
  pump(gw, a, first);
  ASSERT_TRUE(a.handshake_done());

  const Bytes hello2 = second_client_hello(gw, second);
  EXPECT_EQ(gw.from_client(second, hello2), Verdict::kPassVerified);
  EXPECT_EQ(gw.counter(SessionCounter::kSessionsRefusedMax), 1u);
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 1u);
  EXPECT_FALSE(gw.flows.contains(flow_of(second)));
  EXPECT_TRUE(gw.to_client(second).empty());
}

TEST(SessionEngineAdmission, AtMaxHalfOpenAVerifiedHelloIsRefusedUntilAHandshakeCompletes) {
  SessionEngineConfig config;
  config.max_half_open = 1;
  Gateway gw(config);
  const Peer first{"192.0.2.10", 44001, "192.0.2.1"};
  const Peer second{"192.0.2.11", 44002, "192.0.2.1"};
  const Peer third{"192.0.2.12", 44003, "192.0.2.1"};

  // first: its verified hello makes an SSL object, the handshake stays in progress.
  OpenSslDtlsClient a;
  a.start();
  for (const Bytes& d : a.take_output()) gw.from_client(first, d);
  for (const Bytes& d : gw.to_client(first)) a.receive(d);
  const std::vector<Bytes> a_hello2 = a.take_output();
  ASSERT_EQ(a_hello2.size(), 1u);
  EXPECT_EQ(gw.from_client(first, a_hello2[0]), Verdict::kPassVerified);
  EXPECT_EQ(gw.engine->half_open_count(), 1u);

  EXPECT_EQ(gw.from_client(second, second_client_hello(gw, second)), Verdict::kPassVerified);
  EXPECT_EQ(gw.counter(SessionCounter::kSessionsRefusedHalfOpen), 1u);
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 1u);
  EXPECT_FALSE(gw.flows.contains(flow_of(second)));

  for (const Bytes& d : gw.to_client(first)) a.receive(d);
  pump(gw, a, first);
  ASSERT_TRUE(a.handshake_done());
  EXPECT_EQ(gw.engine->half_open_count(), 0u);
  OpenSslDtlsClient c;
  c.start();
  pump(gw, c, third);
  EXPECT_TRUE(c.handshake_done()) << "a completed handshake frees its half-open slot";
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 2u);
}

TEST(SessionEngineAdmission, OneClientAddressHoldsAtMostMaxSessionsPerSource) {
  SessionEngineConfig config;
  config.max_sessions_per_source = 2;
  Gateway gw(config);
  struct Case {
    Peer peer;
    bool admitted;
  };
  const Case cases[] = {
      {{"192.0.2.10", 45001, "192.0.2.1"}, true},     {{"192.0.2.10", 45002, "192.0.2.1"}, true},
      {{"192.0.2.10", 45003, "192.0.2.1"}, false},  // third port of the same address
      {{"192.0.2.20", 45003, "192.0.2.1"}, true},   // another address
      {{"2001:db8::10", 45001, "2001:db8::1"}, true},
  };
  std::vector<std::unique_ptr<OpenSslDtlsClient>> clients;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.peer.client_ip + ":" + std::to_string(c.peer.client_port));
    auto client = std::make_unique<OpenSslDtlsClient>();
    client->start();
    pump(gw, *client, c.peer);
    EXPECT_EQ(client->handshake_done(), c.admitted);
    EXPECT_EQ(gw.flows.contains(flow_of(c.peer)), c.admitted);
    clients.push_back(std::move(client));
  }
  EXPECT_EQ(gw.counter(SessionCounter::kSessionsRefusedPerSource), 1u);
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 4u);

  // A closed session gives its address a slot back.
  clients[0]->close();
  pump(gw, *clients[0], cases[0].peer);
  OpenSslDtlsClient again;
  again.start();
  pump(gw, again, Peer{"192.0.2.10", 45004, "192.0.2.1"});
  EXPECT_TRUE(again.handshake_done());
}

// ---------------------------------------------------------------------------------------------
// Flow table publication, timeouts, close.

TEST(SessionEngineLifecycle, FlowIsPublishedAtSslCreationAndRemovedOnHandshakeTimeout) {
  SessionEngineConfig config;
  config.handshake_timeout_us = 2'000'000;
  Gateway gw(config);
  const Peer peer;
  const Bytes hello2 = second_client_hello(gw, peer);
  EXPECT_EQ(gw.from_client(peer, hello2), Verdict::kPassVerified);
  EXPECT_TRUE(gw.flows.contains(flow_of(peer)));  // before the handshake is done
  EXPECT_FALSE(gw.engine->is_established(flow_of(peer)));

  gw.engine->on_timer(gw.now_us + 1'999'999);
  EXPECT_EQ(gw.counter(SessionCounter::kHandshakesTimedOut), 0u);
  gw.engine->on_timer(gw.now_us + 2'000'000);
  EXPECT_EQ(gw.counter(SessionCounter::kHandshakesTimedOut), 1u);
  EXPECT_FALSE(gw.flows.contains(flow_of(peer)));
  EXPECT_EQ(gw.engine->session_count(), 0u);
  EXPECT_FALSE(gw.engine->next_deadline().has_value());
}

TEST(SessionEngineLifecycle, IdleSessionIsClosedWithCloseNotify) {
  SessionEngineConfig config;
  config.idle_timeout_us = 30'000'000;
  Gateway gw(config);
  OpenSslDtlsClient client;
  const Peer peer;
  client.start();
  pump(gw, client, peer);
  ASSERT_TRUE(client.handshake_done());
  expect_echo(gw, client, peer, "then silence");

  gw.engine->on_timer(gw.now_us + 29'000'000);
  EXPECT_EQ(gw.counter(SessionCounter::kSessionsIdleTimedOut), 0u);
  gw.engine->on_timer(gw.now_us + 30'000'000);
  EXPECT_EQ(gw.counter(SessionCounter::kSessionsIdleTimedOut), 1u);
  EXPECT_EQ(gw.counter(SessionCounter::kSessionsOpen), 0u);
  EXPECT_FALSE(gw.flows.contains(flow_of(peer)));
  for (const Bytes& d : gw.to_client(peer)) client.receive(d);
  EXPECT_TRUE(client.peer_closed());
}

TEST(SessionEngineLifecycle, ClientCloseNotifyIsAnsweredAndTheFlowRemoved) {
  Gateway gw;
  OpenSslDtlsClient client;
  const Peer peer;
  client.start();
  pump(gw, client, peer);
  ASSERT_TRUE(client.handshake_done());
  ASSERT_TRUE(client.send("late"));
  const std::vector<Bytes> late = client.take_output();  // held back until after the close
  client.close();
  pump(gw, client, peer);
  EXPECT_EQ(gw.counter(SessionCounter::kSessionsClosedByPeer), 1u);
  EXPECT_EQ(gw.counter(SessionCounter::kSessionsOpen), 0u);
  EXPECT_FALSE(gw.flows.contains(flow_of(peer)));
  EXPECT_TRUE(client.peer_closed());
  // A late datagram of the closed flow: a fast-path matter again, no new SSL object.
  for (const Bytes& d : late) EXPECT_TRUE(is_drop(gw.from_client(peer, d)));
  EXPECT_EQ(gw.counter(SessionCounter::kSslObjectsCreated), 1u);
}

TEST(SessionEngineLifecycle, TamperedRecordIsDiscardedAndTheSessionLivesOn) {
  Gateway gw;
  OpenSslDtlsClient client;
  const Peer peer;
  client.start();
  pump(gw, client, peer);
  ASSERT_TRUE(client.handshake_done());
  ASSERT_TRUE(client.send("tampered"));
  std::vector<Bytes> records = client.take_output();
  ASSERT_EQ(records.size(), 1u);
  records[0].back() ^= 0x80;  // breaks the record's MAC/tag
  EXPECT_EQ(gw.from_client(peer, records[0]), Verdict::kPassFlow);
  EXPECT_TRUE(gw.to_client(peer).empty());  // RFC 6347 4.1.2.7: invalid records are dropped
  EXPECT_TRUE(gw.engine->is_established(flow_of(peer)));
  expect_echo(gw, client, peer, "still here");
}

TEST(SessionEngineLifecycle, EngineDestructionUnpublishesItsFlows) {
  Gateway gw;
  OpenSslDtlsClient client;
  const Peer peer;
  client.start();
  pump(gw, client, peer);
  ASSERT_TRUE(gw.flows.contains(flow_of(peer)));
  gw.engine.reset();
  EXPECT_FALSE(gw.flows.contains(flow_of(peer)));
}

// ---------------------------------------------------------------------------------------------
// Certificate loading.

TEST(ServerTlsContextTest, LoadsPemFilesAndReportsBadPaths) {
  test::TestCertificate cert;
  char dir_template[] = "/tmp/dtlsgate-session-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string cert_path = dir + "/cert.pem";
  const std::string key_path = dir + "/key.pem";
  std::ofstream(cert_path) << cert.cert_pem();
  std::ofstream(key_path) << cert.key_pem();

  std::string error;
  EXPECT_NE(ServerTlsContext::from_pem_files(cert_path, key_path, {}, &error), nullptr) << error;
  EXPECT_EQ(ServerTlsContext::from_pem_files(dir + "/missing.pem", key_path, {}, &error), nullptr);
  EXPECT_NE(error.find("missing.pem"), std::string::npos) << error;
  test::TestCertificate other;
  const std::string other_key = dir + "/other-key.pem";
  std::ofstream(other_key) << other.key_pem();
  EXPECT_EQ(ServerTlsContext::from_pem_files(cert_path, other_key, {}, &error), nullptr);

  std::remove(cert_path.c_str());
  std::remove(key_path.c_str());
  std::remove(other_key.c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace dtlsgate
