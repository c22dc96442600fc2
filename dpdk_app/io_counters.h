// The I/O shell's own counters (DTLSGATE_IO_COUNTERS in lib/dtlsgate/counters.h) as a struct
// plus a generated name/member table, so stats lines, telemetry and the summary JSON walk the
// same list and cannot drift apart.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dtlsgate/counters.h"

namespace dtlsgate::app {

struct IoCounters {
#define DTLSGATE_X(name, help) uint64_t name = 0;
  DTLSGATE_IO_COUNTERS(DTLSGATE_X)
#undef DTLSGATE_X
};

struct IoCounterInfo {
  std::string_view name;
  std::string_view help;
  uint64_t IoCounters::*member;
};

inline constexpr IoCounterInfo kIoCounterInfo[] = {
#define DTLSGATE_X(name, help) {#name, help, &IoCounters::name},
    DTLSGATE_IO_COUNTERS(DTLSGATE_X)
#undef DTLSGATE_X
};

inline constexpr std::size_t kIoCounterCount = std::size(kIoCounterInfo);

// Everything one RX/TX queue pair counts (one worker lcore on one port). Written only by the
// owning worker with plain increments; the main lcore reads it with relaxed atomic loads. Own
// cache lines, so two workers never share one.
struct alignas(64) QueueCounters {
  VerdictCounters verdicts;
  alignas(64) IoCounters io;
};

}  // namespace dtlsgate::app
