#include "dtlsgate/hvr_writer.h"

#include <cstring>

#include <immintrin.h>

#include "dtlsgate/bytes.h"
#include "dtlsgate/checksum.h"
#include "dtlsgate/wire/client_hello.h"

namespace dtlsgate {
namespace {

constexpr uint16_t kDtls10Version = 0xfeff;
constexpr uint8_t kReplyTtl = 64;
constexpr uint16_t kIpv4HeaderLen = 20;
constexpr uint16_t kIpv6HeaderLen = 40;
constexpr uint16_t kUdpHeaderLen = 8;

// Source and destination of an IPv6 header trade places (a reply goes back where it came from).
void swap_ipv6_addresses(uint8_t* ip) {
  uint8_t source[16];
  std::memcpy(source, ip + 8, 16);
  std::memcpy(ip + 8, ip + 24, 16);
  std::memcpy(ip + 24, source, 16);
}

void set_macs(uint8_t* frame, PaddedMac our_mac) {
  // The first 16 bytes as one vector: the request's source moved to the destination by a byte
  // shuffle, bytes 12..15 (the EtherType or VLAN tag and what follows) written back as they
  // were, the reply's source ORed in at bytes 6..11 (its padding over 12..13 is zero): ~7
  // instructions and no general register for the addresses, where moving their four pieces
  // took ~16 and six registers (tools/callgrind-ipp: -6 on every HVR path, 491.3 -> 485.3).
  const uint64_t our = our_mac.bytes;
  const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(frame));
  // From our MAC; without one, from the address the request was sent to, unless that was a
  // broadcast or multicast address (the first test alone decides when a MAC is configured).
  __m128i reply = _mm_or_si128(_mm_shuffle_epi8(head, _mm_setr_epi8(6, 7, 8, 9, 10, 11, -1, -1, -1,
                                                                    -1, -1, -1, 12, 13, 14, 15)),
                               _mm_slli_si128(_mm_cvtsi64_si128(static_cast<int64_t>(our)), 6));
  if (our == 0 && (frame[0] & 1) == 0) {
    reply =
        _mm_shuffle_epi8(head, _mm_setr_epi8(6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 12, 13, 14, 15));
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(frame), reply);
}

// The reply's IP header fields that do not depend on the request: version, lengths, no
// identification (DF set), TTL, protocol. Addresses and the IPv4 checksum are the caller's.
// Returns where the UDP header goes (a fresh 20-byte IPv4 header: request options are never
// echoed).
uint8_t* write_reply_ip_fields(uint8_t* ip, L3Kind kind, uint16_t udp_len) {
  if (kind == L3Kind::kIpv4) {
    store_be16(ip, 0x4500);
    store_be16(ip + 2, static_cast<uint16_t>(kIpv4HeaderLen + udp_len));
    store_be16(ip + 4, 0);       // identification: unused with DF
    store_be16(ip + 6, 0x4000);  // DF
    ip[8] = kReplyTtl;
    ip[9] = kIpProtoUdp;
    return ip + kIpv4HeaderLen;
  }
  store_be32(ip, 0x60000000);  // version 6, no traffic class, no flow label
  store_be16(ip + 4, udp_len);
  ip[6] = kIpProtoUdp;
  ip[7] = kReplyTtl;
  return ip + kIpv6HeaderLen;
}

// Native-layout value of a big-endian 16-bit field, for adding constants to a checksum.
constexpr uint64_t be16_in_sum(uint16_t v) {
  return static_cast<uint64_t>(static_cast<uint16_t>(v >> 8 | v << 8));
}

constexpr uint16_t kHvrLen = kHvrHeaderLen + kCookieLen;
constexpr uint16_t kHvrUdpLen = kUdpHeaderLen + kHvrLen;

// Reduces a 64-bit native word to <= 33 bits with the same one's-complement value.
constexpr uint64_t fold33(uint64_t w) {
  return (w & 0xffffffffu) + (w >> 32);
}

// The folded one's-complement sum of a native 64-bit word (two 32-bit halves) and a constant,
// carries added back as they come (add, adc, adc, then 32 -> 16): ~8 instructions, where
// fold33 and checksum_fold take ~12.
inline uint16_t fold_word_and(uint64_t word, uint32_t constant) {
  uint32_t s;
  unsigned char carry =
      _addcarry_u32(0, static_cast<uint32_t>(word), static_cast<uint32_t>(word >> 32), &s);
  carry = _addcarry_u32(carry, s, constant, &s);
  _addcarry_u32(carry, s, 0, &s);
  return static_cast<uint16_t>((s + (s << 16 | s >> 16)) >> 16);
}

// The HVR record's bytes 0..31 for a kCookieLen cookie, record sequence zero (bytes 28..31
// are overwritten by the cookie): written with two 16-byte stores instead of ~25 small ones.
// Pinned byte for byte by the classifier spec (DESIGN.md's layout) and the differential test
// against OpenSSL's DTLSv1_listen.
constexpr uint8_t kCookieLen8 = static_cast<uint8_t>(kCookieLen);
alignas(16) constexpr uint8_t kHvrTemplate[32] = {
    kContentTypeHandshake,
    0xfe,
    0xff,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,  // type, version, epoch, seq
    0,
    static_cast<uint8_t>(kDtlsHandshakeHeaderLen + 3 + kCookieLen8),  // record length
    kHandshakeHelloVerifyRequest,
    0,
    0,
    static_cast<uint8_t>(3 + kCookieLen8),  // msg length
    0,
    0,
    0,
    0,
    0,  // seq, offset
    0,
    0,
    static_cast<uint8_t>(3 + kCookieLen8),  // fragment length
    0xfe,
    0xff,
    kCookieLen8,
    0,
    0,
    0,
    0};  // server_version, cookie length, (cookie)

// The checksum contribution of the HVR record's fixed bytes (sequence and cookie zero).
uint64_t hvr_template_sum() {
  return checksum_add(0, kHvrTemplate, kHvrHeaderLen);
}
const uint64_t kHvrTemplateSum = hvr_template_sum();

}  // namespace

PaddedMac PaddedMac::of(const std::array<uint8_t, 6>& mac) {
  PaddedMac padded;
  std::memcpy(&padded.bytes, mac.data(), mac.size());
  return padded;
}

uint16_t write_hvr_reply(uint8_t* frame, const FrameView& view, const uint8_t cookie[kCookieLen],
                         PaddedMac our_mac, TxChecksums checksums) {
  const bool offload = checksums == TxChecksums::kOffload;
  // Both checksums are summed from values already in registers (the request's addresses and
  // ports, the sequence number, the cookie, constants) instead of re-reading the bytes just
  // written: wide loads over fresh narrow stores stall on store forwarding (~30 ns per HVR).
  // The record sequence number comes from the request's record header, read before any store
  // (with IPv4 options the reply's record starts earlier than the request's).
  const uint8_t* record_seq = frame + view.payload + 5;
  uint32_t seq_low;
  uint16_t seq_high;
  std::memcpy(&seq_low, record_seq, 4);
  std::memcpy(&seq_high, record_seq + 4, 2);
  set_macs(frame, our_mac);
  uint8_t* ip = frame + view.l3;
  uint32_t ports;  // the request's source and destination port, swapped below
  std::memcpy(&ports, frame + view.l4, 4);
  const uint64_t ports_sum = ports;  // the sum does not depend on their order
  ports = ports >> 16 | ports << 16;
  // HVR bytes 4..11 as a native word: epoch low byte 0, the sequence, length high byte 0.
  const uint64_t seq_word = static_cast<uint64_t>(seq_low) << 8 | static_cast<uint64_t>(seq_high)
                                                                      << 40;
  // The pseudo-header's protocol and length: with the offload, the NIC adds the UDP header and
  // the record to the pseudo-header's sum it finds in the checksum field.
  constexpr uint64_t kPseudoHeaderRest = be16_in_sum(kIpProtoUdp) + be16_in_sum(kHvrUdpLen);
  uint16_t pseudo_header_checksum = 0;  // with the offload
  uint8_t* udp;
  uint64_t addresses_sum;
  if (view.kind == L3Kind::kIpv4) {
    uint64_t addresses;  // source | destination -> destination | source
    std::memcpy(&addresses, ip + 12, 8);
    if (offload) {
      pseudo_header_checksum = fold_word_and(addresses, static_cast<uint32_t>(kPseudoHeaderRest));
    }
    addresses_sum = fold33(addresses);
    addresses = addresses >> 32 | addresses << 32;
    constexpr uint16_t kTotalLen = kIpv4HeaderLen + kHvrUdpLen;
    const uint64_t header_sum = be16_in_sum(0x4500) + be16_in_sum(kTotalLen) + be16_in_sum(0x4000) +
                                be16_in_sum(static_cast<uint16_t>(kReplyTtl << 8 | kIpProtoUdp)) +
                                addresses_sum;
    const uint16_t header_checksum = offload ? 0 : checksum_finish(header_sum);
    udp = write_reply_ip_fields(ip, L3Kind::kIpv4, kHvrUdpLen);
    std::memcpy(ip + 10, &header_checksum, 2);
    std::memcpy(ip + 12, &addresses, 8);
  } else {
    addresses_sum = checksum_add(0, ip + 8, 32);
    if (offload) pseudo_header_checksum = checksum_fold(addresses_sum + kPseudoHeaderRest);
    swap_ipv6_addresses(ip);
    udp = write_reply_ip_fields(ip, L3Kind::kIpv6, kHvrUdpLen);
  }
  // Pseudo-header (addresses, protocol, length) + UDP header (ports, length) + HVR record.
  uint16_t udp_checksum = pseudo_header_checksum;
  if (!offload) {
    const uint64_t sum = addresses_sum + kPseudoHeaderRest + be16_in_sum(kHvrUdpLen) + ports_sum +
                         kHvrTemplateSum + fold33(seq_word) + checksum_add(0, cookie, kCookieLen);
    udp_checksum = checksum_finish(sum);
    if (udp_checksum == 0) udp_checksum = 0xffff;
  }
  std::memcpy(udp, &ports, 4);
  store_be16(udp + 4, kHvrUdpLen);
  std::memcpy(udp + 6, &udp_checksum, 2);
  uint8_t* hvr = udp + kUdpHeaderLen;
  std::memcpy(hvr, kHvrTemplate, sizeof kHvrTemplate);
  std::memcpy(hvr + 5, &seq_low, 4);
  std::memcpy(hvr + 9, &seq_high, 2);
  std::memcpy(hvr + kHvrHeaderLen, cookie, kCookieLen);
  return static_cast<uint16_t>(udp + kHvrUdpLen - frame);
}

uint16_t write_hvr_record(uint8_t* out, const uint8_t record_seq[6], const uint8_t* cookie,
                          uint8_t cookie_len) {
  const uint16_t body_len = static_cast<uint16_t>(3 + cookie_len);
  out[0] = kContentTypeHandshake;
  store_be16(out + 1, kDtls10Version);
  out[3] = 0;  // epoch 0
  out[4] = 0;
  std::memmove(out + 5, record_seq, 6);
  store_be16(out + 11, static_cast<uint16_t>(kDtlsHandshakeHeaderLen + body_len));
  out[13] = kHandshakeHelloVerifyRequest;
  store_be24(out + 14, body_len);
  store_be16(out + 17, 0);  // message_seq
  store_be24(out + 19, 0);  // fragment offset
  store_be24(out + 22, body_len);
  store_be16(out + 25, kDtls10Version);  // server_version: always DTLS 1.0 in an HVR
  out[27] = cookie_len;
  std::memcpy(out + kHvrHeaderLen, cookie, cookie_len);
  return static_cast<uint16_t>(kHvrHeaderLen + cookie_len);
}

UdpReply begin_udp_reply(uint8_t* frame, const FrameView& view, uint16_t payload_len,
                         const std::array<uint8_t, 6>& our_mac) {
  set_macs(frame, PaddedMac::of(our_mac));
  uint8_t* ip = frame + view.l3;
  const uint8_t* request_udp = frame + view.l4;
  const uint16_t client_port = load_be16(request_udp);
  const uint16_t server_port = load_be16(request_udp + 2);
  const uint16_t udp_len = static_cast<uint16_t>(kUdpHeaderLen + payload_len);
  if (view.kind == L3Kind::kIpv4) {
    uint8_t client[4];
    std::memcpy(client, ip + 12, 4);
    std::memcpy(ip + 12, ip + 16, 4);
    std::memcpy(ip + 16, client, 4);
  } else {
    swap_ipv6_addresses(ip);
  }
  uint8_t* udp = write_reply_ip_fields(ip, view.kind, udp_len);
  store_be16(udp, server_port);
  store_be16(udp + 2, client_port);
  store_be16(udp + 4, udp_len);
  UdpReply r;
  r.payload = static_cast<uint16_t>(udp + kUdpHeaderLen - frame);
  r.frame_len = static_cast<uint16_t>(r.payload + payload_len);
  return r;
}

void finish_udp_reply(uint8_t* frame, const FrameView& view, const UdpReply& reply) {
  uint8_t* ip = frame + view.l3;
  uint8_t* udp = frame + reply.payload - kUdpHeaderLen;
  const uint16_t udp_len = static_cast<uint16_t>(reply.frame_len - (udp - frame));
  udp[6] = 0;
  udp[7] = 0;
  uint16_t sum;
  if (view.kind == L3Kind::kIpv4) {
    ip[10] = 0;
    ip[11] = 0;
    const uint16_t header_sum = ipv4_header_checksum(ip, kIpv4HeaderLen);
    std::memcpy(ip + 10, &header_sum, 2);
    sum = udp_checksum_ipv4(ip + 12, ip + 16, udp, udp_len);
  } else {
    sum = udp_checksum_ipv6(ip + 8, ip + 24, udp, udp_len);
  }
  std::memcpy(udp + 6, &sum, 2);
}

void write_arp_reply(uint8_t* frame, const FrameView& view, const std::array<uint8_t, 6>& mac) {
  uint8_t* arp = frame + view.l3;
  uint8_t requester_mac[6];
  uint8_t requester_ip[4];
  uint8_t our_ip[4];
  std::memcpy(requester_mac, arp + 8, 6);
  std::memcpy(requester_ip, arp + 14, 4);
  std::memcpy(our_ip, arp + 24, 4);
  store_be16(arp + 6, 2);  // reply
  std::memcpy(arp + 8, mac.data(), 6);
  std::memcpy(arp + 14, our_ip, 4);
  std::memcpy(arp + 18, requester_mac, 6);
  std::memcpy(arp + 24, requester_ip, 4);
  std::memcpy(frame, frame + 6, 6);
  std::memcpy(frame + 6, mac.data(), 6);
}

uint16_t write_neighbor_advertisement(uint8_t* frame, const FrameView& view,
                                      const std::array<uint8_t, 6>& mac) {
  uint8_t* ip = frame + view.l3;
  uint8_t* icmp = frame + view.l4;
  static constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr uint8_t kUnspecified[16] = {};
  uint8_t target[16];
  std::memcpy(target, icmp + 8, 16);
  // RFC 4861 7.2.4: to the solicitor, or to all-nodes (not solicited) when it had no address.
  const bool from_unspecified = std::memcmp(ip + 8, kUnspecified, 16) == 0;
  if (from_unspecified) {
    std::memcpy(ip + 24, kAllNodes, 16);
  } else {
    std::memcpy(ip + 24, ip + 8, 16);
  }
  std::memcpy(ip + 8, target, 16);
  constexpr uint16_t kNaLen = 32;  // header 8 + target 16 + target link-layer option 8
  store_be16(ip + 4, kNaLen);
  ip[7] = 255;
  icmp[0] = 136;  // neighbour advertisement
  icmp[1] = 0;
  icmp[2] = 0;
  icmp[3] = 0;
  // Flags: Solicited (unless answering DAD) + Override.
  store_be32(icmp + 4, from_unspecified ? 0x20000000u : 0x60000000u);
  std::memcpy(icmp + 8, target, 16);
  icmp[24] = 2;  // target link-layer address option
  icmp[25] = 1;  // length in units of 8 bytes
  std::memcpy(icmp + 26, mac.data(), 6);
  const uint16_t sum = icmpv6_checksum(ip + 8, ip + 24, icmp, kNaLen);
  std::memcpy(icmp + 2, &sum, 2);
  if (from_unspecified) {
    // Ethernet multicast for ff02::1.
    static constexpr uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 1};
    std::memcpy(frame, kAllNodesMac, 6);
  } else {
    std::memcpy(frame, frame + 6, 6);
  }
  std::memcpy(frame + 6, mac.data(), 6);
  return static_cast<uint16_t>(view.l4 + kNaLen);
}

}  // namespace dtlsgate
