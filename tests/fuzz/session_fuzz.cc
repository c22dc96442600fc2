// libFuzzer: the slow-path SessionEngine fed arbitrary datagrams (issue 5, fuzzing).
//
// At start-up one real OpenSSL client completes a DTLS 1.2 handshake with the engine in
// process (cookie exchange through the fast-path classifier, as dpdk_app joins them). Each
// input is then a sequence of chunks, each `mode(1) | length(2, big-endian) | bytes`:
//   mode % 4 == 0  the bytes as a datagram of the established session (kPassFlow)
//   mode % 4 == 1  the bytes as a cookie-verified hello on the established 5-tuple
//   mode % 4 == 2  the bytes as a cookie-verified hello from a fresh 5-tuple; if they parse as
//                  a ClientHello with a cookie of our length, the cookie is re-minted for that
//                  tuple first, so mutated hellos get past the cookie check into SSL_accept
//   mode % 4 == 3  the bytes as a kPassFlow datagram of the last fresh 5-tuple
// Everything the engine sends is discarded. Between inputs the engine clock moves past the
// handshake timeout, so half-open sessions from fresh tuples do not pile up; if an input killed
// the established session, the next input starts with a new handshake.
//
// SESSION_FUZZ_WRITE_SEEDS=DIR writes seed inputs made of the real client's own datagrams.
#include <openssl/ssl.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/cookie.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/session/echo_handler.h"
#include "dtlsgate/session/session_engine.h"
#include "dtlsgate/wire/client_hello.h"
#include "support/frame_builder.h"
#include "support/gateway.h"
#include "support/openssl_dtls_client.h"
#include "support/test_certificate.h"

namespace dtlsgate {
namespace {

using test::Bytes;

constexpr uint64_t kUnixT0 = 1'700'000'000;
constexpr uint16_t kServerPort = 4433;
constexpr uint64_t kHandshakeTimeoutUs = 1'000'000;

Endpoint v4(const char* ip, uint16_t port) {
  const Bytes a = test::parse_ip(ip);
  return Endpoint::ipv4(a.data(), port);
}

test::UdpFrameSpec frame_spec(const FlowKey& flow) {
  test::UdpFrameSpec spec;
  spec.src_ip = "192.0.2.10";
  spec.dst_ip = "192.0.2.1";
  spec.src_port = flow.client.port;
  spec.dst_port = flow.server.port;
  return spec;
}

void fail(const char* what) {
  std::fprintf(stderr, "session-fuzz: %s\n", what);
  std::abort();
}

class Harness : public test::Gateway {
 public:
  Harness() : test::Gateway(setup()) {
    if (tls == nullptr) fail(tls_error.c_str());
    now_us = 1'000'000;
    establish();
  }

  // One real handshake on `established`; keeps the client's datagrams for the seeds.
  void establish() {
    client = std::make_unique<test::OpenSslDtlsClient>();
    client_datagrams.clear();
    client->start();
    for (int round = 0; round < 32 && !client->handshake_done(); ++round) {
      std::vector<Bytes> up = client->take_output();
      if (up.empty()) break;
      for (const Bytes& d : up) {
        client_datagrams.push_back(d);
        Bytes hvr;
        if (from_client(frame_spec(established), d, &hvr) == Verdict::kReplyHvr) {
          client->receive(hvr);
        }
      }
      for (OutgoingDatagram& out : engine->take_output()) client->receive(out.payload);
    }
    engine->take_output();
    if (!client->handshake_done() || !engine->is_established(established)) {
      fail("the in-process handshake did not complete");
    }
    client->send("seed application data");
    for (const Bytes& d : client->take_output()) client_datagrams.push_back(d);
  }

  // Re-mints the cookie of a parseable ClientHello for `flow`, in place.
  void remint_cookie(Bytes& payload, const FlowKey& flow) const {
    ClientHelloView hello;
    Verdict drop;
    if (payload.size() > UINT16_MAX ||
        !parse_client_hello(payload.data(), static_cast<uint16_t>(payload.size()), &hello, &drop) ||
        hello.cookie_len != kCookieLen) {
      return;
    }
    CookieInput in;
    in.client = flow.client;
    in.server = flow.server;
    in.client_version = hello.client_version;
    in.random = payload.data() + hello.random;
    in.session_id = payload.data() + hello.session_id;
    in.session_id_len = hello.session_id_len;
    uint8_t cookie[kCookieLen];
    mint_cookie(*keyring.snapshot(), in, cookie);
    std::memcpy(payload.data() + hello.cookie, cookie, kCookieLen);
  }

  void run(const uint8_t* data, std::size_t size) {
    if (!engine->is_established(established)) establish();
    FlowKey fresh = established;
    std::size_t at = 0;
    while (at + 3 <= size) {
      const uint8_t mode = data[at] % 4;
      const std::size_t len =
          std::min<std::size_t>(data[at + 1] << 8 | data[at + 2], size - at - 3);
      Bytes payload(data + at + 3, data + at + 3 + len);
      at += 3 + len;
      switch (mode) {
        case 0:
          engine->on_datagram(Verdict::kPassFlow, established, payload, now_us);
          break;
        case 1:
          engine->on_datagram(Verdict::kPassVerified, established, payload, now_us);
          break;
        case 2:
          fresh.client.port = next_port++;
          if (next_port == 0) next_port = 20000;
          remint_cookie(payload, fresh);
          engine->on_datagram(Verdict::kPassVerified, fresh, payload, now_us);
          break;
        default:
          engine->on_datagram(Verdict::kPassFlow, fresh, payload, now_us);
          break;
      }
      engine->take_output();
      now_us += 1000;
    }
    // Past every half-open session's handshake deadline: they go, the established one stays.
    now_us += 2 * kHandshakeTimeoutUs;
    engine->on_timer(now_us);
    engine->take_output();
  }

  static test::GatewaySetup setup() {
    test::GatewaySetup s;
    for (std::size_t i = 0; i < s.secret.size(); ++i) {
      s.secret[i] = static_cast<uint8_t>(i * 13 + 5);
    }
    s.rotation_seconds = 60;
    s.unix_seconds = kUnixT0;
    s.flow_capacity = 4096;
    s.classifier.ipv4.push_back({192, 0, 2, 1});
    s.classifier.ports = {kServerPort};
    s.classifier.mac = {0x02, 0, 0, 0, 0, 0x01};
    s.engine.handshake_timeout_us = kHandshakeTimeoutUs;
    s.engine.idle_timeout_us = uint64_t{1} << 60;  // the established session must not idle out
    s.engine.max_sessions = 64;
    return s;
  }

  const FlowKey established{v4("192.0.2.10", 50000), v4("192.0.2.1", kServerPort)};
  uint16_t next_port = 20000;
  std::unique_ptr<test::OpenSslDtlsClient> client;
  std::vector<Bytes> client_datagrams;  // CH1, CH2, client flight 2..., application data
};

Harness* harness = nullptr;

void write_seed(const std::string& dir, const std::string& name,
                const std::vector<std::pair<uint8_t, Bytes>>& chunks) {
  Bytes input;
  for (const auto& [mode, bytes] : chunks) {
    input.push_back(mode);
    input.push_back(static_cast<uint8_t>(bytes.size() >> 8));
    input.push_back(static_cast<uint8_t>(bytes.size()));
    input.insert(input.end(), bytes.begin(), bytes.end());
  }
  FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
  if (f == nullptr) fail("cannot write a seed");
  std::fwrite(input.data(), 1, input.size(), f);
  std::fclose(f);
}

void write_seeds(const std::string& dir) {
  const std::vector<Bytes>& d = harness->client_datagrams;
  if (d.size() < 4) fail("fewer client datagrams than a handshake has");
  write_seed(dir, "appdata", {{0, d.back()}});
  write_seed(dir, "hello-fresh-tuple", {{2, d[1]}});
  write_seed(dir, "hello-then-flight", {{2, d[1]}, {3, d[2]}});
  write_seed(dir, "hello-on-established", {{1, d[1]}});
  std::vector<std::pair<uint8_t, Bytes>> replay;
  for (std::size_t i = 1; i < d.size(); ++i) replay.emplace_back(0, d[i]);
  write_seed(dir, "replay-whole-client-side", replay);
}

}  // namespace
}  // namespace dtlsgate

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dtlsgate::harness = new dtlsgate::Harness();
  if (const char* dir = std::getenv("SESSION_FUZZ_WRITE_SEEDS")) dtlsgate::write_seeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dtlsgate::harness->run(data, size);
  return 0;
}
