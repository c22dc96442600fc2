// The fast path: one verdict per frame, taken the way OpenSSL's DTLSv1_listen would, and the
// reply (HVR, ARP, ND) written over the received frame in place.
//
// sans-I/O: frames are plain byte buffers (the DPDK shell hands mbuf data pointers). Nothing is
// allocated, no lock taken, no syscall made. Cost on this machine: see BENCHMARKS.md
// (BM_Classify/*).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dtlsgate/cookie/cookie.h"
#include "dtlsgate/cookie/cookie_batch.h"
#include "dtlsgate/counters.h"
#include "dtlsgate/endpoint.h"
#include "dtlsgate/hvr_writer.h"
#include "dtlsgate/wire/packet.h"
#include "dtlsgate/wire/udp_prediction.h"

namespace dtlsgate {

class FlowTable;
class HvrRateLimiter;

struct ClassifierConfig {
  std::vector<std::array<uint8_t, 4>> ipv4;   // addresses we answer for
  std::vector<std::array<uint8_t, 16>> ipv6;  // addresses we answer for
  std::vector<uint16_t> ports{4433};          // UDP ports we serve (host order)
  std::array<uint8_t, 6> mac{};               // our MAC (ARP / ND replies)
  // Header prediction for UDP to the first address and port, IPv4 (UdpToUsPrediction) and IPv6
  // (UdpToUsIpv6Prediction). Off, every frame takes the general walk: same verdicts and bytes,
  // more instructions (the tests compare the two).
  bool header_prediction = true;
  // kOffload where the port computes IPv4 header and UDP checksums on TX: HVR replies then
  // leave them to the NIC (hvr_writer.h) and say where their IP header is (FrameRef::reply_l3).
  TxChecksums tx_checksums = TxChecksums::kSoftware;
};

// A frame as the I/O shell sees it. len is updated when the frame is rewritten into a reply.
struct FrameRef {
  uint8_t* data = nullptr;
  uint16_t len = 0;
  uint16_t capacity = 0;       // bytes writable at data (0: just len); only ND replies may grow
  RxChecksums rx_checksums{};  // what the NIC verified (offload flags of the mbuf)
  // Set with kReplyHvr under TxChecksums::kOffload: the reply's IP header offset (DPDK's
  // l2_len; the header is 20 bytes for IPv4, 40 for IPv6).
  uint16_t reply_l3 = 0;
};

// Filled for the pass verdicts: what the slow path needs without parsing again.
struct PassInfo {
  FlowKey flow;
  uint16_t payload_offset = 0;  // UDP payload within the frame
  uint16_t payload_len = 0;
};

class Classifier {
 public:
  Classifier(ClassifierConfig config, const FlowTable* flows);

  // Classifies one frame. For kReplyHvr/kReplyArp/kReplyNd the frame now holds the reply and
  // frame.len its length (never larger than before). For kPass* fills *pass (if non-null).
  Verdict classify(const CookieKeySet& keys, FrameRef& frame, PassInfo* pass) const;

  // A burst: one key snapshot for all frames, verdicts and counts out. Frames are parsed first,
  // then the burst's cookie MACs run interleaved (CookieBatch), then replies are written.
  void classify_burst(const CookieKeySet& keys, FrameRef* frames, std::size_t n, Verdict* verdicts,
                      PassInfo* pass, VerdictCounters& counters) const;

  const ClassifierConfig& config() const { return config_; }

  // Caps the HVRs this classifier sends (reflection guard). The limiter is per-worker state:
  // a classifier with a limiter belongs to one worker. nullptr (the default) = no cap.
  void set_rate_limiter(HvrRateLimiter* limiter) { limiter_ = limiter; }

 private:
  struct Pending;
  // First pass: every decision that needs no MAC; queues the rest on the batch.
  bool classify_until_mac(FrameRef& frame, PassInfo* pass, CookieBatch& batch, Pending* pending,
                          Verdict* verdict) const;
  bool classify_udp(FrameRef& frame, FrameView& view, PassInfo* pass, CookieBatch& batch,
                    Pending* pending, Verdict* verdict) const;
  // A UDP datagram to us whose headers and checksums passed: the flow table, the ClientHello
  // and the cookie. Shared by the walk and the prediction.
  bool classify_datagram(FrameRef& frame, const FrameView& view, PassInfo* pass, CookieBatch& batch,
                         Pending* pending, Verdict* verdict) const;
  // Second pass, after the batch ran: write the HVR or read the verification.
  template <TxChecksums kTx>
  Verdict finish(FrameRef& frame, const Pending& pending, const CookieBatch& batch) const;
  // The second pass for a port with TX checksum offload (a burst's frames, from its first).
  void finish_offloaded(FrameRef* frames, const Pending* pending, const uint8_t* waiting,
                        std::size_t waiting_count, const CookieBatch& batch,
                        Verdict* verdicts) const;
  Verdict classify_arp(FrameRef& frame, const FrameView& view) const;
  Verdict classify_icmpv6(FrameRef& frame, const FrameView& view) const;
  bool is_our_ipv4(const uint8_t* addr) const;
  bool is_our_ipv6(const uint8_t* addr) const;
  bool is_our_port(uint16_t port) const;

  ClassifierConfig config_;
  PaddedMac reply_mac_;  // config_.mac, as the HVR writer loads it
  UdpToUsPrediction prediction_;
  UdpToUsIpv6Prediction prediction_ipv6_;
  const FlowTable* flows_;
  HvrRateLimiter* limiter_ = nullptr;
};

}  // namespace dtlsgate
