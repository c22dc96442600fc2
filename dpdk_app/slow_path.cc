#include "slow_path.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <chrono>
#include <cstring>

#include "pass_ring.h"
#include "worker.h"

namespace dtlsgate::app {
namespace {

// Plain stores from the owning thread; other threads read with relaxed atomic loads.
void bump(uint64_t& counter, uint64_t by = 1) {
  __atomic_store_n(&counter, counter + by, __ATOMIC_RELAXED);
}

constexpr auto kIdleSleep = std::chrono::microseconds(100);
constexpr uint64_t kTimerCheckUs = 1000;

}  // namespace

SlowPath::SlowPath(SlowPathConfig config) : config_(std::move(config)) {
  engine_ = std::make_unique<SessionEngine>(*config_.tls, *config_.keys, config_.flows, echo_,
                                            config_.engine);
}

SlowPath::~SlowPath() {
  join_thread();
}

uint64_t SlowPath::monotonic_us() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

const SlowPathPort* SlowPath::port(uint16_t port_id) const {
  for (const SlowPathPort& p : config_.ports)
    if (p.port_id == port_id) return &p;
  return nullptr;
}

unsigned SlowPath::poll_once(uint64_t now_us) {
  PassedDatagram in[kBurst];
  const unsigned n =
      rte_ring_dequeue_burst_elem(config_.ring, in, sizeof(PassedDatagram), kBurst, nullptr);
  rte_mbuf* done[kBurst];
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = in[i].mbuf;
    const PassInfo& pass = in[i].pass;
    const uint8_t* frame = rte_pktmbuf_mtod(m, const uint8_t*);
    if (in[i].verdict == Verdict::kPassVerified) {
      // The frame that may create the session: its Ethernet source is where replies go.
      PeerLink link;
      link.port_id = in[i].port_id;
      std::memcpy(link.mac.data(), frame + 6, 6);
      peers_.insert_or_assign(pass.flow, link);
    }
    engine_->on_datagram(in[i].verdict, pass.flow,
                         std::span<const uint8_t>(frame + pass.payload_offset, pass.payload_len),
                         now_us);
    done[i] = m;
  }
  if (n > 0) {
    rte_pktmbuf_free_bulk(done, n);
    bump(io_.slow_path_received, n);
  }
  // next_deadline walks every session: look at most once a millisecond (DTLS timers are in
  // hundreds of milliseconds and more).
  if (now_us >= next_timer_check_us_) {
    if (auto deadline = engine_->next_deadline(); deadline && *deadline <= now_us)
      engine_->on_timer(now_us);
    next_timer_check_us_ = now_us + kTimerCheckUs;
  }
  send_output();
  // After sending (a closing session may have had a last datagram): every peer we remember
  // has a session, so fewer sessions than peers means some closed. O(peers), only then.
  if (engine_->session_count() < peers_.size()) forget_closed_peers();
  return n;
}

void SlowPath::forget_closed_peers() {
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (engine_->has_session(it->first)) {
      ++it;
    } else {
      it = peers_.erase(it);
    }
  }
}

void SlowPath::send_output() {
  std::vector<OutgoingDatagram> out = engine_->take_output();
  if (out.empty()) return;
  // Grouped per port, sent in order, one burst per port.
  for (const SlowPathPort& p : config_.ports) {
    rte_mbuf* tx[kBurst];
    uint16_t ntx = 0;
    auto flush = [&] {
      if (ntx == 0) return;
      const uint16_t sent = rte_eth_tx_burst(p.port_id, p.tx_queue, tx, ntx);
      bump(io_.slow_tx_packets, sent);
      if (sent < ntx) {
        bump(io_.slow_tx_dropped, ntx - sent);
        rte_pktmbuf_free_bulk(tx + sent, ntx - sent);
      }
      ntx = 0;
    };
    for (const OutgoingDatagram& d : out) {
      auto peer = peers_.find(d.flow);
      if (peer == peers_.end() || peer->second.port_id != p.port_id) continue;
      const std::size_t len = udp_frame_header_len(d.flow.server.family) + d.payload.size();
      rte_mbuf* m = rte_pktmbuf_alloc(config_.pool);
      if (m == nullptr) {
        bump(io_.slow_tx_dropped);
        continue;
      }
      uint8_t* data =
          len <= rte_pktmbuf_tailroom(m)
              ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)))
              : nullptr;
      const LinkAddresses link{p.mac, peer->second.mac};
      if (data == nullptr ||
          write_udp_frame(std::span<uint8_t>(data, len), d.flow, link, d.payload) != len) {
        rte_pktmbuf_free(m);
        bump(io_.slow_tx_unroutable);
        continue;
      }
      tx[ntx++] = m;
      if (ntx == kBurst) flush();
    }
    flush();
  }
  for (const OutgoingDatagram& d : out) {
    auto peer = peers_.find(d.flow);
    if (peer == peers_.end() || port(peer->second.port_id) == nullptr) bump(io_.slow_tx_unroutable);
  }
}

void SlowPath::run(const std::atomic<bool>* stop) {
  while (!stop->load(std::memory_order_relaxed)) {
    if (poll_once(monotonic_us()) > 0) continue;
    std::this_thread::sleep_for(kIdleSleep);
  }
  // Workers have stopped by now or stop with us: take what they queued.
  while (poll_once(monotonic_us()) > 0) {
  }
}

int SlowPath::run_on_lcore(void* slow_path) {
  auto* self = static_cast<SlowPath*>(slow_path);
  self->run(self->stop_);
  return 0;
}

void SlowPath::start_thread(const std::atomic<bool>* stop) {
  stop_ = stop;
  thread_ = std::thread([this] { run(stop_); });
}

void SlowPath::join_thread() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace dtlsgate::app
