// The Internet checksum against RFC 1071's definition, written the slow obvious way: 16-bit
// big-endian words, an odd last byte padded with a zero, end-around carries. Specified here:
// every length 0..300 at every alignment, sums chained over pieces, the fold's corner values,
// the RFC's own example, and the UDP and IPv4 header helpers on values worked out by hand.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "dtlsgate/checksum.h"

namespace dtlsgate {
namespace {

// RFC 1071 section 1, in network byte order: the folded one's-complement sum of the words.
uint16_t reference_sum(const uint8_t* p, std::size_t len) {
  uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len % 2 != 0) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// checksum_fold's result is in the native layout of the words it summed; this is it in
// network order, to compare with the reference.
uint16_t folded_in_network_order(uint64_t sum) {
  const uint16_t native = checksum_fold(sum);
  uint8_t b[2];
  std::memcpy(b, &native, 2);
  return static_cast<uint16_t>(b[0] << 8 | b[1]);
}

// One's-complement zero has two spellings (0x0000, 0xffff); a sum of all-zero bytes is 0x0000
// either way, and both implementations produce 0xffff only from non-zero input.
TEST(Checksum, EveryLengthAndAlignmentMatchesRfc1071) {
  std::mt19937 rng(1071);
  std::vector<uint8_t> buffer(300 + 64);
  for (uint8_t& b : buffer) b = static_cast<uint8_t>(rng());
  for (std::size_t offset = 0; offset < 32; ++offset) {
    for (std::size_t len = 0; len <= 300; ++len) {
      const uint8_t* p = buffer.data() + offset;
      ASSERT_EQ(folded_in_network_order(checksum_add(0, p, len)), reference_sum(p, len))
          << "offset " << offset << " length " << len;
    }
  }
}

TEST(Checksum, AllOnesBytesNeedEveryCarry) {
  // 0xff bytes make every lane and every fold carry: the worst case for the end-around.
  const std::vector<uint8_t> ones(1500, 0xff);
  for (std::size_t len : {1, 2, 15, 16, 17, 63, 64, 65, 255, 1500}) {
    EXPECT_EQ(folded_in_network_order(checksum_add(0, ones.data(), len)),
              reference_sum(ones.data(), len))
        << "length " << len;
  }
}

TEST(Checksum, SumsChainOverEvenLengthPieces) {
  std::mt19937 rng(7);
  std::vector<uint8_t> data(257);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  for (std::size_t cut = 0; cut <= data.size(); cut += 2) {
    const uint64_t chained =
        checksum_add(checksum_add(0, data.data(), cut), data.data() + cut, data.size() - cut);
    EXPECT_EQ(folded_in_network_order(chained), reference_sum(data.data(), data.size()))
        << "cut at " << cut;
  }
}

TEST(Checksum, FoldTakesTheEndAroundCarryAtEveryWidth) {
  struct Case {
    uint64_t sum;
    uint16_t folded;
  };
  const Case cases[] = {
      {0, 0},
      {0xffff, 0xffff},
      {0x10000, 1},
      {0x1fffe, 0xffff},
      {0xffffffff, 0xffff},
      {0x100000000, 1},
      {0x1ffffffff, 1},  // 33 bits: 0x1 + 0xffffffff -> 1
      {0xffffffffffffffff, 0xffff},
      {0x0001000200030004, 10},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(checksum_fold(c.sum), c.folded) << std::hex << c.sum;
    EXPECT_EQ(checksum_finish(c.sum), static_cast<uint16_t>(~c.folded)) << std::hex << c.sum;
  }
}

TEST(Checksum, VerifiesExactlyWhenTheFoldIsAllOnes) {
  // checksum_verifies is the receive-side test without the fold: it must agree with
  // checksum_fold(sum) == 0xffff for every sum, the zero sum and the multiples of 0xffff
  // (2^16 = 1 modulo 0xffff) included.
  const uint64_t corners[] = {0,
                              1,
                              0xfffe,
                              0xffff,
                              0x10000,
                              0x1fffe,
                              0x2fffd,
                              0xffff * 0xffffULL,
                              0xffffffff,
                              0x100000000,
                              0xffff000000000000,
                              0xffffffffffffffff,
                              0xfffffffffffffffe};
  for (uint64_t sum : corners) {
    EXPECT_EQ(checksum_verifies(sum), checksum_fold(sum) == 0xffff) << std::hex << sum;
  }
  std::mt19937_64 rng(11);
  for (int i = 0; i < 100000; ++i) {
    // Half of them multiples of 0xffff (the valid ones), shifted into every width.
    const uint64_t r = rng() >> (rng() % 64);
    const uint64_t sum = (i & 1) != 0 ? (r / 0xffff) * 0xffff : r;
    ASSERT_EQ(checksum_verifies(sum), checksum_fold(sum) == 0xffff) << std::hex << sum;
  }
}

TEST(Checksum, Rfc1071WorkedExample) {
  // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(folded_in_network_order(checksum_add(0, bytes, sizeof bytes)), 0xddf2);
}

TEST(Checksum, UdpOverIpv4WithItsPseudoHeader) {
  // 192.0.2.1:50123 -> 192.0.2.2:4433, payload "dtls": 0xd5cd, worked out by hand from
  // RFC 768's pseudo-header (addresses, 0, 17, UDP length 12) plus the UDP header and payload.
  const uint8_t src[4] = {192, 0, 2, 1};
  const uint8_t dst[4] = {192, 0, 2, 2};
  uint8_t udp[12] = {0xc3, 0xcb, 0x11, 0x51, 0x00, 0x0c, 0x00, 0x00, 'd', 't', 'l', 's'};
  const uint16_t computed = udp_checksum_ipv4(src, dst, udp, sizeof udp);
  std::memcpy(udp + 6, &computed, 2);
  EXPECT_EQ(udp[6] << 8 | udp[7], 0xd5cd);
  EXPECT_TRUE(udp_checksum_valid_ipv4(src, dst, udp, sizeof udp));
  udp[9] ^= 0x01;
  EXPECT_FALSE(udp_checksum_valid_ipv4(src, dst, udp, sizeof udp));
}

TEST(Checksum, Ipv4HeaderTextbookExample) {
  // The header of the common textbook example (192.168.0.1 -> 192.168.0.199, UDP): b861.
  uint8_t header[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                        0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  const uint16_t c = ipv4_header_checksum(header, sizeof header);
  std::memcpy(header + 10, &c, 2);
  EXPECT_EQ(header[10] << 8 | header[11], 0xb861);
  EXPECT_TRUE(ipv4_header_valid(header, sizeof header));
  header[15] ^= 0x80;
  EXPECT_FALSE(ipv4_header_valid(header, sizeof header));
}

}  // namespace
}  // namespace dtlsgate
