// Header prediction (as TCP's, Van Jacobson 1988) for the frame a flood sends, and nearly every
// client: untagged Ethernet, IPv4 without options, unfragmented, UDP to our address and port.
// Every fixed byte of that shape (ethertype, version and header length, fragment bits,
// protocol, destination address and port) is checked by one masked 32-byte compare, the
// lengths by three scalar compares, then the two checksums; the view comes out as constants.
// The general walk (parse_l2_l3, the classifier's address and port checks, parse_udp) does the
// same with ~70 more instructions per HVR (tools/callgrind-ipp: 568 -> 497 when this came
// in), because it must find the headers first and name the drop.
//
// A prediction that fails says nothing about the frame: the caller takes the walk, which
// decides and names the drop. tests/unit/fast_path_equivalence_test.cc holds the two to the
// same answers for every single-byte change of every header byte.
//
// UdpToUsIpv6Prediction does the same for untagged IPv6 with UDP as the next header, to the
// first IPv6 address and port, up to the UDP header: parse_udp (length, the mandatory checksum)
// still runs after it, out of the hot loop, as after the walk.
#pragma once

#include <immintrin.h>

#include <array>
#include <cstdint>

#include "dtlsgate/bytes.h"
#include "dtlsgate/checksum.h"
#include "dtlsgate/wire/packet.h"

namespace dtlsgate {

class UdpToUsPrediction {
 public:
  // Predicts nothing (every frame takes the walk).
  UdpToUsPrediction() = default;
  // Predicts UDP to address:port (host order), the first of the classifier's addresses and
  // ports; datagrams to any other of them take the walk.
  UdpToUsPrediction(const std::array<uint8_t, 4>& address, uint16_t port);

  // True when the frame has the predicted shape and passes every rule that parse_l2_l3, the
  // address and port checks and parse_udp apply to it: *view is then what they would give.
  bool predict(const uint8_t* frame, uint16_t len, RxChecksums verified, FrameView* view) const;

  // The bytes compared at once: frame[12..43], ethertype to the UDP checksum and two bytes on.
  static constexpr uint16_t kFirst = 12;
  static constexpr uint16_t kSpan = 32;

 private:
  std::array<uint8_t, kSpan> expected_{};
  std::array<uint8_t, kSpan> mask_{};
  bool enabled_ = false;
};

inline bool UdpToUsPrediction::predict(const uint8_t* frame, uint16_t len, RxChecksums verified,
                                       FrameView* view) const {
  constexpr uint16_t kEth = 14;
  constexpr uint16_t kIp = 20;
  constexpr uint16_t kUdp = 8;
  if (!enabled_ || len < kFirst + kSpan) return false;
  const __m256i got = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(frame + kFirst));
  const __m256i expected = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(expected_.data()));
  const __m256i mask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask_.data()));
  if (_mm256_testz_si256(_mm256_xor_si256(got, expected), mask) == 0) return false;
  const uint8_t* ip = frame + kEth;
  const uint8_t* udp = ip + kIp;
  // The IP total length within the frame (Ethernet may pad after it), the UDP length equal to
  // what the IP header leaves for it, and at least a UDP header: then total_len >= 28 too.
  const uint32_t total_len = load_be16(ip + 2);
  const uint32_t udp_len = load_be16(udp + 4);
  if (total_len > static_cast<uint32_t>(len - kEth) || udp_len + kIp != total_len ||
      udp_len < kUdp) {
    return false;
  }
  if (!verified.ipv4_header_good && !ipv4_header_valid(ip, kIp)) return false;
  const bool has_checksum = (udp[6] | udp[7]) != 0;
  if (has_checksum && !verified.l4_good &&
      !udp_checksum_valid_ipv4(ip + 12, ip + 16, udp, udp_len)) {
    return false;
  }
  view->kind = L3Kind::kIpv4;
  view->l4_proto = kIpProtoUdp;
  view->l3 = kEth;
  view->l4 = kEth + kIp;
  view->l4_len = static_cast<uint16_t>(udp_len);
  view->payload = kEth + kIp + kUdp;
  view->payload_len = static_cast<uint16_t>(udp_len - kUdp);
  return true;
}

class UdpToUsIpv6Prediction {
 public:
  // Predicts nothing (every IPv6 frame takes the walk).
  UdpToUsIpv6Prediction() = default;
  UdpToUsIpv6Prediction(const std::array<uint8_t, 16>& address, uint16_t port);

  // True when the frame has the predicted shape and parse_l2_l3 would accept it with the
  // classifier's address and port checks passing: *view's L3 fields (kind, l4_proto, l3, l4,
  // l4_len) are then what the walk gives; parse_udp is the caller's, as after the walk. Saves
  // the VLAN loop, the extension-header switch and the address and port loops: 59 instructions
  // per IPv6 HVR (tools/callgrind-ipp: 653.7 -> 594.7). A miss costs an IPv4 frame that the
  // IPv4 prediction refused (another port, TCP) 3-9 more on its way to the walk.
  bool predict(const uint8_t* frame, uint16_t len, FrameView* view) const;

  // The bytes compared: frame[12..43] (ethertype to the destination address's first 6 bytes)
  // and frame[42..57] (the rest of it, the ports).
  static constexpr uint16_t kFirst = 12;
  static constexpr uint16_t kSecond = 42;
  static constexpr uint16_t kEnd = 58;

 private:
  std::array<uint8_t, 32> expected_{};
  std::array<uint8_t, 32> mask_{};
  std::array<uint8_t, 16> expected_tail_{};
  std::array<uint8_t, 16> mask_tail_{};
  bool enabled_ = false;
};

inline bool UdpToUsIpv6Prediction::predict(const uint8_t* frame, uint16_t len,
                                           FrameView* view) const {
  constexpr uint16_t kEth = 14;
  constexpr uint16_t kIp = 40;
  if (!enabled_ || len < kEnd) return false;
  const __m256i got = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(frame + kFirst));
  const __m256i expected = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(expected_.data()));
  const __m256i mask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask_.data()));
  const __m128i got_tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(frame + kSecond));
  const __m128i expected_tail =
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(expected_tail_.data()));
  const __m128i mask_tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(mask_tail_.data()));
  if (_mm256_testz_si256(_mm256_xor_si256(got, expected), mask) == 0 ||
      _mm_testz_si128(_mm_xor_si128(got_tail, expected_tail), mask_tail) == 0) {
    return false;
  }
  // The payload within the frame (Ethernet may pad after it).
  const uint32_t payload_len = load_be16(frame + kEth + 4);
  if (payload_len > static_cast<uint32_t>(len - kEth - kIp)) return false;
  view->kind = L3Kind::kIpv6;
  view->l4_proto = kIpProtoUdp;
  view->l3 = kEth;
  view->l4 = kEth + kIp;
  view->l4_len = static_cast<uint16_t>(payload_len);
  return true;
}

}  // namespace dtlsgate
