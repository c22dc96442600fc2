#include "support/openssl_dtls_client.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

namespace dtlsgate::test {
namespace {

unsigned int client_timer(SSL* ssl, unsigned int previous_us) {
  if (previous_us != 0) return previous_us * 2;
  const auto* initial = static_cast<const unsigned int*>(SSL_get_app_data(ssl));
  return *initial;
}

}  // namespace

OpenSslDtlsClient::OpenSslDtlsClient(const DtlsClientOptions& options)
    : initial_retransmit_us_(options.initial_retransmit_us) {
  ctx_ = SSL_CTX_new(DTLS_client_method());
  SSL_CTX_set_min_proto_version(ctx_, options.version);
  SSL_CTX_set_max_proto_version(ctx_, options.version);
  if (SSL_CTX_set_cipher_list(ctx_, options.cipher_list.c_str()) != 1) {
    ADD_FAILURE() << "client cipher list rejected";
  }
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // the server cert is self-signed
  ssl_ = SSL_new(ctx_);
  queues_.mtu = options.mtu;
  BIO* bio = new_datagram_bio(&queues_);
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_app_data(ssl_, &initial_retransmit_us_);
  DTLS_set_timer_cb(ssl_, client_timer);
  SSL_set_connect_state(ssl_);
}

OpenSslDtlsClient::~OpenSslDtlsClient() {
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
}

void OpenSslDtlsClient::start() {
  drive();
}

void OpenSslDtlsClient::receive(std::span<const uint8_t> datagram) {
  queues_.push_inbound(datagram);
  drive();
}

void OpenSslDtlsClient::drive() {
  if (!handshake_done()) {
    const int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      const int err = SSL_get_error(ssl_, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) failed_ = true;
      ERR_clear_error();
      return;
    }
  }
  char buf[4096];
  for (;;) {
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      received_.emplace_back(buf, static_cast<std::size_t>(n));
      continue;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_ZERO_RETURN) peer_closed_ = true;
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_ZERO_RETURN) failed_ = true;
    ERR_clear_error();
    return;
  }
}

int OpenSslDtlsClient::handle_timeout() {
  return static_cast<int>(DTLSv1_handle_timeout(ssl_));
}

std::vector<std::vector<uint8_t>> OpenSslDtlsClient::take_output() {
  std::vector<std::vector<uint8_t>> out;
  out.swap(queues_.outbound);
  return out;
}

bool OpenSslDtlsClient::send(const std::string& text) {
  return SSL_write(ssl_, text.data(), static_cast<int>(text.size())) ==
         static_cast<int>(text.size());
}

void OpenSslDtlsClient::close() {
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace dtlsgate::test
