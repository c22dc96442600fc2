#include "dtlsgate/session/datagram_bio.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace dtlsgate {
namespace {

// IPv4 + UDP and IPv6 + UDP header bytes: what BIO_dgram_get_mtu_overhead reports for a link
// MTU set with DTLS_set_link_mtu.
constexpr long kIpv4UdpOverhead = 20 + 8;
constexpr long kIpv6UdpOverhead = 40 + 8;
// OpenSSL's own datagram BIO falls back to these after repeated losses (576 and 1280 byte
// minimum link MTUs less headers); we do the same but never grow past the configured MTU.
constexpr long kIpv4FallbackPayload = 576 - kIpv4UdpOverhead;
constexpr long kIpv6FallbackPayload = 1280 - kIpv6UdpOverhead;

DatagramQueues* queues_of(BIO* bio) {
  return static_cast<DatagramQueues*>(BIO_get_data(bio));
}

int datagram_write(BIO* bio, const char* data, int len) {
  BIO_clear_retry_flags(bio);
  DatagramQueues* q = queues_of(bio);
  if (q == nullptr || len < 0) return -1;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  q->outbound.emplace_back(bytes, bytes + len);
  return len;
}

int datagram_read(BIO* bio, char* out, int len) {
  BIO_clear_retry_flags(bio);
  DatagramQueues* q = queues_of(bio);
  if (q == nullptr || len < 0) return -1;
  if (q->inbound.empty()) {
    BIO_set_retry_read(bio);
    return -1;
  }
  // Datagram semantics: whatever does not fit the reader's buffer is lost, as with recvfrom.
  const std::vector<uint8_t>& datagram = q->inbound.front();
  const int n =
      static_cast<int>(std::min<std::size_t>(datagram.size(), static_cast<std::size_t>(len)));
  if (n > 0) std::memcpy(out, datagram.data(), static_cast<std::size_t>(n));  // empty: no data()
  q->inbound.pop_front();
  return n;
}

long fill_peer(const DatagramQueues& q, BIO_ADDR* addr) {
  if (addr == nullptr) return 0;
  const uint16_t port = htons(q.peer.port);
  if (q.peer.family == AddressFamily::kIpv4) {
    if (!BIO_ADDR_rawmake(addr, AF_INET, q.peer.addr.data(), 4, port)) return 0;
    return sizeof(sockaddr_in);
  }
  if (!BIO_ADDR_rawmake(addr, AF_INET6, q.peer.addr.data(), 16, port)) return 0;
  return sizeof(sockaddr_in6);
}

long datagram_ctrl(BIO* bio, int cmd, long larg, void* parg) {
  DatagramQueues* q = queues_of(bio);
  if (q == nullptr) return 0;
  const bool v4 = q->peer.family == AddressFamily::kIpv4;
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return q->inbound.empty() ? 0 : static_cast<long>(q->inbound.front().size());
    case BIO_CTRL_WPENDING:
      // Every write already is its own datagram: nothing waits to be merged. dtls1_do_write
      // subtracts this from the MTU, so it must be 0.
      return 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_MTU:
      return q->mtu;
    case BIO_CTRL_DGRAM_SET_MTU:
      if (larg > 0 && larg <= 65507) q->mtu = static_cast<uint16_t>(larg);
      return q->mtu;
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return std::min<long>(q->mtu, v4 ? kIpv4FallbackPayload : kIpv6FallbackPayload);
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return v4 ? kIpv4UdpOverhead : kIpv6UdpOverhead;
    case BIO_CTRL_DGRAM_MTU_EXCEEDED:
      return 0;
    case BIO_CTRL_DGRAM_GET_PEER:
      return fill_peer(*q, static_cast<BIO_ADDR*>(parg));
    case BIO_CTRL_DGRAM_SET_PEER:
    case BIO_CTRL_DGRAM_CONNECT:
    case BIO_CTRL_DGRAM_SET_CONNECTED:
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
    case BIO_CTRL_DGRAM_SET_DONT_FRAG:
      // The peer is fixed by the flow; timers are driven by the engine's clock.
      return 1;
    default:  // incl. GET_RECV/SEND_TIMER_EXP: our timers never expire inside the BIO
      return 0;
  }
}

int datagram_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int datagram_destroy(BIO* bio) {
  BIO_set_data(bio, nullptr);
  BIO_set_init(bio, 0);
  return 1;
}

// One method table per process, built on first use and kept for the process lifetime (one
// small allocation; OpenSSL holds pointers to it from every BIO).
const BIO_METHOD* datagram_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dtlsgate datagram");
    if (m == nullptr) return m;
    BIO_meth_set_write(m, datagram_write);
    BIO_meth_set_read(m, datagram_read);
    BIO_meth_set_ctrl(m, datagram_ctrl);
    BIO_meth_set_create(m, datagram_create);
    BIO_meth_set_destroy(m, datagram_destroy);
    return m;
  }();
  return method;
}

}  // namespace

BIO* new_datagram_bio(DatagramQueues* queues) {
  const BIO_METHOD* method = datagram_method();
  if (method == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio != nullptr) BIO_set_data(bio, queues);
  return bio;
}

}  // namespace dtlsgate
