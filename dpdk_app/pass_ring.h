// What a worker hands a slow-path thread: the mbuf plus what the classifier already learned
// about it (verdict, 5-tuple, where the UDP payload is), as one ring element, so the slow path
// never parses a frame again and dpdk_app parses no protocol.
#pragma once

#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <string>

#include "dtlsgate/classifier.h"
#include "dtlsgate/counters.h"

struct rte_mbuf;

namespace dtlsgate::app {

struct PassedDatagram {
  rte_mbuf* mbuf = nullptr;
  PassInfo pass;
  Verdict verdict = Verdict::kPassVerified;
  uint16_t port_id = 0;  // where it arrived (not every PMD fills mbuf->port)
};
static_assert(sizeof(PassedDatagram) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

// Many workers enqueue, one slow-path thread dequeues. nullptr and *error on failure.
inline rte_ring* create_pass_ring(const std::string& name, unsigned size, int socket,
                                  std::string* error) {
  rte_ring* ring =
      rte_ring_create_elem(name.c_str(), sizeof(PassedDatagram), size, socket, RING_F_SC_DEQ);
  if (ring == nullptr && error != nullptr)
    *error = "cannot create ring " + name + ": " + rte_strerror(rte_errno);
  return ring;
}

}  // namespace dtlsgate::app
