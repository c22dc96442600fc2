// Writes replies over the frame that caused them: the HelloVerifyRequest (DESIGN.md's byte
// layout, the same bytes OpenSSL's DTLSv1_listen sends), and the Ethernet/IP/UDP headers
// around it with addresses and ports swapped and both checksums computed in software.
//
// Cost: one 20-byte IPv4 header sum and one ~53-byte UDP sum (~10 ns); no copy of the
// request beyond the 6 record-sequence bytes.
#pragma once

#include <array>
#include <cstdint>

#include "dtlsgate/cookie/cookie.h"
#include "dtlsgate/wire/packet.h"

namespace dtlsgate {

inline constexpr uint16_t kHvrHeaderLen = 28;  // record 13 + handshake 12 + version 2 + len 1

// The HVR record: 28 + cookie_len bytes written to out. record_seq is the ClientHello's 48-bit
// record sequence number (6 bytes, echoed).
uint16_t write_hvr_record(uint8_t* out, const uint8_t record_seq[6], const uint8_t* cookie,
                          uint8_t cookie_len);

// Rewrites the frame (parsed as `view`, a UDP datagram) into a UDP reply whose payload is
// `payload_len` bytes the caller writes at the returned payload offset afterwards; then call
// finish_udp_reply. Split in two so the payload can be built in place after the headers.
struct UdpReply {
  uint16_t payload = 0;    // offset of the reply payload in the frame
  uint16_t frame_len = 0;  // length of the reply frame
};
UdpReply begin_udp_reply(uint8_t* frame, const FrameView& view, uint16_t payload_len,
                         const std::array<uint8_t, 6>& our_mac);
void finish_udp_reply(uint8_t* frame, const FrameView& view, const UdpReply& reply);

// A MAC as the HVR writer reads it: its 6 bytes, then 2 zero bytes, in one 8-byte load.
struct PaddedMac {
  uint64_t bytes = 0;  // native layout; 0: no MAC
  static PaddedMac of(const std::array<uint8_t, 6>& mac);
};

// Who computes an HVR reply's IPv4 header and UDP checksums.
enum class TxChecksums : uint8_t {
  kSoftware,  // both written here
  // The NIC's (DPDK TX offload: RTE_MBUF_F_TX_IP_CKSUM, RTE_MBUF_F_TX_UDP_CKSUM, set by the
  // shell): the IPv4 header checksum is left 0 and the UDP checksum field holds the folded,
  // uncomplemented pseudo-header sum, as DPDK's offload contract asks (rte_ipv4_phdr_cksum).
  // Skips the sums over the reply's UDP header and record (~20 instructions per HVR).
  kOffload,
};

// The whole HVR reply over a cookie-less ClientHello frame (parsed as `view`, its UDP payload
// the ClientHello record): headers swapped and rewritten, the HVR record with the hello's
// record sequence number (read from the frame before anything is written) and the
// kCookieLen-byte cookie, both checksums. Lengths are compile-time constants here, so the
// checksums unroll into straight-line code (~60 instructions for everything but the MACs).
// Returns the reply frame length; the reply's IP header stays at view.l3.
uint16_t write_hvr_reply(uint8_t* frame, const FrameView& view, const uint8_t cookie[kCookieLen],
                         PaddedMac our_mac, TxChecksums checksums = TxChecksums::kSoftware);

// ARP request for one of our addresses -> ARP reply, in place (same length).
void write_arp_reply(uint8_t* frame, const FrameView& view, const std::array<uint8_t, 6>& mac);

// Neighbour solicitation (ICMPv6 135) -> solicited neighbour advertisement with the target
// link-layer address option. Returns the reply length (l4 + 32).
uint16_t write_neighbor_advertisement(uint8_t* frame, const FrameView& view,
                                      const std::array<uint8_t, 6>& mac);

}  // namespace dtlsgate
