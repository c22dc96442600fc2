#include "dtlsgate/wire/packet.h"

#include "dtlsgate/bytes.h"
#include "dtlsgate/checksum.h"

namespace dtlsgate {
namespace {

constexpr uint16_t kEthHeaderLen = 14;
constexpr uint16_t kIpv4MinHeaderLen = 20;
constexpr uint16_t kIpv6HeaderLen = 40;
constexpr uint16_t kUdpHeaderLen = 8;
constexpr uint16_t kIpv4FlagMoreFragments = 0x2000;
constexpr uint16_t kIpv4FragmentOffsetMask = 0x1fff;

bool is_ipv6_extension_header(uint8_t next) {
  switch (next) {
    case 0:    // hop-by-hop
    case 43:   // routing
    case 44:   // fragment
    case 50:   // ESP
    case 51:   // AH
    case 60:   // destination options
    case 135:  // mobility
    case 139:  // HIP
    case 140:  // shim6
    case 253:  // experimental
    case 254:
      return true;
    default:
      return false;
  }
}

bool fail(Verdict* drop, Verdict why) {
  *drop = why;
  return false;
}

bool parse_ipv4(const uint8_t* frame, uint16_t len, FrameView* v, Verdict* drop,
                bool header_checksum_good) {
  const uint16_t l3 = v->l3;
  if (len - l3 < kIpv4MinHeaderLen) return fail(drop, Verdict::kDropTruncated);
  const uint8_t* ip = frame + l3;
  const uint16_t header_len = static_cast<uint16_t>((ip[0] & 0x0f) * 4);
  if ((ip[0] >> 4) != 4 || header_len < kIpv4MinHeaderLen) {
    return fail(drop, Verdict::kDropBadIpHeader);
  }
  if (len - l3 < header_len) return fail(drop, Verdict::kDropTruncated);
  const uint16_t total_len = load_be16(ip + 2);
  // Ethernet pads short frames, so the frame may be longer than the packet, never shorter.
  if (total_len < header_len) return fail(drop, Verdict::kDropBadIpHeader);
  if (total_len > len - l3) return fail(drop, Verdict::kDropTruncated);
  if (!header_checksum_good && !ipv4_header_valid(ip, header_len)) {
    return fail(drop, Verdict::kDropBadIpHeader);
  }
  const uint16_t fragment = load_be16(ip + 6);
  if ((fragment & (kIpv4FlagMoreFragments | kIpv4FragmentOffsetMask)) != 0) {
    return fail(drop, Verdict::kDropIpFragment);
  }
  v->kind = L3Kind::kIpv4;
  v->l4_proto = ip[9];
  v->l4 = static_cast<uint16_t>(l3 + header_len);
  v->l4_len = static_cast<uint16_t>(total_len - header_len);
  return true;
}

bool parse_ipv6(const uint8_t* frame, uint16_t len, FrameView* v, Verdict* drop) {
  const uint16_t l3 = v->l3;
  if (len - l3 < kIpv6HeaderLen) return fail(drop, Verdict::kDropTruncated);
  const uint8_t* ip = frame + l3;
  if ((ip[0] >> 4) != 6) return fail(drop, Verdict::kDropBadIpHeader);
  const uint16_t payload_len = load_be16(ip + 4);
  if (payload_len > len - l3 - kIpv6HeaderLen) return fail(drop, Verdict::kDropTruncated);
  if (is_ipv6_extension_header(ip[6])) return fail(drop, Verdict::kDropIpv6ExtHeader);
  v->kind = L3Kind::kIpv6;
  v->l4_proto = ip[6];
  v->l4 = static_cast<uint16_t>(l3 + kIpv6HeaderLen);
  v->l4_len = payload_len;
  return true;
}

}  // namespace

namespace detail {

bool untagged_ipv4_passes_at_once(const uint8_t* frame, uint16_t len, FrameView* v,
                                  RxChecksums verified) {
  if (len < kEthHeaderLen + kIpv4MinHeaderLen || load_be16(frame + 12) != kEtherTypeIpv4 ||
      frame[kEthHeaderLen] != 0x45) {
    return false;
  }
  const uint8_t* ip = frame + kEthHeaderLen;
  const uint16_t total_len = load_be16(ip + 2);
  const bool unfragmented =
      (load_be16(ip + 6) & (kIpv4FlagMoreFragments | kIpv4FragmentOffsetMask)) == 0;
  if (total_len < kIpv4MinHeaderLen || total_len > len - kEthHeaderLen || !unfragmented ||
      (!verified.ipv4_header_good && !ipv4_header_valid(ip, kIpv4MinHeaderLen))) {
    return false;
  }
  v->l3 = kEthHeaderLen;
  v->kind = L3Kind::kIpv4;
  v->l4_proto = ip[9];
  v->l4 = kEthHeaderLen + kIpv4MinHeaderLen;
  v->l4_len = static_cast<uint16_t>(total_len - kIpv4MinHeaderLen);
  return true;
}

bool parse_l2_l3_walk(const uint8_t* frame, uint16_t len, FrameView* v, Verdict* drop,
                      RxChecksums verified) {
  if (len < kEthHeaderLen) return fail(drop, Verdict::kDropTruncated);
  uint16_t offset = 12;
  uint16_t ethertype = load_be16(frame + offset);
  for (int tags = 0; ethertype == kEtherTypeVlan || ethertype == kEtherTypeQinQ; ++tags) {
    if (tags == kMaxVlanTags) return fail(drop, Verdict::kDropNotIp);
    offset = static_cast<uint16_t>(offset + 4);
    if (len < offset + 2) return fail(drop, Verdict::kDropTruncated);
    ethertype = load_be16(frame + offset);
  }
  v->l3 = static_cast<uint16_t>(offset + 2);
  switch (ethertype) {
    case kEtherTypeIpv4:
      return parse_ipv4(frame, len, v, drop, verified.ipv4_header_good);
    case kEtherTypeIpv6:
      return parse_ipv6(frame, len, v, drop);
    case kEtherTypeArp:
      v->kind = L3Kind::kArp;
      return true;
    default:
      return fail(drop, Verdict::kDropNotIp);
  }
}

}  // namespace detail

bool parse_l2_l3(const uint8_t* frame, uint16_t len, FrameView* v, Verdict* drop,
                 RxChecksums verified) {
  // The flood's frame, untagged IPv4 without options, has every rule of the walk tested as one
  // unit (~15 instructions instead of ~40); anything else, or a failure, takes the walk, which
  // names the drop. The unit tests hold the two to the same answers.
  return detail::untagged_ipv4_passes_at_once(frame, len, v, verified) ||
         detail::parse_l2_l3_walk(frame, len, v, drop, verified);
}

bool parse_udp(const uint8_t* frame, FrameView* v, Verdict* drop, RxChecksums verified) {
  if (v->l4_len < kUdpHeaderLen) return fail(drop, Verdict::kDropBadUdpLength);
  const uint8_t* udp = frame + v->l4;
  const uint16_t udp_len = load_be16(udp + 4);
  if (udp_len != v->l4_len) return fail(drop, Verdict::kDropBadUdpLength);
  const bool has_checksum = udp[6] != 0 || udp[7] != 0;
  if (v->kind == L3Kind::kIpv4) {
    const uint8_t* ip = frame + v->l3;
    if (has_checksum && !verified.l4_good &&
        !udp_checksum_valid_ipv4(ip + 12, ip + 16, udp, udp_len)) {
      return fail(drop, Verdict::kDropBadUdpChecksum);
    }
  } else {
    const uint8_t* ip = frame + v->l3;
    // A zero checksum is refused whatever the NIC says (RFC 8200 8.1: mandatory in IPv6).
    if (!has_checksum ||
        (!verified.l4_good && !udp_checksum_valid_ipv6(ip + 8, ip + 24, udp, udp_len))) {
      return fail(drop, Verdict::kDropBadUdpChecksum);
    }
  }
  v->payload = static_cast<uint16_t>(v->l4 + kUdpHeaderLen);
  v->payload_len = static_cast<uint16_t>(udp_len - kUdpHeaderLen);
  return true;
}

// Both read the tuple where wire_flow finds it: the header offsets are written down once.
Endpoint source_endpoint(const uint8_t* frame, const FrameView& v) {
  const WireFlow w = wire_flow(frame, v);
  const uint16_t port = load_be16(w.ports);
  return w.ipv6 ? Endpoint::ipv6(w.addresses, port) : Endpoint::ipv4(w.addresses, port);
}

Endpoint destination_endpoint(const uint8_t* frame, const FrameView& v) {
  const WireFlow w = wire_flow(frame, v);
  const uint16_t port = load_be16(w.ports + 2);
  return w.ipv6 ? Endpoint::ipv6(w.addresses + 16, port) : Endpoint::ipv4(w.addresses + 4, port);
}

}  // namespace dtlsgate
