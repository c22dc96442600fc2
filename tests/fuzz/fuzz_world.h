// The fixed world the classifier fuzz target and its corpus generator share: our addresses,
// cookie keys of a fixed time (so cookies in the committed corpus stay valid) and one known
// session per family.
#pragma once

#include <array>
#include <cstdint>

#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"

namespace dtlsgate::fuzz {

inline constexpr uint64_t kUnixTime = 1'700'000'000;
inline constexpr uint64_t kRotation = 60;
inline constexpr std::array<uint8_t, 4> kOurIpv4{192, 0, 2, 1};
inline constexpr std::array<uint8_t, 16> kOurIpv6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                                  0,    0,    0,    0,    0, 0, 0, 1};
inline constexpr uint16_t kOurPort = 4433;
inline constexpr std::array<uint8_t, 4> kKnownIpv4{192, 0, 2, 77};
inline constexpr std::array<uint8_t, 16> kKnownIpv6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                                    0,    0,    0,    0,    0, 0, 0, 0x77};
inline constexpr uint16_t kKnownPort = 40000;

struct World {
  World() : flows(64), classifier(config(), &flows), unpredicted(unpredicted_config(), &flows) {
    flows.insert(
        {Endpoint::ipv4(kKnownIpv4.data(), kKnownPort), Endpoint::ipv4(kOurIpv4.data(), kOurPort)});
    flows.insert(
        {Endpoint::ipv6(kKnownIpv6.data(), kKnownPort), Endpoint::ipv6(kOurIpv6.data(), kOurPort)});
  }
  static ClassifierConfig config() {
    ClassifierConfig c;
    c.ipv4 = {kOurIpv4};
    c.ipv6 = {kOurIpv6};
    c.ports = {kOurPort};
    c.mac = {0x02, 0, 0, 0, 0, 0x01};
    return c;
  }
  // Every frame through the general walk: the target holds it to the classifier's answers.
  static ClassifierConfig unpredicted_config() {
    ClassifierConfig c = config();
    c.header_prediction = false;
    return c;
  }
  static MasterSecret master() {
    MasterSecret m{};
    for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>(0xa0 + i);
    return m;
  }
  const CookieKeySet& keys() const { return *ring.snapshot(); }

  CookieKeyring ring{master(), kRotation, kUnixTime};
  FlowTable flows;
  Classifier classifier;
  Classifier unpredicted;
};

inline const World& world() {
  static const World w;
  return w;
}

}  // namespace dtlsgate::fuzz
