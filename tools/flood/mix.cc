#include "flood/mix.h"

#include <charconv>
#include <numeric>
#include <string>

#include "dtlsgate/printable.h"

namespace dtlsgate::flood {
namespace {

// A kind's weight, as given or summed over repeats: keeps a schedule under 8 M entries.
constexpr uint32_t kMaxWeight = 1000000;

constexpr std::array<std::string_view, kKindCount> kNames{{
#define DTLSGATE_X(e, name, help) #name,
    DTLSGATE_FLOOD_KINDS(DTLSGATE_X)
#undef DTLSGATE_X
}};

struct Preset {
  std::string_view name;
  std::string_view mix;
};
// drop-only: every way a frame is dropped, two of them after one MAC (forged, replay).
// attack: mostly spoofed hellos, some of everything else.
constexpr Preset kPresets[] = {
    {"hvr-only", "hvr=1"},
    {"verify-only", "verify=1"},
    {"drop-only", "stale=1,forged=1,replay=1,garbage=1,nondtls=1,nonudp=1"},
    {"attack", "hvr=70,verify=10,stale=5,forged=5,replay=5,garbage=3,nondtls=1,nonudp=1"},
};

}  // namespace

std::string_view kind_name(Kind kind) {
  return kNames[static_cast<std::size_t>(kind)];
}

bool needs_secret(Kind kind) {
  return kind == Kind::kVerify || kind == Kind::kStale || kind == Kind::kReplay;
}

uint32_t Mix::total() const {
  return std::accumulate(weight.begin(), weight.end(), 0u);
}

std::string mix_preset(std::string_view name) {
  for (const Preset& p : kPresets) {
    if (p.name == name) return std::string(p.mix);
  }
  return {};
}

std::vector<std::pair<std::string, Mix>> all_presets() {
  std::vector<std::pair<std::string, Mix>> presets;
  for (const Preset& p : kPresets) {
    Mix mix;
    std::string error;
    parse_mix(std::string(p.name), &mix, &error);  // cannot fail: the text is kPresets'
    presets.emplace_back(p.name, mix);
  }
  return presets;
}

bool parse_mix(const std::string& text_in, Mix* mix, std::string* error) {
  const std::string preset = mix_preset(text_in);
  const std::string text = preset.empty() ? text_in : preset;
  Mix out;
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(at, end - at);
    at = end + 1;
    const std::size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    uint32_t weight = 1;
    if (eq != std::string::npos) {
      const char* first = item.data() + eq + 1;
      const char* last = item.data() + item.size();
      const auto [ptr, ec] = std::from_chars(first, last, weight);
      if (ec != std::errc() || ptr != last || first == last || weight > kMaxWeight) {
        *error = "--mix: bad weight in '" + printable(item) + "' (an integer 0.." +
                 std::to_string(kMaxWeight) + ")";
        return false;
      }
    }
    std::size_t k = 0;
    while (k < kKindCount && kNames[k] != name) ++k;
    if (k == kKindCount) {
      std::string known;
      for (auto n : kNames) {
        if (!known.empty()) known += ',';
        known.append(n);
      }
      *error = "--mix: unknown kind '" + printable(name) + "' (kinds: " + known +
               "; presets: hvr-only, verify-only, drop-only, attack)";
      return false;
    }
    // A kind named twice adds up, within the same bound: the schedule holds one entry per
    // unit of weight (reduced by the gcd), so unbounded sums would make it unbounded too.
    if (out.weight[k] + weight > kMaxWeight) {
      *error =
          "--mix: kind '" + name + "' weighs more than " + std::to_string(kMaxWeight) + " in all";
      return false;
    }
    out.weight[k] += weight;
  }
  if (out.total() == 0) {
    *error = "--mix: all weights are zero";
    return false;
  }
  *mix = out;
  return true;
}

std::vector<Kind> build_schedule(const Mix& mix) {
  uint32_t divisor = 0;
  for (uint32_t w : mix.weight) divisor = std::gcd(divisor, w);
  std::array<int64_t, kKindCount> weight{};
  int64_t total = 0;
  for (std::size_t k = 0; k < kKindCount; ++k) {
    weight[k] = divisor == 0 ? 0 : mix.weight[k] / divisor;
    total += weight[k];
  }
  std::array<int64_t, kKindCount> current{};
  std::vector<Kind> schedule;
  schedule.reserve(static_cast<std::size_t>(total));
  for (int64_t i = 0; i < total; ++i) {
    std::size_t best = 0;
    for (std::size_t k = 0; k < kKindCount; ++k) {
      current[k] += weight[k];
      if (current[k] > current[best]) best = k;
    }
    current[best] -= total;
    schedule.push_back(static_cast<Kind>(best));
  }
  return schedule;
}

}  // namespace dtlsgate::flood
