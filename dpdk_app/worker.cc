#include "worker.h"

#include <algorithm>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "dtlsgate/flow_table.h"
#include "pass_ring.h"
#include "prefetch_write.h"

namespace dtlsgate::app {
namespace {

// Slow-path shards a burst's passes are sorted into (the slow path runs on few threads); more
// rings than this are not used.
constexpr std::size_t kMaxPassRings = 16;

bool is_reply(Verdict v) {
  return v == Verdict::kReplyHvr || v == Verdict::kReplyArp || v == Verdict::kReplyNd;
}

bool is_pass(Verdict v) {
  return v == Verdict::kPassVerified || v == Verdict::kPassFlow;
}

// Hands a burst's passes to their slow-path rings, grouped by shard (a counting sort of their
// indices, arrival order kept within a shard, so each session's datagrams reach its thread in
// order): one enqueue per ring; what a ring refuses joins the drops. One 32-element array, out
// of line so that it stays off the frame of every poll: the 16 x 32 per-shard arrays this
// replaced put 31.6 KB on the lcore's stack, and that alone cost the worker a quarter of its
// rate, passes or not (tools/bench-pps inproc side by side, 2 pairs: hvr 13.3-13.6 -> 17.7-18.6
// Mpps, drop 11.6 -> 13.8-13.9, attack 10.9 -> 12.6-12.7; inlined, with a 4.9 KB frame, hvr
// took 16.9-17.9). Where that cost comes from we cannot count here (no PMU in this VM).
[[gnu::noinline]] void enqueue_passes(const WorkerContext& ctx, const WorkerQueue& q,
                                      rte_mbuf* const* pkts, const Verdict* verdicts,
                                      const PassInfo* pass, const uint8_t* passes,
                                      const uint8_t* shard, unsigned npass, std::size_t nrings,
                                      rte_mbuf** drop, uint16_t& ndrop) {
  unsigned start[kMaxPassRings + 1] = {};
  for (unsigned k = 0; k < npass; ++k) ++start[shard[k] + 1];
  for (std::size_t r = 0; r < nrings; ++r) start[r + 1] += start[r];
  unsigned fill[kMaxPassRings];
  std::copy(start, start + nrings, fill);
  PassedDatagram grouped[kBurst];
  for (unsigned k = 0; k < npass; ++k) {
    const unsigned i = passes[k];
    grouped[fill[shard[k]]++] = PassedDatagram{pkts[i], pass[i], verdicts[i], q.port_id};
  }
  IoCounters& io = q.counters->io;
  for (std::size_t r = 0; r < nrings; ++r) {
    const unsigned count = start[r + 1] - start[r];
    if (count == 0) continue;
    const PassedDatagram* first = grouped + start[r];
    const unsigned queued = rte_ring_enqueue_burst_elem(ctx.pass_rings[r], first,
                                                        sizeof(PassedDatagram), count, nullptr);
    if (queued < count) {
      io.ring_dropped += count - queued;
      for (unsigned k = queued; k < count; ++k) drop[ndrop++] = first[k].mbuf;
    }
  }
}

// An HVR reply whose IPv4 header and UDP checksums the NIC computes: the offsets it needs and
// the flags that ask for the sums (the classifier left the pseudo-header sum in the UDP field).
void mark_for_checksum_offload(rte_mbuf* m, const FrameRef& reply) {
  const bool ipv4 = reply.data[reply.reply_l3] >> 4 == 4;
  // The whole tx_offload word in one store: what the RX side left in its other fields (L4,
  // TSO, outer lengths) must not reach the PMD.
  m->tx_offload = rte_mbuf_tx_offload(
      reply.reply_l3, ipv4 ? sizeof(rte_ipv4_hdr) : sizeof(rte_ipv6_hdr), 0, 0, 0, 0, 0);
  m->ol_flags = ipv4 ? RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM
                     : RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
}

unsigned poll_queue(const WorkerContext& ctx, const WorkerQueue& q) {
  rte_mbuf* pkts[kBurst];
  const uint16_t n = rte_eth_rx_burst(q.port_id, q.queue_id, pkts, kBurst);
  const uint16_t tx_queue = q.tx_queue_id == kSameAsRx ? q.queue_id : q.tx_queue_id;
  if (n == 0) return 0;

  // A reply's lengths and flags are written into its mbuf header. Behind a NIC the PMD wrote
  // the header on this core and this is one instruction per frame; where another core wrote it
  // (a ring fed by another lcore, the inproc bench's generator) it saves a trip: side by side
  // (tools/bench-pps inproc, 3 rounds of 2 s, hugepages) hvr 19.6-20.2 -> 20.3-20.9 Mpps, drop
  // 14.3-14.5 -> 15.4-15.8, attack 12.2-12.3 -> 14.5-14.8, verify 13.8-14.0 -> 13.5-13.8
  // (passes are not written here: owning their headers only delays the slow path's free).
  for (uint16_t i = 0; i < n; ++i) prefetch_for_write(pkts[i]);
  // The classifier reads every frame whole (a ClientHello spans 4-5 cache lines) and nothing
  // guarantees they are in this core's cache (another core or a device wrote them): start the
  // loads of all of them for the whole burst now.
  for (uint16_t i = 0; i < n; ++i) {
    const auto* data = rte_pktmbuf_mtod(pkts[i], const char*);
    const uint16_t len = pkts[i]->data_len;
    for (uint16_t off = 0; off < len; off = static_cast<uint16_t>(off + RTE_CACHE_LINE_SIZE))
      rte_prefetch0(data + off);
  }

  IoCounters& io = q.counters->io;
  FrameRef frames[kBurst];
  for (uint16_t i = 0; i < n; ++i) {
    // A multi-segment frame shows only its first segment: lib drops it as truncated.
    // Replies may use the tailroom (an ND advertisement can outgrow its solicitation).
    const uint16_t capacity = static_cast<uint16_t>(
        pkts[i]->data_len + (pkts[i]->nb_segs == 1 ? rte_pktmbuf_tailroom(pkts[i]) : 0));
    // Only GOOD counts: UNKNOWN (not checked, e.g. every virtual device), BAD and NONE leave
    // the sum to lib, which names the drop.
    const uint64_t flags = pkts[i]->ol_flags;
    const RxChecksums verified{
        (flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD,
        (flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD};
    frames[i] =
        FrameRef{rte_pktmbuf_mtod(pkts[i], uint8_t*), pkts[i]->data_len, capacity, verified};
    io.rx_bytes += pkts[i]->pkt_len;
  }
  io.rx_packets += n;

  Verdict verdicts[kBurst];
  PassInfo pass[kBurst];
  const CookieKeySet& keys = *ctx.keyring->snapshot();
  if (q.limiter != nullptr)
    q.limiter->set_time(
        static_cast<uint64_t>(static_cast<double>(rte_get_tsc_cycles()) * ctx.ns_per_tsc));
  q.classifier->classify_burst(keys, frames, n, verdicts, pass, q.counters->verdicts);

  rte_mbuf* tx[kBurst];
  rte_mbuf* drop[kBurst];
  uint8_t passes[kBurst];  // indices of the pass verdicts
  uint8_t shard[kBurst];   // their rings
  uint16_t ntx = 0, ndrop = 0, npass = 0;
  const std::size_t nrings = std::min(ctx.pass_rings.size(), kMaxPassRings);

  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const Verdict v = verdicts[i];
    if (is_reply(v)) {
      if (m->nb_segs != 1) {  // the reply lives in the first segment only
        rte_pktmbuf_free(m->next);
        m->next = nullptr;
        m->nb_segs = 1;
      }
      m->data_len = frames[i].len;
      m->pkt_len = frames[i].len;
      if (v == Verdict::kReplyHvr && q.tx_checksum_offload) {
        mark_for_checksum_offload(m, frames[i]);
      } else {
        m->ol_flags = 0;  // checksums are written by lib; RX flags mean nothing on TX
      }
      tx[ntx++] = m;
    } else if (is_pass(v) && nrings > 0) {
      passes[npass] = static_cast<uint8_t>(i);
      shard[npass++] = static_cast<uint8_t>(nrings == 1 ? 0 : hash_flow(pass[i].flow) % nrings);
    } else {
      drop[ndrop++] = m;
    }
  }

  if (ntx > 0) {
    // Where the offload is on, the PMD may still want the frames adjusted for its NIC
    // (rte_eth_tx_prepare: a no-op call on PMDs without such needs); one it refuses is a drop.
    const uint16_t ready =
        q.tx_checksum_offload ? rte_eth_tx_prepare(q.port_id, tx_queue, tx, ntx) : ntx;
    const uint16_t sent = rte_eth_tx_burst(q.port_id, tx_queue, tx, ready);
    io.tx_packets += sent;
    if (sent < ntx) {
      io.tx_dropped += ntx - sent;
      rte_pktmbuf_free_bulk(tx + sent, ntx - sent);
    }
  }
  if (npass != 0)
    enqueue_passes(ctx, q, pkts, verdicts, pass, passes, shard, npass, nrings, drop, ndrop);
  if (ndrop > 0) rte_pktmbuf_free_bulk(drop, ndrop);
  return n;
}

}  // namespace

unsigned poll_once(const WorkerContext& ctx) {
  unsigned received = 0;
  for (const WorkerQueue& q : ctx.queues) received += poll_queue(ctx, q);
  return received;
}

int run_worker(void* worker_context) {
  const auto& ctx = *static_cast<const WorkerContext*>(worker_context);
  while (!ctx.stop->load(std::memory_order_relaxed)) poll_once(ctx);
  return 0;
}

}  // namespace dtlsgate::app
