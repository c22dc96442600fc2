// A cache line fetched for writing (PREFETCHW): when another core wrote it last, it comes over
// once, owned, instead of shared first and upgraded at the write (two trips to that core).
//
// In asm because DPDK's pkg-config flags put -march=corei7 after ours on every file that
// includes DPDK headers, and there __builtin_prefetch(p, 1) and rte_prefetch0_write compile to
// a plain read prefetch (PREFETCHW needs -mprfchw). CPUs without it execute it as a NOP.
#pragma once

namespace dtlsgate::app {

inline void prefetch_for_write(const void* line) {
  asm volatile("prefetchw %0" ::"m"(*static_cast<const char*>(line)));
}

}  // namespace dtlsgate::app
