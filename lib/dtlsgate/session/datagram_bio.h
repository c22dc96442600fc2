// A BIO that carries whole datagrams both ways, for OpenSSL's DTLS code over plain memory.
//
// OpenSSL 3.0 has no datagram memory BIO (BIO_s_dgram_mem is 3.2+) and BIO_s_mem merges
// writes, so flights would leave as one blob. Here every BIO_write is one outgoing datagram
// and every BIO_read returns exactly one queued incoming datagram. The ctrls DTLS asks a
// datagram BIO (QUERY_MTU, GET_PEER, MTU overhead, fallback MTU, WPENDING) are answered from
// DatagramQueues, so OpenSSL sizes its records for our MTU and DTLSv1_listen learns the peer.
//
// Cost: one heap copy per datagram each way (a std::vector). The slow path handles thousands
// of handshakes per second, not millions of packets.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include <openssl/bio.h>

#include "dtlsgate/endpoint.h"

namespace dtlsgate {

struct DatagramQueues {
  std::deque<std::vector<uint8_t>> inbound;    // next BIO_read pops the front
  std::vector<std::vector<uint8_t>> outbound;  // one entry per BIO_write
  Endpoint peer;                               // answered to BIO_CTRL_DGRAM_GET_PEER
  uint16_t mtu = 1400;                         // UDP payload bytes per datagram

  void push_inbound(std::span<const uint8_t> datagram) {
    inbound.emplace_back(datagram.begin(), datagram.end());
  }
};

// A new BIO reading and writing *queues (not owned: it must outlive the BIO). Returns nullptr
// if OpenSSL cannot allocate. Use it as rbio and wbio: SSL_set_bio(ssl, bio, bio) takes the one
// reference.
BIO* new_datagram_bio(DatagramQueues* queues);

}  // namespace dtlsgate
