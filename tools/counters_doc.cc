// Prints every counter dtlsgate keeps as a Markdown table, straight from the lists in
// lib/dtlsgate/counters.h and lib/dtlsgate/session/session_counters.h, so the README table
// cannot drift from the code (tools/update-readme-counters writes it; a test checks it).
#include <cstdio>
#include <string_view>

#include "dtlsgate/counters.h"
#include "dtlsgate/session/session_counters.h"

namespace {

void row(std::string_view kind, std::string_view name, std::string_view help) {
  std::printf("| `%.*s` | %.*s | %.*s |\n", static_cast<int>(name.size()), name.data(),
              static_cast<int>(kind.size()), kind.data(), static_cast<int>(help.size()),
              help.data());
}

}  // namespace

int main() {
  std::printf("| counter | kind | meaning |\n|---|---|---|\n");
#define DTLSGATE_X(name, help) row("I/O", #name, help);
  DTLSGATE_IO_COUNTERS(DTLSGATE_X)
#undef DTLSGATE_X
  for (const auto& info : dtlsgate::kVerdictInfo) {
    row(info.name.starts_with("drop_") ? "verdict (drop)" : "verdict", info.name, info.help);
  }
  for (const auto& info : dtlsgate::kSessionCounterInfo) row("slow path", info.name, info.help);
#define DTLSGATE_X(name, help) row("slow-path I/O", #name, help);
  DTLSGATE_SLOW_IO_COUNTERS(DTLSGATE_X)
#undef DTLSGATE_X
  return 0;
}
