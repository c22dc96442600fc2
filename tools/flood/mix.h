// What the flood sends: kinds of frames and their ratios ("hvr=70,verify=10,..."), turned
// into a fixed, evenly interleaved schedule so every burst of 32 already has the mix.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dtlsgate::flood {

// X(enum name, mix name, what the filter should do with it)
#define DTLSGATE_FLOOD_KINDS(X)                                                         \
  X(kHvr, hvr, "cookie-less ClientHello: answered with a HelloVerifyRequest")           \
  X(kVerify, verify, "ClientHello #2 with a valid cookie (message_seq 1): passed")      \
  X(kStale, stale, "cookie minted two epochs ago: dropped as expired")                  \
  X(kForged, forged, "current key id, random tag: dropped as a bad cookie")             \
  X(kReplay, replay, "valid cookie of another source, sent from this one: bad cookie")  \
  X(kGarbage, garbage, "random bytes to the DTLS port: dropped")                        \
  X(kNonDtls, nondtls, "a DNS query to port 53 of the same address: dropped, not ours") \
  X(kNonUdp, nonudp, "a TCP SYN to the DTLS port: dropped, not UDP")

enum class Kind : uint8_t {
#define DTLSGATE_X(e, name, help) e,
  DTLSGATE_FLOOD_KINDS(DTLSGATE_X)
#undef DTLSGATE_X
};

inline constexpr std::size_t kKindCount = 0
#define DTLSGATE_X(e, name, help) +1
    DTLSGATE_FLOOD_KINDS(DTLSGATE_X)
#undef DTLSGATE_X
    ;

std::string_view kind_name(Kind kind);

// Kinds whose cookie only the target's master secret can mint.
bool needs_secret(Kind kind);

struct Mix {
  std::array<uint32_t, kKindCount> weight{};
  uint32_t total() const;
};

// "hvr=70,verify=10" (weights are relative; a bare "hvr" means hvr=1). Named presets:
// hvr-only, verify-only, drop-only, attack. On error returns false with a one-line *error.
bool parse_mix(const std::string& text, Mix* mix, std::string* error);

// The mix presets tools/bench-pps measures, by name.
std::string mix_preset(std::string_view name);

// Every preset by name, parsed, in the order tools/bench-pps reports them: what the benches
// measure when given no --mix.
std::vector<std::pair<std::string, Mix>> all_presets();

// A repeating order of kinds in which every kind appears in proportion to its weight and as
// evenly spread as possible (smooth weighted round robin). Length: the sum of the weights
// reduced by their gcd.
std::vector<Kind> build_schedule(const Mix& mix);

}  // namespace dtlsgate::flood
