#include "dtlsgate/wire/udp_prediction.h"

namespace dtlsgate {

UdpToUsPrediction::UdpToUsPrediction(const std::array<uint8_t, 4>& address, uint16_t port)
    : enabled_(true) {
  // Offsets in the frame; the arrays start at frame[kFirst].
  auto expect = [this](uint16_t at, uint8_t value, uint8_t mask = 0xff) {
    expected_[at - kFirst] = static_cast<uint8_t>(value & mask);
    mask_[at - kFirst] = mask;
  };
  expect(12, static_cast<uint8_t>(kEtherTypeIpv4 >> 8));
  expect(13, static_cast<uint8_t>(kEtherTypeIpv4));
  expect(14, 0x45);  // IPv4, a 20-byte header (no options)
  // More-fragments and the fragment offset zero (DF and the reserved bit may be anything).
  expect(20, 0, 0x3f);
  expect(21, 0);
  expect(23, kIpProtoUdp);
  for (uint16_t i = 0; i < 4; ++i) expect(static_cast<uint16_t>(30 + i), address[i]);
  expect(36, static_cast<uint8_t>(port >> 8));
  expect(37, static_cast<uint8_t>(port));
}

UdpToUsIpv6Prediction::UdpToUsIpv6Prediction(const std::array<uint8_t, 16>& address, uint16_t port)
    : enabled_(true) {
  auto expect = [this](uint16_t at, uint8_t value, uint8_t mask = 0xff) {
    if (at < kSecond) {
      expected_[at - kFirst] = static_cast<uint8_t>(value & mask);
      mask_[at - kFirst] = mask;
    } else {
      expected_tail_[at - kSecond] = static_cast<uint8_t>(value & mask);
      mask_tail_[at - kSecond] = mask;
    }
  };
  expect(12, static_cast<uint8_t>(kEtherTypeIpv6 >> 8));
  expect(13, static_cast<uint8_t>(kEtherTypeIpv6));
  expect(14, 0x60, 0xf0);   // version 6 (traffic class and flow label may be anything)
  expect(20, kIpProtoUdp);  // no extension header
  for (uint16_t i = 0; i < 16; ++i) expect(static_cast<uint16_t>(38 + i), address[i]);
  expect(56, static_cast<uint8_t>(port >> 8));
  expect(57, static_cast<uint8_t>(port));
}

}  // namespace dtlsgate
