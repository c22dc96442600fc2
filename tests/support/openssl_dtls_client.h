// An OpenSSL DTLS client over byte buffers (dtlsgate's DatagramQueues BIO): the real client
// code path, with no socket. Tests move its datagrams by hand, so they can drop, reorder or
// re-address them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "dtlsgate/session/datagram_bio.h"

namespace dtlsgate::test {

struct DtlsClientOptions {
  int version = DTLS1_2_VERSION;  // pinned: min = max
  std::string cipher_list = "DEFAULT";
  uint16_t mtu = 1400;
  // First retransmission timeout of the client's own (wall-clock) OpenSSL timer.
  unsigned int initial_retransmit_us = 1'000'000;
};

class OpenSslDtlsClient {
 public:
  explicit OpenSslDtlsClient(const DtlsClientOptions& options = {});
  ~OpenSslDtlsClient();
  OpenSslDtlsClient(const OpenSslDtlsClient&) = delete;
  OpenSslDtlsClient& operator=(const OpenSslDtlsClient&) = delete;

  // Sends ClientHello #1.
  void start();
  // One datagram from the server; advances the handshake or reads application data.
  void receive(std::span<const uint8_t> datagram);
  // DTLSv1_handle_timeout: resends the last flight once the client's wall-clock timer expired.
  int handle_timeout();
  std::vector<std::vector<uint8_t>> take_output();

  bool handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }
  bool send(const std::string& text);
  void close();  // sends close_notify

  const std::vector<std::string>& received() const { return received_; }
  bool peer_closed() const { return peer_closed_; }
  bool failed() const { return failed_; }
  std::string negotiated_version() const { return SSL_get_version(ssl_); }

 private:
  void drive();

  DatagramQueues queues_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::vector<std::string> received_;
  bool peer_closed_ = false;
  bool failed_ = false;
  unsigned int initial_retransmit_us_;
};

}  // namespace dtlsgate::test
