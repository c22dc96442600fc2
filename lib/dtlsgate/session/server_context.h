// The one SSL_CTX every slow-path session is created from: DTLS_server_method, our certificate
// and key, SSL_OP_COOKIE_EXCHANGE, and cookie callbacks that mint and verify dtlsgate cookies
// (the fast path's format and keys) instead of OpenSSL-sample ones.
//
// OpenSSL calls the verify callback twice per handshake (in DTLSv1_listen and again in
// SSL_accept) and gives it only the cookie bytes: the peer address cannot come from our memory
// BIO and the hello fields are not all reachable through the public API in listen. Each SSL
// object therefore carries an SslPeerContext in ex_data with what the cookie binds.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/endpoint.h"

namespace dtlsgate {

struct SslPeerContext {
  FlowKey flow;
  // The cookie-bearing ClientHello's fields the cookie MACs (RFC 6347: resent unchanged).
  uint16_t client_version = 0;
  std::array<uint8_t, 32> random{};
  std::array<uint8_t, 32> session_id{};
  uint8_t session_id_len = 0;
  const CookieKeyring* keys = nullptr;
  // First DTLS retransmission timeout (OpenSSL's timer callback doubles it up to 60 s).
  uint32_t initial_retransmit_us = 1'000'000;
};

// Attaches ctx (not owned) to ssl; the cookie and timer callbacks read it back.
bool attach_peer_context(SSL* ssl, SslPeerContext* ctx);
SslPeerContext* peer_context(const SSL* ssl);

struct ServerTlsOptions {
  // OpenSSL cipher string; DTLS 1.0 clients need "DEFAULT:@SECLEVEL=0" under OpenSSL 3.
  std::string cipher_list = "DEFAULT";
};

class ServerTlsContext {
 public:
  // cert: PEM chain (leaf first); key: PEM private key. nullptr and *error on failure.
  static std::unique_ptr<ServerTlsContext> from_pem_files(const std::string& cert_path,
                                                          const std::string& key_path,
                                                          const ServerTlsOptions& options,
                                                          std::string* error);
  // Takes its own references to cert and key.
  static std::unique_ptr<ServerTlsContext> from_memory(X509* cert, EVP_PKEY* key,
                                                       const ServerTlsOptions& options,
                                                       std::string* error);
  ~ServerTlsContext();
  ServerTlsContext(const ServerTlsContext&) = delete;
  ServerTlsContext& operator=(const ServerTlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit ServerTlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// The last OpenSSL error queue entry as text ("" if none); clears the queue.
std::string drain_openssl_errors();

}  // namespace dtlsgate
