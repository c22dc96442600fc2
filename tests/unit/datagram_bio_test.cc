// The datagram BIO keeps datagram boundaries both ways and answers the datagram ctrls OpenSSL's
// DTLS code asks.
#include "dtlsgate/session/datagram_bio.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dtlsgate {
namespace {

struct BioFixture {
  DatagramQueues queues;
  BIO* bio = nullptr;
  BioFixture() { bio = new_datagram_bio(&queues); }
  ~BioFixture() { BIO_free(bio); }
};

TEST(DatagramBio, EachWriteIsOneDatagram) {
  BioFixture f;
  ASSERT_NE(f.bio, nullptr);
  EXPECT_EQ(BIO_write(f.bio, "abc", 3), 3);
  EXPECT_EQ(BIO_write(f.bio, "defgh", 5), 5);
  ASSERT_EQ(f.queues.outbound.size(), 2u);
  EXPECT_EQ(std::string(f.queues.outbound[0].begin(), f.queues.outbound[0].end()), "abc");
  EXPECT_EQ(std::string(f.queues.outbound[1].begin(), f.queues.outbound[1].end()), "defgh");
  EXPECT_EQ(BIO_wpending(f.bio), 0);
}

TEST(DatagramBio, EachReadReturnsOneDatagramAndTruncatesLikeRecvfrom) {
  BioFixture f;
  const std::vector<std::string> inbound = {"first", "second datagram", "third"};
  for (const std::string& d : inbound) {
    f.queues.push_inbound({reinterpret_cast<const uint8_t*>(d.data()), d.size()});
  }
  char buf[64];
  EXPECT_EQ(BIO_pending(f.bio), 5);
  EXPECT_EQ(BIO_read(f.bio, buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "first");
  EXPECT_EQ(BIO_read(f.bio, buf, 6), 6);  // the rest of "second datagram" is gone
  EXPECT_EQ(std::string(buf, 6), "second");
  EXPECT_EQ(BIO_read(f.bio, buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "third");
  EXPECT_LT(BIO_read(f.bio, buf, sizeof buf), 0);
  EXPECT_TRUE(BIO_should_retry(f.bio));
  EXPECT_TRUE(BIO_should_read(f.bio));
}

TEST(DatagramBio, AnswersMtuQueries) {
  BioFixture f;
  f.queues.mtu = 1200;
  EXPECT_EQ(BIO_ctrl(f.bio, BIO_CTRL_DGRAM_QUERY_MTU, 0, nullptr), 1200);
  EXPECT_EQ(BIO_ctrl(f.bio, BIO_CTRL_DGRAM_GET_MTU, 0, nullptr), 1200);
  EXPECT_EQ(BIO_ctrl(f.bio, BIO_CTRL_DGRAM_SET_MTU, 1000, nullptr), 1000);
  EXPECT_EQ(BIO_ctrl(f.bio, BIO_CTRL_DGRAM_QUERY_MTU, 0, nullptr), 1000);
  EXPECT_EQ(BIO_ctrl(f.bio, BIO_CTRL_DGRAM_GET_FALLBACK_MTU, 0, nullptr), 548);  // IPv4 peer
  EXPECT_EQ(BIO_dgram_get_mtu_overhead(f.bio), 28u);
  EXPECT_EQ(BIO_ctrl(f.bio, BIO_CTRL_DGRAM_MTU_EXCEEDED, 0, nullptr), 0);
}

TEST(DatagramBio, TellsThePeerOfItsFlow) {
  struct Case {
    Endpoint peer;
    int family;
    std::size_t addr_len;
  };
  const uint8_t v4[4] = {192, 0, 2, 10};
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
  for (const Case& c : {Case{Endpoint::ipv4(v4, 50000), AF_INET, 4},
                        Case{Endpoint::ipv6(v6, 50001), AF_INET6, 16}}) {
    BioFixture f;
    f.queues.peer = c.peer;
    BIO_ADDR* addr = BIO_ADDR_new();
    EXPECT_GT(BIO_dgram_get_peer(f.bio, addr), 0);
    EXPECT_EQ(BIO_ADDR_family(addr), c.family);
    EXPECT_EQ(ntohs(BIO_ADDR_rawport(addr)), c.peer.port);
    uint8_t raw[16];
    std::size_t raw_len = sizeof raw;
    ASSERT_EQ(BIO_ADDR_rawaddress(addr, raw, &raw_len), 1);
    ASSERT_EQ(raw_len, c.addr_len);
    EXPECT_EQ(0, std::memcmp(raw, c.peer.addr.data(), raw_len));
    BIO_ADDR_free(addr);
  }
}

}  // namespace
}  // namespace dtlsgate
