#include "flood/frame_crafter.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "dtlsgate/bytes.h"
#include "dtlsgate/checksum.h"
#include "dtlsgate/cookie/cookie_batch.h"
#include "dtlsgate/wire/client_hello.h"
#include "dtlsgate/wire/packet.h"

namespace dtlsgate::flood {
namespace {

constexpr uint8_t kIpProtoTcp = 6;
constexpr uint16_t kEthernetLen = 14;
constexpr uint16_t kUdpLen = 8;
constexpr uint16_t kTcpLen = 20;
constexpr uint16_t kDnsPort = 53;

std::size_t family_index(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? 0 : 1;
}
std::size_t address_len(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? 4 : 16;
}
uint16_t source_offset(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? 12 : 8;
}

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

ClientHelloView parse_hello(const std::vector<uint8_t>& hello) {
  ClientHelloView view;
  Verdict drop = Verdict::kDropTruncated;
  if (hello.size() > 0xffff ||
      !parse_client_hello(hello.data(), static_cast<uint16_t>(hello.size()), &view, &drop) ||
      view.cookie_len != 0) {
    throw std::invalid_argument("the ClientHello template is not a cookie-less ClientHello");
  }
  return view;
}

// ClientHello #2 as a client sends it after an HVR: the same hello with a kCookieLen cookie
// (zeros, patched per packet), message_seq 1 and record sequence 1. Lengths grow to match.
std::vector<uint8_t> with_cookie_slot(const std::vector<uint8_t>& hello,
                                      const ClientHelloView& view) {
  std::vector<uint8_t> out = hello;
  out.insert(out.begin() + view.cookie, kCookieLen, 0);
  out[view.cookie - 1] = static_cast<uint8_t>(kCookieLen);
  store_be16(&out[11], static_cast<uint16_t>(load_be16(&out[11]) + kCookieLen));
  store_be24(&out[14], static_cast<uint32_t>(load_be24(&out[14]) + kCookieLen));
  store_be24(&out[22], static_cast<uint32_t>(load_be24(&out[22]) + kCookieLen));
  store_be16(&out[17], 1);
  store_be16(&out[9], 1);  // low bytes of the 48-bit record sequence number
  return out;
}

std::vector<uint8_t> dns_query() {
  // id, flags (recursion desired), 1 question: "example.com" A IN.
  std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  const char* labels[] = {"example", "com"};
  for (const char* l : labels) {
    q.push_back(static_cast<uint8_t>(std::strlen(l)));
    q.insert(q.end(), l, l + std::strlen(l));
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  return q;
}

// Ethernet / IP / (UDP around payload | TCP SYN), source address and port left zero.
FrameTemplate build_frame(Kind kind, const TargetSpec& target, const Endpoint& server,
                          uint8_t proto, uint16_t dst_port, const std::vector<uint8_t>& payload,
                          FastRandom& random) {
  FrameTemplate t;
  t.kind = kind;
  t.family = server.family;
  t.udp = proto == kIpProtoUdp;
  const bool v4 = server.family == AddressFamily::kIpv4;
  const uint16_t l4_len =
      static_cast<uint16_t>(t.udp ? kUdpLen + payload.size() : static_cast<std::size_t>(kTcpLen));
  std::vector<uint8_t>& f = t.bytes;
  f.insert(f.end(), target.dst_mac.begin(), target.dst_mac.end());
  f.insert(f.end(), target.src_mac.begin(), target.src_mac.end());
  put16(f, v4 ? kEtherTypeIpv4 : kEtherTypeIpv6);
  t.l3 = kEthernetLen;
  if (v4) {
    f.insert(f.end(), {0x45, 0});
    put16(f, static_cast<uint16_t>(20 + l4_len));
    f.insert(f.end(), {0, 0, 0x40, 0, 64, proto, 0, 0});  // id 0, DF, TTL 64
    f.insert(f.end(), 4, 0);                              // source
    f.insert(f.end(), server.addr.begin(), server.addr.begin() + 4);
  } else {
    f.insert(f.end(), {0x60, 0, 0, 0});
    put16(f, l4_len);
    f.insert(f.end(), {proto, 64});
    f.insert(f.end(), 16, 0);  // source
    f.insert(f.end(), server.addr.begin(), server.addr.end());
  }
  t.l4 = static_cast<uint16_t>(f.size());
  put16(f, 0);  // source port
  put16(f, dst_port);
  if (t.udp) {
    put16(f, l4_len);
    put16(f, 0);
    t.checksum_at = static_cast<uint16_t>(t.l4 + 6);
    t.payload = static_cast<uint16_t>(f.size());
    f.insert(f.end(), payload.begin(), payload.end());
  } else {
    const uint32_t seq = static_cast<uint32_t>(random.next());
    f.insert(f.end(), {static_cast<uint8_t>(seq >> 24), static_cast<uint8_t>(seq >> 16),
                       static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq)});
    f.insert(f.end(), {0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0});  // SYN
    t.checksum_at = static_cast<uint16_t>(t.l4 + 16);
  }
  return t;
}

// The sums of everything a patch does not touch.
void precompute_sums(FrameTemplate& t) {
  std::vector<uint8_t> fixed = t.bytes;
  const bool v4 = t.family == AddressFamily::kIpv4;
  const uint16_t l4_len = static_cast<uint16_t>(fixed.size() - t.l4);
  std::memset(&fixed[t.l4], 0, 2);
  std::memset(&fixed[t.checksum_at], 0, 2);
  if (t.cookie_at != 0) std::memset(&fixed[t.cookie_window], 0, t.cookie_window_len);
  const uint8_t proto = t.udp ? kIpProtoUdp : kIpProtoTcp;
  uint64_t sum = checksum_add(0, &fixed[t.l4], l4_len);
  if (v4) {
    sum = checksum_add(sum, &fixed[t.l3 + 16], 4);
    const uint8_t tail[4] = {0, proto, static_cast<uint8_t>(l4_len >> 8),
                             static_cast<uint8_t>(l4_len)};
    sum = checksum_add(sum, tail, 4);
    std::memset(&fixed[t.l3 + 10], 0, 2);
    t.ip_base_sum = checksum_add(0, &fixed[t.l3], 20);
  } else {
    sum = checksum_add(sum, &fixed[t.l3 + 24], 16);
    const uint8_t tail[8] = {
        0, 0, static_cast<uint8_t>(l4_len >> 8), static_cast<uint8_t>(l4_len), 0, 0, 0, proto};
    sum = checksum_add(sum, tail, 8);
  }
  t.l4_base_sum = sum;
}

}  // namespace

FrameCrafter::FrameCrafter(const std::vector<uint8_t>& hello, const TargetSpec& target,
                           std::optional<TargetSecret> secret, uint64_t unix_seconds, uint64_t seed)
    : secret_(secret) {
  const ClientHelloView view = parse_hello(hello);
  const std::vector<uint8_t> hello2 = with_cookie_slot(hello, view);
  FastRandom random(seed);
  std::vector<uint8_t> garbage(hello.size());
  for (auto& b : garbage) b = static_cast<uint8_t>(random.next());
  if (garbage[0] == kContentTypeHandshake) garbage[0] ^= 1;
  const std::vector<uint8_t> dns = dns_query();

  for (const auto& server : {target.ipv4, target.ipv6}) {
    if (!server) continue;
    const std::size_t fam = family_index(server->family);
    families_[fam] = true;
    servers_[fam] = *server;
    for (std::size_t k = 0; k < kKindCount; ++k) {
      const auto kind = static_cast<Kind>(k);
      FrameTemplate t;
      switch (kind) {
        case Kind::kHvr:
          t = build_frame(kind, target, *server, kIpProtoUdp, server->port, hello, random);
          break;
        case Kind::kVerify:
        case Kind::kStale:
        case Kind::kForged:
        case Kind::kReplay:
          t = build_frame(kind, target, *server, kIpProtoUdp, server->port, hello2, random);
          t.cookie_at = static_cast<uint16_t>(t.payload + view.cookie);
          // Even offsets from the L4 header keep the window's sum in the checksum's lanes.
          t.cookie_window = static_cast<uint16_t>(t.l4 + ((t.cookie_at - t.l4) & ~1u));
          t.cookie_window_len =
              static_cast<uint16_t>(((t.cookie_at + kCookieLen - t.cookie_window) + 1) & ~1u);
          break;
        case Kind::kGarbage:
          t = build_frame(kind, target, *server, kIpProtoUdp, server->port, garbage, random);
          break;
        case Kind::kNonDtls:
          t = build_frame(kind, target, *server, kIpProtoUdp, kDnsPort, dns, random);
          break;
        case Kind::kNonUdp:
          t = build_frame(kind, target, *server, kIpProtoTcp, server->port, {}, random);
          break;
      }
      precompute_sums(t);
      templates_[fam][k] = std::move(t);
    }
  }
  hello_ = view;
  set_time(unix_seconds);
}

bool FrameCrafter::has_family(AddressFamily family) const {
  return families_[family_index(family)];
}

const FrameTemplate& FrameCrafter::frame_template(Kind kind, AddressFamily family) const {
  return templates_[family_index(family)][static_cast<std::size_t>(kind)];
}

void FrameCrafter::set_time(uint64_t unix_seconds) {
  const uint64_t rotation = secret_ ? secret_->rotation_seconds : TargetSecret{}.rotation_seconds;
  const uint64_t epoch = unix_seconds / rotation;
  if (epoch == epoch_ && current_.count != 0) return;
  epoch_ = epoch;
  current_ = CookieKeySet{};
  stale_ = CookieKeySet{};
  current_.epoch = epoch;
  current_.count = 1;
  current_.keys[0].id = static_cast<uint8_t>(epoch & 0xff);
  if (!secret_) return;
  // Stale: two epochs back, the first one the target no longer accepts (it keeps e and e-1).
  current_.keys[0] = make_epoch_key(secret_->master, epoch);
  stale_.epoch = epoch - 2;
  stale_.count = 1;
  stale_.keys[0] = make_epoch_key(secret_->master, epoch - 2);
}

CookieInput FrameCrafter::cookie_input(const FrameTemplate& t, const uint8_t* frame,
                                       const Endpoint& client) const {
  const uint8_t* payload = frame + t.payload;
  CookieInput input;
  input.client = client;
  input.server = servers_[family_index(t.family)];
  input.client_version = hello_.client_version;
  input.random = payload + hello_.random;
  input.session_id = payload + hello_.session_id;
  input.session_id_len = hello_.session_id_len;
  return input;
}

uint64_t FrameCrafter::write_source(const FrameTemplate& t, uint8_t* frame,
                                    const Endpoint& source) {
  const std::size_t alen = address_len(t.family);
  uint8_t* src = frame + t.l3 + source_offset(t.family);
  std::memcpy(src, source.addr.data(), alen);
  store_be16(frame + t.l4, source.port);
  return t.l4_base_sum + checksum_add(0, src, alen) + checksum_add(0, frame + t.l4, 2);
}

void FrameCrafter::forge_cookie(uint8_t* cookie, FastRandom& random) const {
  cookie[0] = current_.keys[0].id;
  const uint64_t a = random.next();
  const uint64_t b = random.next();
  std::memcpy(cookie + 1, &a, 8);
  std::memcpy(cookie + 9, &b, 8);
}

void FrameCrafter::write_checksums(const FrameTemplate& t, uint8_t* frame, const Endpoint& source,
                                   uint64_t sum) {
  if (t.cookie_at != 0) sum += checksum_add(0, frame + t.cookie_window, t.cookie_window_len);
  uint16_t l4_sum = checksum_finish(sum);
  if (t.udp && l4_sum == 0) l4_sum = 0xffff;
  std::memcpy(frame + t.checksum_at, &l4_sum, 2);
  if (t.family == AddressFamily::kIpv4) {
    const uint16_t ip_sum = checksum_finish(t.ip_base_sum + checksum_add(0, source.addr.data(), 4));
    std::memcpy(frame + t.l3 + 10, &ip_sum, 2);
  }
}

void FrameCrafter::patch(const FrameTemplate& t, uint8_t* frame, const Endpoint& source,
                         FastRandom& random) const {
  const uint64_t sum = write_source(t, frame, source);
  if (t.cookie_at != 0) {
    uint8_t* cookie = frame + t.cookie_at;
    switch (t.kind) {
      case Kind::kVerify:
        mint_cookie(current_, cookie_input(t, frame, source), cookie);
        break;
      case Kind::kStale:
        mint_cookie(stale_, cookie_input(t, frame, source), cookie);
        break;
      case Kind::kReplay: {
        Endpoint elsewhere = source;
        elsewhere.port ^= 1;
        mint_cookie(current_, cookie_input(t, frame, elsewhere), cookie);
        break;
      }
      default:
        forge_cookie(cookie, random);
    }
  }
  write_checksums(t, frame, source, sum);
}

void FrameCrafter::patch_burst(const PatchJob* jobs, std::size_t n, FastRandom& random) const {
  // Two batches, one per key set; each holds a whole chunk's mints (kMaxBurst <= its capacity).
  CookieBatch current(current_);
  CookieBatch stale(stale_);
  uint64_t sums[CookieBatch::kMaxBurst];
  for (std::size_t base = 0; base < n; base += CookieBatch::kMaxBurst) {
    const std::size_t count = std::min(CookieBatch::kMaxBurst, n - base);
    for (std::size_t i = 0; i < count; ++i) {
      const PatchJob& job = jobs[base + i];
      const FrameTemplate& t = *job.t;
      sums[i] = write_source(t, job.frame, job.source);
      if (t.cookie_at == 0) continue;
      uint8_t* cookie = job.frame + t.cookie_at;
      switch (t.kind) {
        case Kind::kVerify:
          current.mint(cookie_input(t, job.frame, job.source), cookie);
          break;
        case Kind::kStale:
          stale.mint(cookie_input(t, job.frame, job.source), cookie);
          break;
        case Kind::kReplay: {
          Endpoint elsewhere = job.source;
          elsewhere.port ^= 1;
          current.mint(cookie_input(t, job.frame, elsewhere), cookie);
          break;
        }
        default:
          forge_cookie(cookie, random);
      }
    }
    current.run();
    stale.run();
    for (std::size_t i = 0; i < count; ++i) {
      const PatchJob& job = jobs[base + i];
      write_checksums(*job.t, job.frame, job.source, sums[i]);
    }
  }
}

ReplyInfo inspect_reply(const uint8_t* frame, uint16_t len) {
  ReplyInfo info;
  FrameView view;
  Verdict drop = Verdict::kDropTruncated;
  if (!parse_l2_l3(frame, len, &view, &drop) || view.kind == L3Kind::kArp ||
      view.l4_proto != kIpProtoUdp || !parse_udp(frame, &view, &drop)) {
    return info;
  }
  const uint8_t* p = frame + view.payload;
  constexpr uint16_t kHvrHeader = 28;
  if (view.payload_len < kHvrHeader || p[0] != kContentTypeHandshake ||
      p[13] != kHandshakeHelloVerifyRequest || kHvrHeader + p[27] != view.payload_len) {
    return info;
  }
  info.hvr = true;
  info.cookie_len = p[27];
  return info;
}

}  // namespace dtlsgate::flood
