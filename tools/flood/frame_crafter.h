// Builds one Ethernet frame template per (kind, address family) once, then turns a copy of it
// into a packet by patching only what changes per packet: the source address and port, the
// cookie (for the cookie kinds) and the checksums. The checksums are updated from sums
// precomputed over the fixed bytes, so a patch sums ~40 bytes instead of the whole frame:
// ~15 ns for a cookie-less hello, ~40 ns with a cookie (one AES-CMAC) on this machine;
// patch_burst mints a burst's cookies with interleaved CMAC chains (CookieBatch), as the target
// checks them, so a generator core keeps up with a worker on the cookie kinds too.
//
// Shared by build/tools/dtlsgate-flood (DPDK) and build/bench/dtlsgate-pipeline (no EAL), so
// the benchmark classifies exactly the frames the generator sends.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "dtlsgate/cookie/cookie.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/endpoint.h"
#include "dtlsgate/wire/client_hello.h"
#include "flood/mix.h"
#include "flood/source_range.h"

namespace dtlsgate::flood {

struct TargetSpec {
  std::array<uint8_t, 6> dst_mac{0x02, 0, 0, 0, 0, 0x01};
  std::array<uint8_t, 6> src_mac{0x02, 0, 0, 0, 0, 0x02};
  std::optional<Endpoint> ipv4;  // the filter's address and DTLS port, per family
  std::optional<Endpoint> ipv6;
};

// The target's master secret and rotation (its --secret-file and --rotation): what the
// generator needs to mint cookies the target accepts, or exactly-stale ones.
struct TargetSecret {
  MasterSecret master{};
  uint64_t rotation_seconds = 30;
};

struct FrameTemplate {
  Kind kind = Kind::kHvr;
  AddressFamily family = AddressFamily::kIpv4;
  std::vector<uint8_t> bytes;
  uint16_t l3 = 0;
  uint16_t l4 = 0;
  uint16_t checksum_at = 0;    // L4 checksum field
  bool udp = true;             // a computed UDP checksum of 0 is sent as FFFF
  uint16_t cookie_at = 0;      // 0: no cookie; else kCookieLen bytes at this offset
  uint16_t cookie_window = 0;  // even-aligned span around the cookie, summed per packet
  uint16_t cookie_window_len = 0;
  uint16_t payload = 0;      // UDP payload, for the cookie input
  uint64_t l4_base_sum = 0;  // pseudo-header + L4 without source, port, cookie window
  uint64_t ip_base_sum = 0;  // IPv4 header without source and checksum
};

// One frame of a burst for FrameCrafter::patch_burst.
struct PatchJob {
  const FrameTemplate* t = nullptr;
  uint8_t* frame = nullptr;  // holds t->bytes
  Endpoint source;
};

class FrameCrafter {
 public:
  // hello: a cookie-less ClientHello datagram payload (client_hello_source.h). secret may be
  // absent when no kind that needs it (needs_secret) is sent. seed fixes garbage and TCP bytes.
  FrameCrafter(const std::vector<uint8_t>& hello, const TargetSpec& target,
               std::optional<TargetSecret> secret, uint64_t unix_seconds, uint64_t seed);

  bool has_family(AddressFamily family) const;
  const FrameTemplate& frame_template(Kind kind, AddressFamily family) const;

  // Call about once a second: follows the target's key epochs.
  void set_time(uint64_t unix_seconds);

  // frame holds frame_template(kind, source.family).bytes; writes the per-packet fields.
  void patch(const FrameTemplate& t, uint8_t* frame, const Endpoint& source,
             FastRandom& random) const;

  // The same as patch() on each job in order (byte for byte, the same draws from random), with
  // the cookies of up to CookieBatch::kMaxBurst frames at a time computed together.
  void patch_burst(const PatchJob* jobs, std::size_t n, FastRandom& random) const;

 private:
  void build_keys(uint64_t epoch);
  CookieInput cookie_input(const FrameTemplate& t, const uint8_t* frame,
                           const Endpoint& client) const;
  // Writes the source address and port; returns the L4 sum without the cookie window.
  static uint64_t write_source(const FrameTemplate& t, uint8_t* frame, const Endpoint& source);
  // The forged kind's cookie: the current key's id, so the target spends a MAC on it.
  void forge_cookie(uint8_t* cookie, FastRandom& random) const;
  // Adds the cookie window to sum and stores both checksums.
  static void write_checksums(const FrameTemplate& t, uint8_t* frame, const Endpoint& source,
                              uint64_t sum);

  std::array<std::array<FrameTemplate, kKindCount>, 2> templates_;
  std::array<bool, 2> families_{};
  std::array<Endpoint, 2> servers_{};
  std::optional<TargetSecret> secret_;
  uint64_t epoch_ = 0;
  CookieKeySet current_{};
  CookieKeySet stale_{};
  ClientHelloView hello_{};  // offsets in the template payloads (the cookie comes after)
};

// What came back from the target.
struct ReplyInfo {
  bool hvr = false;        // a well-formed HelloVerifyRequest (checksums right)
  uint8_t cookie_len = 0;  // of that HVR
};
ReplyInfo inspect_reply(const uint8_t* frame, uint16_t len);

}  // namespace dtlsgate::flood
