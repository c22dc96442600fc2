// dtlsgate takes the decision OpenSSL's DTLSv1_listen takes, on what real clients send.
//
// Every test starts from a real ClientHello written by OpenSSL or GnuTLS (tests/support/
// client_hello_factory.h), wraps it in an Ethernet/IP/UDP frame to one of our addresses, and
// compares dtlsgate's Classifier with DTLSv1_listen run on the same UDP payload:
//   - the HelloVerifyRequest dtlsgate writes is the one listen writes, byte for byte, when
//     listen's cookie callback hands out the cookie dtlsgate minted;
//   - the client accepts dtlsgate's HVR, and its second ClientHello passes dtlsgate only from
//     the same 5-tuple and while the cookie's key epoch is current or previous;
//   - on malformed variants of the real ClientHello, both drop (or, where DESIGN.md makes
//     dtlsgate stricter on purpose, the table says so and checks both sides).
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <tuple>

#include "dtlsgate/bytes.h"
#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "support/client_hello_factory.h"
#include "support/frame_builder.h"

namespace dtlsgate::test {

struct Network {
  std::string name;
  std::string client;
  std::string other_client;
  std::string server;
  std::string other_server;  // also ours
};

void PrintTo(const Network& n, std::ostream* os) {
  *os << n.name;
}
void PrintTo(const ClientKind& k, std::ostream* os) {
  *os << k.name();
}

namespace {

const Network kIpv4{"ipv4", "192.0.2.10", "192.0.2.99", "192.0.2.1", "192.0.2.2"};
const Network kIpv6{"ipv6", "2001:db8::10", "2001:db8::99", "2001:db8::1", "2001:db8::2"};

constexpr uint16_t kClientPort = 50000;
constexpr uint16_t kServerPort = 4433;
constexpr uint64_t kStartSeconds = 1'800'000'000;
constexpr uint64_t kRotationSeconds = 60;
constexpr MasterSecret kMaster{0x6d, 0x61, 0x73, 0x74, 0x65, 0x72, 0x20, 0x73, 0x65, 0x63, 0x72,
                               0x65, 0x74, 0x20, 0x66, 0x6f, 0x72, 0x20, 0x64, 0x69, 0x66, 0x66,
                               0x65, 0x72, 0x65, 0x6e, 0x74, 0x69, 0x61, 0x6c, 0x21, 0x0a};

// Offsets in a datagram holding one DTLS record with one unfragmented handshake message.
namespace at {
constexpr std::size_t kContentType = 0;
constexpr std::size_t kRecordVersion = 1;
constexpr std::size_t kEpoch = 3;
constexpr std::size_t kRecordSeq = 5;
constexpr std::size_t kRecordLength = 11;
constexpr std::size_t kMsgType = 13;
constexpr std::size_t kMsgLength = 14;
constexpr std::size_t kMessageSeq = 17;
constexpr std::size_t kFragmentOffset = 19;
constexpr std::size_t kFragmentLength = 22;
constexpr std::size_t kBody = 25;
// HelloVerifyRequest body
constexpr std::size_t kServerVersion = kBody;
constexpr std::size_t kCookieLength = kBody + 2;
constexpr std::size_t kCookie = kBody + 3;
}  // namespace at

// The HVR field a byte belongs to, for failure messages (DESIGN.md's layout).
std::string hvr_field(std::size_t offset) {
  if (offset < at::kRecordVersion) return "content type";
  if (offset < at::kEpoch) return "record version";
  if (offset < at::kRecordSeq) return "epoch";
  if (offset < at::kRecordLength) return "record sequence";
  if (offset < at::kMsgType) return "record length";
  if (offset < at::kMsgLength) return "handshake type";
  if (offset < at::kMessageSeq) return "message length";
  if (offset < at::kFragmentOffset) return "message_seq";
  if (offset < at::kFragmentLength) return "fragment offset";
  if (offset < at::kServerVersion) return "fragment length";
  if (offset < at::kCookieLength) return "server_version";
  if (offset < at::kCookie) return "cookie length";
  return "cookie";
}

std::string hex(std::span<const uint8_t> bytes) {
  std::string out;
  char buf[4];
  for (uint8_t b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

// "offset 12 (record length): dtlsgate 20, OpenSSL 21" for each differing byte.
std::string describe_hvr_difference(const Bytes& ours, const Bytes& openssl) {
  std::string out = "dtlsgate HVR  " + hex(ours) + "\nDTLSv1_listen " + hex(openssl) + "\n";
  if (ours.size() != openssl.size()) {
    out += "lengths differ: dtlsgate " + std::to_string(ours.size()) + ", OpenSSL " +
           std::to_string(openssl.size()) + "\n";
  }
  for (std::size_t i = 0; i < std::min(ours.size(), openssl.size()); ++i) {
    if (ours[i] == openssl[i]) continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, "offset %zu (%s): dtlsgate %02x, OpenSSL %02x\n", i,
                  hvr_field(i).c_str(), ours[i], openssl[i]);
    out += buf;
  }
  return out;
}

// The fields of a ClientHello datagram a cookie exchange depends on.
struct HelloFields {
  uint64_t record_seq = 0;
  uint16_t message_seq = 0;
  uint16_t client_version = 0;
  Bytes random;
  Bytes session_id;
  Bytes cookie;
};

std::optional<HelloFields> parse_hello(const Bytes& d) {
  const std::size_t sid_len_at = at::kBody + 2 + 32;
  if (d.size() < sid_len_at + 1 || d[at::kContentType] != kContentHandshake ||
      d[at::kMsgType] != kClientHello) {
    return std::nullopt;
  }
  HelloFields f;
  f.record_seq = load_be48(&d[at::kRecordSeq]);
  f.message_seq = load_be16(&d[at::kMessageSeq]);
  f.client_version = load_be16(&d[at::kBody]);
  f.random.assign(d.begin() + at::kBody + 2, d.begin() + sid_len_at);
  const std::size_t sid_len = d[sid_len_at];
  const std::size_t cookie_len_at = sid_len_at + 1 + sid_len;
  if (d.size() < cookie_len_at + 1 || d.size() < cookie_len_at + 1 + d[cookie_len_at]) {
    return std::nullopt;
  }
  f.session_id.assign(d.begin() + sid_len_at + 1, d.begin() + cookie_len_at);
  f.cookie.assign(d.begin() + cookie_len_at + 1, d.begin() + cookie_len_at + 1 + d[cookie_len_at]);
  return f;
}

// Where the extensions block length of a well-formed ClientHello datagram is, if it has one.
std::optional<std::size_t> extensions_length_offset(const Bytes& d) {
  std::size_t at = at::kBody + 2 + 32;
  auto skip_prefixed = [&](std::size_t prefix_len) {
    if (at + prefix_len > d.size()) return false;
    const std::size_t len = prefix_len == 1 ? d[at] : load_be16(&d[at]);
    at += prefix_len + len;
    return at <= d.size();
  };
  if (!skip_prefixed(1) || !skip_prefixed(1) || !skip_prefixed(2) || !skip_prefixed(1)) {
    return std::nullopt;  // session_id, cookie, cipher suites, compression methods
  }
  if (at + 2 > d.size()) return std::nullopt;
  return at;
}

// Where the cookie of a ClientHello datagram starts (after its length byte).
std::optional<std::size_t> cookie_offset(const Bytes& d) {
  const std::size_t sid_len_at = at::kBody + 2 + 32;
  if (d.size() <= sid_len_at) return std::nullopt;
  const std::size_t cookie_len_at = sid_len_at + 1 + d[sid_len_at];
  if (d.size() <= cookie_len_at + d[cookie_len_at]) return std::nullopt;
  return cookie_len_at + 1;
}

// The cookie bytes of an HVR payload (as many as it announces and holds).
Bytes hvr_cookie(const Bytes& hvr) {
  if (hvr.size() <= at::kCookie) return {};
  const std::size_t len = std::min<std::size_t>(hvr[at::kCookieLength], hvr.size() - at::kCookie);
  return Bytes(hvr.begin() + at::kCookie, hvr.begin() + at::kCookie + len);
}

ClassifierConfig config_for_both_families() {
  ClassifierConfig config;
  for (const std::string& ip : {kIpv4.server, kIpv4.other_server}) {
    const Bytes a = parse_ip(ip);
    config.ipv4.push_back({a[0], a[1], a[2], a[3]});
  }
  for (const std::string& ip : {kIpv6.server, kIpv6.other_server}) {
    const Bytes a = parse_ip(ip);
    std::array<uint8_t, 16> v6{};
    std::copy(a.begin(), a.end(), v6.begin());
    config.ipv6.push_back(v6);
  }
  config.ports = {kServerPort};
  config.mac = UdpFrameSpec{}.dst_mac;
  return config;
}

// dtlsgate's decision on one frame, and the frame afterwards (the reply, for kReply*).
struct Decision {
  Verdict verdict = Verdict::kDropTruncated;
  Bytes frame;
  PassInfo pass;
};

// A cookie exchange between a real client and dtlsgate.
struct Exchange {
  Bytes first_hello;
  Bytes hvr;  // dtlsgate's, UDP payload
  Bytes second_hello;
};

class DifferentialTest : public testing::TestWithParam<std::tuple<ClientKind, Network>> {
 protected:
  DifferentialTest()
      : flows_(64),
        classifier_(config_for_both_families(), &flows_),
        keyring_(kMaster, kRotationSeconds, kStartSeconds) {}

  ClientKind kind() const { return std::get<0>(GetParam()); }
  const Network& net() const { return std::get<1>(GetParam()); }
  const CookieKeySet& keys() const { return *keyring_.snapshot(); }

  UdpFrameSpec client_to_us() const {
    UdpFrameSpec spec;
    spec.src_ip = net().client;
    spec.dst_ip = net().server;
    spec.src_port = kClientPort;
    spec.dst_port = kServerPort;
    return spec;
  }

  // classify() on one frame, checked against classify_burst() on a copy of it: the workers take
  // the burst path (MACs interleaved), so both must decide alike.
  Decision classify(const UdpFrameSpec& spec, const Bytes& payload,
                    const CookieKeySet& keys) const {
    Decision d;
    d.frame = build_udp_frame(spec, payload);
    FrameRef ref{d.frame.data(), static_cast<uint16_t>(d.frame.size())};
    d.verdict = classifier_.classify(keys, ref, &d.pass);
    d.frame.resize(ref.len);
    const std::vector<Decision> burst = classify_burst({{spec, payload}}, keys);
    expect_same_decision(d, burst.front());
    return d;
  }

  struct Input {
    UdpFrameSpec spec;
    Bytes payload;
  };
  std::vector<Decision> classify_burst(const std::vector<Input>& inputs,
                                       const CookieKeySet& keys) const {
    std::vector<Decision> out(inputs.size());
    std::vector<FrameRef> refs(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      out[i].frame = build_udp_frame(inputs[i].spec, inputs[i].payload);
      refs[i] = FrameRef{out[i].frame.data(), static_cast<uint16_t>(out[i].frame.size())};
    }
    std::vector<Verdict> verdicts(inputs.size());
    std::vector<PassInfo> pass(inputs.size());
    VerdictCounters counters;
    classifier_.classify_burst(keys, refs.data(), refs.size(), verdicts.data(), pass.data(),
                               counters);
    EXPECT_EQ(counters.total(), inputs.size()) << "one verdict counted per frame";
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      out[i].verdict = verdicts[i];
      out[i].pass = pass[i];
      out[i].frame.resize(refs[i].len);
    }
    return out;
  }

  static void expect_same_decision(const Decision& single, const Decision& burst) {
    EXPECT_EQ(verdict_name(burst.verdict), verdict_name(single.verdict)) << "burst vs single";
    EXPECT_EQ(hex(burst.frame), hex(single.frame)) << "burst vs single: frame afterwards";
    if (single.verdict == Verdict::kPassVerified || single.verdict == Verdict::kPassFlow) {
      EXPECT_EQ(burst.pass.flow, single.pass.flow) << "burst vs single";
      EXPECT_EQ(burst.pass.payload_offset, single.pass.payload_offset) << "burst vs single";
      EXPECT_EQ(burst.pass.payload_len, single.pass.payload_len) << "burst vs single";
    }
  }

  // The frames of a table, one by one and then all in one burst (twice over, so the burst
  // crosses the classifier's batch size): each frame's decision must not depend on its
  // neighbours.
  void expect_burst_decides_as_one_by_one(const std::vector<Input>& inputs,
                                          const std::vector<Decision>& singles,
                                          const CookieKeySet& keys) const {
    std::vector<Input> twice = inputs;
    twice.insert(twice.end(), inputs.begin(), inputs.end());
    const std::vector<Decision> burst = classify_burst(twice, keys);
    for (std::size_t i = 0; i < twice.size(); ++i) {
      SCOPED_TRACE("burst position " + std::to_string(i));
      expect_same_decision(singles[i % singles.size()], burst[i]);
    }
  }

  // The UDP payload of dtlsgate's reply to a frame built from `request` (same layer sizes).
  // Checks on the way that the reply goes back where the request came from.
  Bytes reply_payload(const UdpFrameSpec& request, const Bytes& reply) const {
    const FrameLayout l = layout_of(request);
    if (reply.size() < l.payload) {
      ADD_FAILURE() << "reply frame of " << reply.size() << " bytes has no UDP payload";
      return {};
    }
    EXPECT_TRUE(std::equal(request.src_mac.begin(), request.src_mac.end(), reply.begin()))
        << "reply not sent to the client's MAC";
    const Bytes client = parse_ip(request.src_ip);
    const Bytes server = parse_ip(request.dst_ip);
    const std::size_t src_at = l.l3 + (client.size() == 4 ? 12 : 8);
    const std::size_t dst_at = src_at + client.size();
    EXPECT_EQ(hex({&reply[src_at], server.size()}), hex(server)) << "reply source address";
    EXPECT_EQ(hex({&reply[dst_at], client.size()}), hex(client)) << "reply destination address";
    EXPECT_EQ(load_be16(&reply[l.l4]), request.dst_port) << "reply source port";
    EXPECT_EQ(load_be16(&reply[l.l4 + 2]), request.src_port) << "reply destination port";
    const std::size_t udp_len = load_be16(&reply[l.l4 + 4]);
    if (udp_len < 8 || l.l4 + udp_len > reply.size()) {
      ADD_FAILURE() << "reply UDP length " << udp_len << " does not fit its frame";
      return {};
    }
    return Bytes(reply.begin() + static_cast<std::ptrdiff_t>(l.payload),
                 reply.begin() + static_cast<std::ptrdiff_t>(l.l4 + udp_len));
  }

  // Runs the client through ClientHello #1 -> dtlsgate's HVR -> ClientHello #2. Test failures
  // on the way are recorded; nullopt if the exchange could not go on.
  std::optional<Exchange> exchange_cookie_with_dtlsgate() {
    std::string error;
    std::unique_ptr<DtlsClient> client = make_client(kind(), &error);
    if (client == nullptr) {
      ADD_FAILURE() << error;
      return std::nullopt;
    }
    Exchange ex;
    std::vector<Datagram> sent = client->start();
    if (sent.size() != 1) {
      ADD_FAILURE() << "the client's first flight is " << sent.size()
                    << " datagrams, not one ClientHello: " << client->last_error();
      return std::nullopt;
    }
    ex.first_hello = sent.front();
    const Decision first = classify(client_to_us(), ex.first_hello, keys());
    if (first.verdict != Verdict::kReplyHvr) {
      ADD_FAILURE() << "ClientHello #1 " << hex(ex.first_hello) << " got "
                    << verdict_name(first.verdict) << ", not hvr_sent";
      return std::nullopt;
    }
    ex.hvr = reply_payload(client_to_us(), first.frame);
    sent = client->feed(ex.hvr);
    if (sent.size() != 1) {
      ADD_FAILURE() << "the client answered dtlsgate's HVR " << hex(ex.hvr) << " with "
                    << sent.size() << " datagrams, not one ClientHello: " << client->last_error();
      return std::nullopt;
    }
    ex.second_hello = sent.front();
    return ex;
  }

  FlowTable flows_;
  Classifier classifier_;
  CookieKeyring keyring_;
};

TEST_P(DifferentialTest, HvrIsTheOneDtlsv1ListenWritesWithOurCookie) {
  std::string error;
  std::unique_ptr<DtlsClient> client = make_client(kind(), &error);
  ASSERT_NE(client, nullptr) << error;
  const std::vector<Datagram> sent = client->start();
  ASSERT_EQ(sent.size(), 1u) << client->last_error();
  const Bytes& hello = sent.front();
  const std::optional<HelloFields> fields = parse_hello(hello);
  ASSERT_TRUE(fields) << "not a ClientHello: " << hex(hello);
  EXPECT_TRUE(fields->cookie.empty());

  const Decision ours = classify(client_to_us(), hello, keys());
  ASSERT_EQ(verdict_name(ours.verdict), verdict_name(Verdict::kReplyHvr));
  const Bytes hvr = reply_payload(client_to_us(), ours.frame);
  ASSERT_GT(hvr.size(), at::kCookieLength) << hex(hvr);
  EXPECT_EQ(hvr[at::kCookieLength], kCookieLen);
  EXPECT_EQ(hvr.size(), at::kCookie + kCookieLen);

  // Listen's cookie callback returns dtlsgate's cookie, so every byte must match.
  const ListenResult reference = openssl_listen(hello, hvr_cookie(hvr));
  ASSERT_EQ(reference.error, "");
  EXPECT_EQ(reference.ret, 0);
  ASSERT_FALSE(reference.written.empty()) << "DTLSv1_listen wrote no HVR for " << hex(hello);
  EXPECT_TRUE(hvr == reference.written) << describe_hvr_difference(hvr, reference.written);
}

TEST_P(DifferentialTest, ClientAnswersOurHvrWithACookieThatPassesUsAndOpenSsl) {
  const std::optional<Exchange> ex = exchange_cookie_with_dtlsgate();
  ASSERT_TRUE(ex);
  const std::optional<HelloFields> first = parse_hello(ex->first_hello);
  const std::optional<HelloFields> second = parse_hello(ex->second_hello);
  ASSERT_TRUE(first && second) << hex(ex->second_hello);
  // What the slow path relies on (DESIGN.md, interop traps).
  EXPECT_EQ(second->cookie, hvr_cookie(ex->hvr));
  EXPECT_EQ(second->message_seq, 1);
  EXPECT_EQ(second->client_version, first->client_version);
  EXPECT_EQ(second->random, first->random);
  EXPECT_EQ(second->session_id, first->session_id);

  const UdpFrameSpec spec = client_to_us();
  const Decision ours = classify(spec, ex->second_hello, keys());
  EXPECT_EQ(verdict_name(ours.verdict), verdict_name(Verdict::kPassVerified));
  EXPECT_EQ(ours.pass.flow.client, endpoint(net().client, kClientPort));
  EXPECT_EQ(ours.pass.flow.server, endpoint(net().server, kServerPort));
  EXPECT_EQ(ours.pass.payload_offset, layout_of(spec).payload);
  EXPECT_EQ(ours.pass.payload_len, ex->second_hello.size());
  EXPECT_EQ(ours.frame, build_udp_frame(spec, ex->second_hello)) << "a passed frame was changed";

  // The slow path hands this datagram to DTLSv1_listen, whose verify callback accepts dtlsgate's
  // cookie: listen must take it as a verified ClientHello (1) and write nothing.
  const ListenResult reference = openssl_listen(ex->second_hello, second->cookie);
  ASSERT_EQ(reference.error, "");
  EXPECT_EQ(reference.ret, 1);
  EXPECT_EQ(hex(reference.written), "");
}

TEST_P(DifferentialTest, CookieHoldsOnlyForItsFlowAndTwoKeyEpochs) {
  const std::optional<Exchange> ex = exchange_cookie_with_dtlsgate();
  ASSERT_TRUE(ex);
  struct Case {
    std::string name;
    std::function<void(UdpFrameSpec&)> change;
    uint64_t rotations;  // keyring epochs passed since the cookie was minted
    Verdict expected;
  };
  const std::vector<Case> cases = {
      {"same 5-tuple, same epoch", [](UdpFrameSpec&) {}, 0, Verdict::kPassVerified},
      {"same 5-tuple, one rotation later", [](UdpFrameSpec&) {}, 1, Verdict::kPassVerified},
      {"same 5-tuple, two rotations later (key retired)", [](UdpFrameSpec&) {}, 2,
       Verdict::kDropExpiredCookie},
      {"another source address", [this](UdpFrameSpec& s) { s.src_ip = net().other_client; }, 0,
       Verdict::kDropBadCookie},
      {"another source port", [](UdpFrameSpec& s) { s.src_port = kClientPort + 1; }, 0,
       Verdict::kDropBadCookie},
      {"our other address", [this](UdpFrameSpec& s) { s.dst_ip = net().other_server; }, 0,
       Verdict::kDropBadCookie},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // A keyring on another node that shares the master secret and the clock.
    CookieKeyring ring(kMaster, kRotationSeconds, kStartSeconds);
    ring.update(kStartSeconds + c.rotations * kRotationSeconds);
    ASSERT_EQ(ring.epoch(), keyring_.epoch() + c.rotations);
    UdpFrameSpec spec = client_to_us();
    c.change(spec);
    const Decision d = classify(spec, ex->second_hello, *ring.snapshot());
    EXPECT_EQ(verdict_name(d.verdict), verdict_name(c.expected));
  }
}

// What listen does with a datagram: pass it to the handshake, answer it, or drop it.
enum class ListenOutcome { kPasses, kAnswersHvr, kDrops };

ListenOutcome outcome_of(const ListenResult& r) {
  if (!r.written.empty()) return ListenOutcome::kAnswersHvr;
  return r.ret == 1 ? ListenOutcome::kPasses : ListenOutcome::kDrops;
}

const char* name_of(ListenOutcome o) {
  switch (o) {
    case ListenOutcome::kPasses:
      return "passes";
    case ListenOutcome::kAnswersHvr:
      return "answers HVR";
    case ListenOutcome::kDrops:
      return "drops";
  }
  return "?";
}

TEST_P(DifferentialTest, SecondHelloVariantsAgainstListen) {
  const std::optional<Exchange> ex = exchange_cookie_with_dtlsgate();
  ASSERT_TRUE(ex);
  const std::optional<std::size_t> cookie_at = cookie_offset(ex->second_hello);
  ASSERT_TRUE(cookie_at);
  const Bytes cookie = hvr_cookie(ex->hvr);
  ASSERT_EQ(cookie.size(), kCookieLen);
  struct Case {
    std::string name;
    std::function<void(Bytes&)> mutate;
    Verdict dtlsgate;
    ListenOutcome listen;  // listen's verify callback accepts exactly dtlsgate's cookie
  };
  const std::vector<Case> cases = {
      {"unchanged", [](Bytes&) {}, Verdict::kPassVerified, ListenOutcome::kPasses},
      {"retransmitted (record sequence 2)", [](Bytes& d) { d[at::kRecordSeq + 5] = 2; },
       Verdict::kPassVerified, ListenOutcome::kPasses},
      // OpenSSL 3.0.22 takes message_seq 0 or 1 only; dtlsgate forwards only 1 (DESIGN.md).
      {"message_seq 2", [](Bytes& d) { store_be16(&d[at::kMessageSeq], 2); },
       Verdict::kDropHelloSeq, ListenOutcome::kDrops},
      // Listen passes it, but the handshake that follows expects message_seq 1: dtlsgate is
      // stricter on purpose (drop_hello_seq).
      {"message_seq 0", [](Bytes& d) { store_be16(&d[at::kMessageSeq], 0); },
       Verdict::kDropHelloSeq, ListenOutcome::kPasses},
      // Listen treats a cookie that fails verification as none (RFC 6347) and answers again;
      // dtlsgate drops it and counts why (drop_bad_cookie / drop_expired_cookie).
      {"last cookie byte flipped", [&](Bytes& d) { d[*cookie_at + kCookieLen - 1] ^= 0x01; },
       Verdict::kDropBadCookie, ListenOutcome::kAnswersHvr},
      {"cookie key id two epochs old",
       [&](Bytes& d) { d[*cookie_at] = static_cast<uint8_t>(d[*cookie_at] - 2); },
       Verdict::kDropExpiredCookie, ListenOutcome::kAnswersHvr},
  };
  std::vector<Input> inputs;
  std::vector<Decision> singles;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Bytes datagram = ex->second_hello;
    c.mutate(datagram);
    const Decision ours = classify(client_to_us(), datagram, keys());
    inputs.push_back({client_to_us(), datagram});
    singles.push_back(ours);
    EXPECT_EQ(verdict_name(ours.verdict), verdict_name(c.dtlsgate));
    const ListenResult reference = openssl_listen(datagram, cookie);
    ASSERT_EQ(reference.error, "");
    EXPECT_STREQ(name_of(outcome_of(reference)), name_of(c.listen))
        << "listen returned " << reference.ret << " and wrote " << hex(reference.written);
  }
  expect_burst_decides_as_one_by_one(inputs, singles, keys());
}

TEST_P(DifferentialTest, MalformedFirstHelloIsDroppedWhereListenDropsIt) {
  std::string error;
  std::unique_ptr<DtlsClient> client = make_client(kind(), &error);
  ASSERT_NE(client, nullptr) << error;
  const std::vector<Datagram> sent = client->start();
  ASSERT_EQ(sent.size(), 1u) << client->last_error();
  const Bytes& hello = sent.front();
  ASSERT_TRUE(parse_hello(hello));

  using Mutation = std::function<void(Bytes&)>;
  auto set_record_length = [](Bytes& d, std::size_t len) {
    store_be16(&d[at::kRecordLength], static_cast<uint16_t>(len));
  };
  struct Case {
    std::string name;
    Mutation mutate;
    bool listen_answers;    // DTLSv1_listen writes an HVR
    bool dtlsgate_answers;  // dtlsgate replies with an HVR (otherwise: any drop verdict)
  };
  const std::vector<Case> cases = {
      // Agreement: both answer (the table's control rows).
      {"unchanged", [](Bytes&) {}, true, true},
      {"record sequence 5 (a retransmission), echoed", [](Bytes& d) { d[at::kRecordSeq + 5] = 5; },
       true, true},
      {"record version FE FD (as wolfSSL sends)",
       [](Bytes& d) { store_be16(&d[at::kRecordVersion], kDtls12); }, true, true},
      {"message_seq 1", [](Bytes& d) { store_be16(&d[at::kMessageSeq], 1); }, true, true},
      {"a second record after the ClientHello (listen ignores it)",
       [](Bytes& d) {
         const Bytes second = dtls_record(kContentHandshake, kDtls10, 0, 1, Bytes{1, 2, 3});
         d.insert(d.end(), second.begin(), second.end());
       },
       true, true},
      // Agreement: both drop.
      {"truncated by one byte", [](Bytes& d) { d.pop_back(); }, false, false},
      {"shorter than a record header", [](Bytes& d) { d.resize(12); }, false, false},
      {"epoch 1", [](Bytes& d) { store_be16(&d[at::kEpoch], 1); }, false, false},
      {"content type 23 (application data)", [](Bytes& d) { d[at::kContentType] = 23; }, false,
       false},
      {"content type 21 (alert)", [](Bytes& d) { d[at::kContentType] = 21; }, false, false},
      {"record major version 03", [](Bytes& d) { d[at::kRecordVersion] = 0x03; }, false, false},
      {"fragment offset 1", [](Bytes& d) { d[at::kFragmentOffset + 2] = 1; }, false, false},
      {"fragment length above message length",
       [](Bytes& d) { store_be24(&d[at::kMsgLength], load_be24(&d[at::kFragmentLength]) - 1); },
       false, false},
      {"garbage inside the record after the handshake message",
       [&](Bytes& d) {
         const std::size_t len = load_be16(&d[at::kRecordLength]);
         d.insert(d.end(), {0xde, 0xad, 0xbe, 0xef});
         set_record_length(d, len + 4);
       },
       false, false},
      {"handshake type 2 (ServerHello)", [](Bytes& d) { d[at::kMsgType] = 2; }, false, false},
      // OpenSSL 3.0.22 (this machine) takes message_seq 0 or 1 (older 3.0 releases: up to 2).
      {"message_seq 2", [](Bytes& d) { store_be16(&d[at::kMessageSeq], 2); }, false, false},
      {"message_seq 3", [](Bytes& d) { store_be16(&d[at::kMessageSeq], 3); }, false, false},
      // dtlsgate is stricter than listen on purpose (DESIGN.md, counters.h): listen answers
      // these, dtlsgate drops them. Both sides are checked so a change on either shows.
      {"first fragment of a ClientHello, cookie inside it (drop_fragmented_hello)",
       [&](Bytes& d) {
         const std::size_t sid_len = d[at::kBody + 2 + 32];
         const std::size_t fragment = 2 + 32 + 1 + sid_len + 1;  // through the cookie length
         d.resize(at::kBody + fragment);
         store_be24(&d[at::kFragmentLength], static_cast<uint32_t>(fragment));
         set_record_length(d, d.size() - at::kMsgType);
       },
       true, false},
      {"client_version major 03 (drop_bad_version)", [](Bytes& d) { d[at::kBody] = 0x03; }, true,
       false},
      {"extensions length one short (listen does not parse the body; drop_malformed_hello)",
       [](Bytes& d) {
         const std::optional<std::size_t> ext_len_at = extensions_length_offset(d);
         if (!ext_len_at) {
           ADD_FAILURE() << "this client sent no extensions: " << hex(d);
           return;
         }
         store_be16(&d[*ext_len_at], static_cast<uint16_t>(load_be16(&d[*ext_len_at]) - 1));
       },
       true, false},
  };
  const Bytes any_cookie(kCookieLen, 0xc0);
  std::vector<Input> inputs;
  std::vector<Decision> singles;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Bytes datagram = hello;
    c.mutate(datagram);
    const Decision ours = classify(client_to_us(), datagram, keys());
    inputs.push_back({client_to_us(), datagram});
    singles.push_back(ours);
    const bool ours_answered = ours.verdict == Verdict::kReplyHvr;
    const Bytes hvr = ours_answered ? reply_payload(client_to_us(), ours.frame) : Bytes{};
    const ListenResult reference =
        openssl_listen(datagram, ours_answered ? hvr_cookie(hvr) : any_cookie);
    ASSERT_EQ(reference.error, "");
    const bool listen_answered = !reference.written.empty();

    EXPECT_EQ(listen_answered, c.listen_answers)
        << "DTLSv1_listen wrote " << hex(reference.written);
    EXPECT_EQ(ours_answered, c.dtlsgate_answers) << "dtlsgate: " << verdict_name(ours.verdict);
    if (!ours_answered) {
      EXPECT_TRUE(is_drop(ours.verdict)) << "dtlsgate: " << verdict_name(ours.verdict);
    }
    if (ours_answered && listen_answered) {
      EXPECT_TRUE(hvr == reference.written) << describe_hvr_difference(hvr, reference.written);
    }
  }
  expect_burst_decides_as_one_by_one(inputs, singles, keys());
}

std::string param_name(const testing::TestParamInfo<DifferentialTest::ParamType>& info) {
  return std::get<0>(info.param).name() + "_" + std::get<1>(info.param).name;
}

INSTANTIATE_TEST_SUITE_P(RealClients, DifferentialTest,
                         testing::Combine(testing::ValuesIn(all_client_kinds()),
                                          testing::Values(kIpv4, kIpv6)),
                         param_name);

// The factory's seeds for benchmarks and fuzzing: one real ClientHello #1 per client kind, with
// the versions each stack was seen to write here (OpenSSL 3.0, GnuTLS 3.7). GnuTLS limited to
// DTLS 1.2 puts its first ClientHello in a FE FD record; every other kind uses FE FF.
TEST(RealClientHellos, OneCookielessClientHelloPerClientKind) {
  struct Expected {
    std::string name;
    uint16_t record_version;
    uint16_t client_version;
  };
  const std::vector<Expected> expected = {
      {"openssl_dtls10", kDtls10, kDtls10}, {"openssl_dtls12", kDtls10, kDtls12},
      {"openssl_any", kDtls10, kDtls12},    {"gnutls_dtls10", kDtls10, kDtls10},
      {"gnutls_dtls12", kDtls12, kDtls12},  {"gnutls_any", kDtls10, kDtls12},
  };
  std::string error;
  const std::vector<NamedDatagram> hellos = real_client_hellos(&error);
  ASSERT_EQ(hellos.size(), expected.size()) << error;
  for (std::size_t i = 0; i < hellos.size(); ++i) {
    const NamedDatagram& h = hellos[i];
    SCOPED_TRACE(h.name);
    EXPECT_EQ(h.name, expected[i].name);
    const std::optional<HelloFields> f = parse_hello(h.payload);
    ASSERT_TRUE(f) << hex(h.payload);
    EXPECT_TRUE(f->cookie.empty());
    EXPECT_EQ(f->record_seq, 0u);
    EXPECT_EQ(f->message_seq, 0);
    EXPECT_EQ(f->client_version, expected[i].client_version);
    EXPECT_EQ(load_be16(&h.payload[at::kRecordVersion]), expected[i].record_version);
    EXPECT_EQ(load_be16(&h.payload[at::kRecordLength]) + 13u, h.payload.size());
  }
}

}  // namespace
}  // namespace dtlsgate::test
