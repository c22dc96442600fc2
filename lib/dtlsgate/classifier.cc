#include "dtlsgate/classifier.h"

#include <cstring>

#include "dtlsgate/bytes.h"
#include "dtlsgate/checksum.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/hvr_writer.h"
#include "dtlsgate/wire/client_hello.h"

namespace dtlsgate {
namespace {

constexpr uint16_t kUdpHeaderLen = 8;
constexpr uint16_t kArpLen = 28;
constexpr uint16_t kNeighborSolicitationMinLen = 24;
constexpr uint16_t kNeighborAdvertisementLen = 32;
constexpr uint8_t kIcmpv6NeighborSolicitation = 135;

void fill_pass(PassInfo* pass, const Endpoint& client, const Endpoint& server, const FrameView& v) {
  if (pass == nullptr) return;
  pass->flow = FlowKey{client, server};
  pass->payload_offset = v.payload;
  pass->payload_len = v.payload_len;
}

}  // namespace

Classifier::Classifier(ClassifierConfig config, const FlowTable* flows)
    : config_(std::move(config)), flows_(flows) {}

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

Verdict Classifier::classify(const CookieKeySet& keys, FrameRef& frame, PassInfo* pass) const {
  FrameView view;
  Verdict drop = Verdict::kDropTruncated;
  if (!parse_l2_l3(frame.data, frame.len, &view, &drop)) return drop;
  if (view.kind == L3Kind::kArp) return classify_arp(frame, view);
  if (view.kind == L3Kind::kIpv6 && view.l4_proto == kIpProtoIcmpv6) {
    return classify_icmpv6(frame, view);
  }
  if (view.l4_proto != kIpProtoUdp) return Verdict::kDropNotUdp;
  return classify_udp(keys, frame, view, pass);
}

Verdict Classifier::classify_udp(const CookieKeySet& keys, FrameRef& frame, FrameView& view,
                                 PassInfo* pass) const {
  uint8_t* data = frame.data;
  const uint8_t* ip = data + view.l3;
  const bool ours = view.kind == L3Kind::kIpv4 ? is_our_ipv4(ip + 16) : is_our_ipv6(ip + 24);
  if (!ours) return Verdict::kDropNotForUs;
  if (view.l4_len < kUdpHeaderLen) return Verdict::kDropBadUdpLength;
  // Port before checksum: traffic for other services costs no checksum pass.
  if (!is_our_port(load_be16(data + view.l4 + 2))) return Verdict::kDropNotForUs;
  Verdict drop = Verdict::kDropTruncated;
  if (!parse_udp(data, &view, &drop)) return drop;

  const Endpoint client = source_endpoint(data, view);
  const Endpoint server = destination_endpoint(data, view);
  // A session the slow path owns gets every datagram, whatever it holds.
  if (flows_ != nullptr && flows_->contains(FlowKey{client, server})) {
    fill_pass(pass, client, server, view);
    return Verdict::kPassFlow;
  }

  const uint8_t* payload = data + view.payload;
  ClientHelloView hello;
  if (!parse_client_hello(payload, view.payload_len, &hello, &drop)) return drop;

  CookieInput input;
  input.client = client;
  input.server = server;
  input.client_version = hello.client_version;
  input.random = payload + hello.random;
  input.session_id = payload + hello.session_id;
  input.session_id_len = hello.session_id_len;

  if (hello.cookie_len != 0) {
    switch (verify_cookie(keys, input, payload + hello.cookie, hello.cookie_len)) {
      case CookieCheck::kValid:
        // DTLSv1_listen + SSL_accept only continue a handshake from message_seq 1.
        if (hello.message_seq != 1) return Verdict::kDropHelloSeq;
        fill_pass(pass, client, server, view);
        return Verdict::kPassVerified;
      case CookieCheck::kExpired:
        return Verdict::kDropExpiredCookie;
      case CookieCheck::kBad:
        // OpenSSL answers a bad cookie with a fresh HVR (RFC 6347 allows either). We drop:
        // a forged or replayed cookie then costs one MAC and sends nothing.
        return Verdict::kDropBadCookie;
    }
  }

  // Reflection guard: the reply must fit where the request was, and the HVR record must not
  // be longer than the ClientHello record.
  constexpr uint16_t kHvrLen = kHvrHeaderLen + kCookieLen;
  const uint16_t ip_header_len = view.kind == L3Kind::kIpv4 ? 20 : 40;
  const uint32_t reply_len = view.l3 + ip_header_len + kUdpHeaderLen + kHvrLen;
  if (reply_len > frame.len || kHvrLen > hello.record_len) return Verdict::kDropReplyTooLarge;

  uint8_t cookie[kCookieLen];
  mint_cookie(keys, input, cookie);
  uint8_t record_seq[6];
  std::memcpy(record_seq, payload + 5, 6);
  const UdpReply reply = begin_udp_reply(data, view, kHvrLen, config_.mac);
  write_hvr_record(data + reply.payload, record_seq, cookie, kCookieLen);
  finish_udp_reply(data, view, reply);
  frame.len = reply.frame_len;
  return Verdict::kReplyHvr;
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
  for (std::size_t i = 0; i < n; ++i) {
    if (i + 1 < n) __builtin_prefetch(frames[i + 1].data);
    const Verdict v = classify(keys, frames[i], pass != nullptr ? &pass[i] : nullptr);
    verdicts[i] = v;
    counters.add(v);
  }
}

}  // namespace dtlsgate
