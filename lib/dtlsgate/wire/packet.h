// Zero-copy, bounds-checked views of Ethernet (0-2 VLAN tags) / IPv4 / IPv6 / UDP / ARP /
// ICMPv6. A parse either yields offsets into the frame or the Verdict that names why the frame
// is dropped; nothing is copied and no byte past `len` is read.
#pragma once

#include <cstdint>

#include "dtlsgate/counters.h"
#include "dtlsgate/endpoint.h"

namespace dtlsgate {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr int kMaxVlanTags = 2;

enum class L3Kind : uint8_t { kIpv4, kIpv6, kArp };

// What parse_frame found. Offsets are from the start of the frame.
struct FrameView {
  L3Kind kind = L3Kind::kIpv4;
  uint8_t l4_proto = 0;      // IP protocol / IPv6 next header
  uint16_t l3 = 0;           // IP or ARP header
  uint16_t l4 = 0;           // UDP or ICMPv6 header
  uint16_t l4_len = 0;       // from the IP header (UDP length is checked against it)
  uint16_t payload = 0;      // UDP payload
  uint16_t payload_len = 0;  // UDP payload length
};

// Checksums the NIC already verified and found good (DPDK: RTE_MBUF_F_RX_IP_CKSUM_GOOD,
// RTE_MBUF_F_RX_L4_CKSUM_GOOD). Those are not summed again, which saves ~10 instructions for an
// IPv4 header and ~70 for a 230-byte UDP datagram; anything a NIC leaves unknown, bad or
// unchecked (every virtual device here) is verified in software as before.
struct RxChecksums {
  bool ipv4_header_good = false;
  bool l4_good = false;
};

// Ethernet, VLANs and the IP header. On success returns true; kind says which L3 follows.
// For IPv4/IPv6 the header is validated (version, lengths, IPv4 checksum, fragments, IPv6
// extension headers) and l4/l4_len/l4_proto are set. On failure *drop says why.
bool parse_l2_l3(const uint8_t* frame, uint16_t len, FrameView* view, Verdict* drop,
                 RxChecksums verified = {});

// The two forms of parse_l2_l3, exposed so a test can hold them to the same answers: the
// combined test for an untagged, option-less IPv4 frame (fills *view only when it passes) and
// the general walk over VLAN tags and headers (names the drop).
namespace detail {
bool untagged_ipv4_passes_at_once(const uint8_t* frame, uint16_t len, FrameView* view,
                                  RxChecksums verified);
bool parse_l2_l3_walk(const uint8_t* frame, uint16_t len, FrameView* view, Verdict* drop,
                      RxChecksums verified);
}  // namespace detail

// The UDP header at view->l4 (view->l4_proto must be UDP): length against the IP payload,
// then the checksum (IPv4: 0 means none; IPv6: required). Sets payload/payload_len.
bool parse_udp(const uint8_t* frame, FrameView* view, Verdict* drop, RxChecksums verified = {});

// Endpoints of an IP/UDP frame (after parse_udp).
Endpoint source_endpoint(const uint8_t* frame, const FrameView& view);
Endpoint destination_endpoint(const uint8_t* frame, const FrameView& view);

// The same 5-tuple as pointers into the headers (source = client, destination = server).
inline WireFlow wire_flow(const uint8_t* frame, const FrameView& view) {
  const bool ipv6 = view.kind == L3Kind::kIpv6;
  return WireFlow{
      .ipv6 = ipv6, .addresses = frame + view.l3 + (ipv6 ? 8 : 12), .ports = frame + view.l4};
}

}  // namespace dtlsgate
