// write_udp_frame against the test frame builder (written independently) and lib's own parser:
// the slow path's datagrams must be frames the fast path itself would accept.
#include "dtlsgate/udp_frame_writer.h"

#include <gtest/gtest.h>

#include <numeric>
#include <string>

#include "dtlsgate/wire/packet.h"
#include "support/frame_builder.h"

namespace dtlsgate {
namespace {

using test::Bytes;

Endpoint endpoint_of(const std::string& ip, uint16_t port) {
  const Bytes a = test::parse_ip(ip);
  return a.size() == 4 ? Endpoint::ipv4(a.data(), port) : Endpoint::ipv6(a.data(), port);
}

struct FrameCase {
  const char* name;
  std::string server_ip;
  std::string client_ip;
  uint16_t server_port;
  uint16_t client_port;
  std::size_t payload_len;
};

const FrameCase kCases[] = {
    {"ipv4 empty payload", "10.77.0.2", "10.77.0.1", 4433, 40000, 0},
    {"ipv4 odd payload", "10.77.0.2", "10.77.0.1", 4433, 51234, 77},
    {"ipv4 full 1400-byte datagram", "192.0.2.1", "198.51.100.9", 4433, 1, 1400},
    {"ipv6 odd payload", "fd77::2", "fd77::1", 4433, 40001, 333},
    {"ipv6 full 1400-byte datagram", "2001:db8::1", "2001:db8:ffff::abcd", 5684, 65535, 1400},
};

const LinkAddresses kLink{{0x02, 0, 0, 0, 0, 0x01}, {0x02, 0, 0, 0, 0, 0x02}};

Bytes payload_of(std::size_t n) {
  Bytes p(n);
  std::iota(p.begin(), p.end(), uint8_t{7});
  return p;
}

TEST(UdpFrameWriter, MatchesAnIndependentlyBuiltFrameByteForByte) {
  for (const FrameCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const FlowKey flow{endpoint_of(c.client_ip, c.client_port),
                       endpoint_of(c.server_ip, c.server_port)};
    const Bytes payload = payload_of(c.payload_len);
    Bytes out(2048, 0xee);
    const std::size_t n = write_udp_frame(out, flow, kLink, payload);
    ASSERT_EQ(n, udp_frame_header_len(flow.server.family) + payload.size());
    out.resize(n);

    test::UdpFrameSpec spec;
    spec.src_mac = kLink.source;
    spec.dst_mac = kLink.destination;
    spec.src_ip = c.server_ip;
    spec.dst_ip = c.client_ip;
    spec.src_port = c.server_port;
    spec.dst_port = c.client_port;
    Bytes expected = test::build_udp_frame(spec, payload);
    if (flow.server.family == AddressFamily::kIpv4) {
      expected[14 + 4] = 0;  // identification 0: DF is set
      expected[14 + 5] = 0;
      test::fix_checksums(spec, expected);
    }
    EXPECT_EQ(out, expected);
  }
}

TEST(UdpFrameWriter, TheFastPathParserAcceptsTheFrameAndReadsTheFlowBack) {
  for (const FrameCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const FlowKey flow{endpoint_of(c.client_ip, c.client_port),
                       endpoint_of(c.server_ip, c.server_port)};
    const Bytes payload = payload_of(c.payload_len);
    Bytes out(2048);
    const std::size_t n = write_udp_frame(out, flow, kLink, payload);
    ASSERT_GT(n, 0u);
    FrameView view;
    Verdict drop = Verdict::kDropTruncated;
    ASSERT_TRUE(parse_l2_l3(out.data(), static_cast<uint16_t>(n), &view, &drop))
        << verdict_name(drop);
    ASSERT_TRUE(parse_udp(out.data(), &view, &drop)) << verdict_name(drop);
    EXPECT_EQ(source_endpoint(out.data(), view), flow.server);
    EXPECT_EQ(destination_endpoint(out.data(), view), flow.client);
    EXPECT_EQ(Bytes(out.begin() + view.payload, out.begin() + view.payload + view.payload_len),
              payload);
  }
}

TEST(UdpFrameWriter, RefusesWhatDoesNotFitAndWritesNothing) {
  const FlowKey v4{endpoint_of("10.77.0.1", 1), endpoint_of("10.77.0.2", 2)};
  const FlowKey mixed{endpoint_of("fd77::1", 1), endpoint_of("10.77.0.2", 2)};
  const Bytes payload = payload_of(100);
  struct Case {
    const char* name;
    FlowKey flow;
    std::size_t buffer;
    std::size_t payload_len;
  };
  const Case cases[] = {
      {"buffer one byte short", v4, 14 + 20 + 8 + 100 - 1, 100},
      {"client and server of different families", mixed, 2048, 100},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Bytes out(c.buffer, 0xee);
    EXPECT_EQ(write_udp_frame(out, c.flow, kLink, std::span(payload).first(c.payload_len)), 0u);
    EXPECT_EQ(out, Bytes(c.buffer, 0xee));
  }
  Bytes exact(14 + 20 + 8 + 100);
  EXPECT_EQ(write_udp_frame(exact, v4, kLink, payload), exact.size()) << "exactly enough fits";
}

}  // namespace
}  // namespace dtlsgate
