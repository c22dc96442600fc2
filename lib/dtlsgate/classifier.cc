#include "dtlsgate/classifier.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "dtlsgate/bytes.h"
#include "dtlsgate/checksum.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/hvr_rate_limiter.h"
#include "dtlsgate/hvr_writer.h"
#include "dtlsgate/wire/client_hello.h"

namespace dtlsgate {
namespace {

constexpr uint16_t kUdpHeaderLen = 8;
constexpr uint16_t kArpLen = 28;
constexpr uint16_t kNeighborSolicitationMinLen = 24;
constexpr uint16_t kNeighborAdvertisementLen = 32;
constexpr uint8_t kIcmpv6NeighborSolicitation = 135;
constexpr uint16_t kHvrLen = kHvrHeaderLen + kCookieLen;

void fill_pass(PassInfo* pass, const uint8_t* frame, const FrameView& v) {
  if (pass == nullptr) return;
  // In place (Endpoint::set_ipv4/set_ipv6 say why), from where the tuple lies in the headers.
  const WireFlow w = wire_flow(frame, v);
  const uint16_t client_port = load_be16(w.ports);
  const uint16_t server_port = load_be16(w.ports + 2);
  if (w.ipv6) {
    pass->flow.client.set_ipv6(w.addresses, client_port);
    pass->flow.server.set_ipv6(w.addresses + 16, server_port);
  } else {
    pass->flow.client.set_ipv4(w.addresses, client_port);
    pass->flow.server.set_ipv4(w.addresses + 4, server_port);
  }
  pass->payload_offset = v.payload;
  pass->payload_len = v.payload_len;
}

UdpToUsPrediction prediction_for(const ClassifierConfig& config) {
  if (!config.header_prediction || config.ipv4.empty() || config.ports.empty()) return {};
  return UdpToUsPrediction(config.ipv4.front(), config.ports.front());
}

UdpToUsIpv6Prediction ipv6_prediction_for(const ClassifierConfig& config) {
  if (!config.header_prediction || config.ipv6.empty() || config.ports.empty()) return {};
  return UdpToUsIpv6Prediction(config.ipv6.front(), config.ports.front());
}

}  // namespace

Classifier::Classifier(ClassifierConfig config, const FlowTable* flows)
    : config_(std::move(config)),
      reply_mac_(PaddedMac::of(config_.mac)),
      prediction_(prediction_for(config_)),
      prediction_ipv6_(ipv6_prediction_for(config_)),
      flows_(flows) {}

bool Classifier::is_our_ipv4(const uint8_t* addr) const {
  for (const auto& a : config_.ipv4) {
    if (std::memcmp(a.data(), addr, 4) == 0) return true;
  }
  return false;
}

bool Classifier::is_our_ipv6(const uint8_t* addr) const {
  for (const auto& a : config_.ipv6) {
    if (std::memcmp(a.data(), addr, 16) == 0) return true;
  }
  return false;
}

bool Classifier::is_our_port(uint16_t port) const {
  for (uint16_t p : config_.ports) {
    if (p == port) return true;
  }
  return false;
}

// A frame whose verdict waits for its MAC. No member initializers besides the view's: 32 of
// these live on the stack per burst; every field is written before it is read (check and
// message_seq on queueing, cookie by CookieBatch::run). The HVR's record sequence number is
// not kept here: the frame still holds it when the reply is written.
struct Classifier::Pending {  // NOLINT(cppcoreguidelines-pro-type-member-init)
  FrameView view;
  int check;                   // NOLINT(cppcoreguidelines-pro-type-member-init): mint: -1
  uint16_t message_seq;        // NOLINT(cppcoreguidelines-pro-type-member-init)
  uint8_t cookie[kCookieLen];  // NOLINT(cppcoreguidelines-pro-type-member-init)
};

Verdict Classifier::classify(const CookieKeySet& keys, FrameRef& frame, PassInfo* pass) const {
  Verdict verdict;
  VerdictCounters unused;
  classify_burst(keys, &frame, 1, &verdict, pass, unused);
  return verdict;
}

[[gnu::flatten]] bool Classifier::classify_until_mac(FrameRef& frame, PassInfo* pass,
                                                     CookieBatch& batch, Pending* pending,
                                                     Verdict* verdict) const {
  // Parsed in place in the pending slot (reused by the next frame if this one gets its verdict
  // now): finish() reads it without a copy.
  FrameView& view = pending->view;
  // Expected: GCC then lays out and allocates registers for the predicted path first (hvr
  // 497 -> 493 instructions, verify 543 -> 538, drop-only 345 -> 335, tools/callgrind-ipp).
  if (__builtin_expect(prediction_.predict(frame.data, frame.len, frame.rx_checksums, &view), 1)) {
    return classify_datagram(frame, view, pass, batch, pending, verdict);
  }
  // IPv6 to our first address and port: the walk and the checks below in one compare (IPv6
  // hvr 654 -> 595 instructions, tools/callgrind-ipp); the UDP header and checksum as after the
  // walk.
  if (prediction_ipv6_.predict(frame.data, frame.len, &view)) {
    return classify_udp(frame, view, pass, batch, pending, verdict);
  }
  if (!parse_l2_l3(frame.data, frame.len, &view, verdict, frame.rx_checksums)) return false;
  if (view.kind == L3Kind::kArp) {
    *verdict = classify_arp(frame, view);
    return false;
  }
  if (view.kind == L3Kind::kIpv6 && view.l4_proto == kIpProtoIcmpv6) {
    *verdict = classify_icmpv6(frame, view);
    return false;
  }
  if (view.l4_proto != kIpProtoUdp) {
    *verdict = Verdict::kDropNotUdp;
    return false;
  }
  const uint8_t* ip = frame.data + view.l3;
  const bool ours = view.kind == L3Kind::kIpv4 ? is_our_ipv4(ip + 16) : is_our_ipv6(ip + 24);
  if (!ours) {
    *verdict = Verdict::kDropNotForUs;
    return false;
  }
  if (view.l4_len < kUdpHeaderLen) {
    *verdict = Verdict::kDropBadUdpLength;
    return false;
  }
  // Port before checksum: traffic for other services costs no checksum pass.
  if (!is_our_port(load_be16(frame.data + view.l4 + 2))) {
    *verdict = Verdict::kDropNotForUs;
    return false;
  }
  return classify_udp(frame, view, pass, batch, pending, verdict);
}

// Flattened: the ClientHello parse, the cookie input encoding and the flow lookup inline here,
// so the view and the hello's offsets stay in registers instead of round-tripping through
// memory between calls (~55 instructions per HVR, tools/callgrind-ipp). Out of line: with a
// second copy of all that inlined next to the predicted one, GCC stopped inlining
// classify_until_mac into the burst loop (a call and its register saves per frame, ~40
// instructions per HVR), and forcing it made the loop spill (614 instead of 497). The checks
// before it stay inline: a datagram for another service is dropped without the call.
[[gnu::flatten, gnu::noinline]] bool Classifier::classify_udp(FrameRef& frame, FrameView& view,
                                                              PassInfo* pass, CookieBatch& batch,
                                                              Pending* pending,
                                                              Verdict* verdict) const {
  if (!parse_udp(frame.data, &view, verdict, frame.rx_checksums)) return false;
  return classify_datagram(frame, view, pass, batch, pending, verdict);
}

bool Classifier::classify_datagram(FrameRef& frame, const FrameView& view, PassInfo* pass,
                                   CookieBatch& batch, Pending* pending, Verdict* verdict) const {
  uint8_t* data = frame.data;
  // A session the slow path owns gets every datagram, whatever it holds. Looked up, and the
  // cookie input built, from the headers as they are: no Endpoints (those only for the pass
  // info; the rate limiter reads the source prefix from the header too).
  // (size() first: inline, so a table without sessions costs no call.)
  const WireFlow flow = wire_flow(data, view);
  if (flows_ != nullptr && flows_->size() != 0 && flows_->contains(flow)) {
    fill_pass(pass, data, view);
    *verdict = Verdict::kPassFlow;
    return false;
  }

  const uint8_t* payload = data + view.payload;
  ClientHelloView hello;
  if (!parse_client_hello(payload, view.payload_len, &hello, verdict)) return false;

  const CookieWireInput input{.flow = flow,
                              .client_version = payload + hello.body,
                              .random = payload + hello.random,
                              .session_id = payload + hello.session_id,
                              .session_id_len = hello.session_id_len};

  pending->message_seq = hello.message_seq;
  if (hello.cookie_len != 0) {
    pending->check = batch.verify(input, payload + hello.cookie, hello.cookie_len);
    fill_pass(pass, data, view);
    return true;
  }

  // Reflection guard: the HVR record is never longer than the ClientHello record, whatever
  // the hello (checked at compile time, no branch). That also makes the reply fit where the
  // request was: the request's IP header is at least as long as the reply's (IPv4 options are
  // not echoed, IPv6 extension headers were refused) and its UDP payload holds the record.
  static_assert(kHvrLen <= kMinClientHelloRecordLen);
  assert(kHvrLen <= hello.record_len);
  assert(view.l3 + (flow.ipv6 ? 40U : 20U) + kUdpHeaderLen + kHvrLen <= frame.len);
  if (limiter_ != nullptr && !limiter_->allow(flow)) {
    *verdict = Verdict::kDropRateLimited;
    return false;
  }
  pending->check = -1;
  batch.mint(input, pending->cookie);
  return true;
}

template <TxChecksums kTx>
Verdict Classifier::finish(FrameRef& frame, const Pending& pending,
                           const CookieBatch& batch) const {
  if (pending.check >= 0) {
    switch (batch.result(pending.check)) {
      case CookieCheck::kValid:
        // DTLSv1_listen + SSL_accept only continue a handshake from message_seq 1.
        return pending.message_seq == 1 ? Verdict::kPassVerified : Verdict::kDropHelloSeq;
      case CookieCheck::kExpired:
        return Verdict::kDropExpiredCookie;
      case CookieCheck::kBad:
        // OpenSSL answers a bad cookie with a fresh HVR (RFC 6347 allows either). We drop:
        // a forged or replayed cookie then costs one MAC and sends nothing.
        return Verdict::kDropBadCookie;
    }
  }
  if constexpr (kTx == TxChecksums::kOffload) frame.reply_l3 = pending.view.l3;
  frame.len = write_hvr_reply(frame.data, pending.view, pending.cookie, reply_mac_, kTx);
  return Verdict::kReplyHvr;
}

// Out of line: a second copy of the HVR writer inlined in the burst loop cost the software
// path ~30 instructions per HVR (tools/callgrind-ipp), whichever loop it was in.
[[gnu::noinline]] void Classifier::finish_offloaded(FrameRef* frames, const Pending* pending,
                                                    const uint8_t* waiting,
                                                    std::size_t waiting_count,
                                                    const CookieBatch& batch,
                                                    Verdict* verdicts) const {
  for (std::size_t w = 0; w < waiting_count; ++w) {
    const std::size_t i = waiting[w];
    verdicts[i] = finish<TxChecksums::kOffload>(frames[i], pending[w], batch);
  }
}

Verdict Classifier::classify_arp(FrameRef& frame, const FrameView& view) const {
  if (frame.len - view.l3 < kArpLen) return Verdict::kDropTruncated;
  const uint8_t* arp = frame.data + view.l3;
  // Ethernet/IPv4 request (htype 1, ptype 0x0800, hlen 6, plen 4, oper 1) for our address.
  const bool request = load_be16(arp) == 1 && load_be16(arp + 2) == kEtherTypeIpv4 && arp[4] == 6 &&
                       arp[5] == 4 && load_be16(arp + 6) == 1;
  if (!request || !is_our_ipv4(arp + 24)) return Verdict::kDropNotForUs;
  write_arp_reply(frame.data, view, config_.mac);
  return Verdict::kReplyArp;
}

Verdict Classifier::classify_icmpv6(FrameRef& frame, const FrameView& view) const {
  const uint8_t* ip = frame.data + view.l3;
  const uint8_t* icmp = frame.data + view.l4;
  if (view.l4_len < kNeighborSolicitationMinLen) return Verdict::kDropNotUdp;
  // RFC 4861 7.1.1: hop limit 255 (never forwarded), code 0, checksum right.
  if (icmp[0] != kIcmpv6NeighborSolicitation || icmp[1] != 0 || ip[7] != 255) {
    return Verdict::kDropNotUdp;
  }
  uint8_t zero_sum[2] = {0, 0};
  uint8_t sum[2];
  std::memcpy(sum, icmp + 2, 2);
  {
    // Verify: sum over the message with its checksum in place must fold to all ones.
    const uint64_t partial =
        checksum_add(checksum_add(checksum_add(0, ip + 8, 32), icmp, view.l4_len), zero_sum, 2);
    uint8_t proto_len[8] = {0,
                            0,
                            static_cast<uint8_t>(view.l4_len >> 8),
                            static_cast<uint8_t>(view.l4_len),
                            0,
                            0,
                            0,
                            kIpProtoIcmpv6};
    if (checksum_finish(checksum_add(partial, proto_len, 8)) != 0) return Verdict::kDropNotUdp;
  }
  if (!is_our_ipv6(icmp + 8)) return Verdict::kDropNotForUs;
  const uint16_t capacity = frame.capacity != 0 ? frame.capacity : frame.len;
  if (view.l4 + kNeighborAdvertisementLen > capacity) return Verdict::kDropReplyTooLarge;
  frame.len = write_neighbor_advertisement(frame.data, view, config_.mac);
  return Verdict::kReplyNd;
}

void Classifier::classify_burst(const CookieKeySet& keys, FrameRef* frames, std::size_t n,
                                Verdict* verdicts, PassInfo* pass,
                                VerdictCounters& counters) const {
  for (std::size_t base = 0; base < n; base += CookieBatch::kMaxBurst) {
    const std::size_t count = std::min(CookieBatch::kMaxBurst, n - base);
    for (std::size_t i = 0; i < 4 && i < count; ++i) __builtin_prefetch(frames[base + i].data);
    CookieBatch batch(keys);
    Pending pending[CookieBatch::kMaxBurst];
    uint8_t waiting[CookieBatch::kMaxBurst];
    std::size_t waiting_count = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t f = base + i;
      // The frame four ahead, its first four lines (a ~250-byte ClientHello frame whole: the
      // checksum reads all of it): a line still in L3, where DDIO or the previous stage left
      // it, costs ~40 cycles, one from another core's cache up to ~190 ns here. Unconditional,
      // without a loop over the length (~6 instructions instead of ~25); a prefetch never
      // faults, and past a short frame it only wastes a fill. Even behind the app's
      // whole-burst prefetch this one pays: without it the inproc worker lost ~5 %; four
      // ahead took ~5 % more HVRs than two (tools/bench-pps inproc, side by side; eight: no
      // better than four).
      if (i + 4 < count) {
        const uint8_t* ahead = frames[f + 4].data;
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + 64);
        __builtin_prefetch(ahead + 128);
        __builtin_prefetch(ahead + 192);
      }
      PassInfo* p = pass != nullptr ? &pass[f] : nullptr;
      if (classify_until_mac(frames[f], p, batch, &pending[waiting_count], &verdicts[f])) {
        waiting[waiting_count++] = static_cast<uint8_t>(i);
      }
    }
    batch.run();
    // One loop per way of writing the reply's checksums, the choice made once per burst: a
    // test per HVR inside one loop cost the software path 12 instructions per HVR (GCC kept
    // both forms live), tools/callgrind-ipp.
    if (config_.tx_checksums == TxChecksums::kOffload) {
      finish_offloaded(frames + base, pending, waiting, waiting_count, batch, verdicts + base);
    } else {
      for (std::size_t w = 0; w < waiting_count; ++w) {
        const std::size_t f = base + waiting[w];
        verdicts[f] = finish<TxChecksums::kSoftware>(frames[f], pending[w], batch);
      }
    }
    for (std::size_t i = 0; i < count; ++i) counters.add(verdicts[base + i]);
  }
}

}  // namespace dtlsgate
