#include "support/client_hello_factory.h"

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <utility>

namespace dtlsgate::test {
namespace {

// Large enough that no ClientHello is fragmented, small enough for any real path.
constexpr unsigned kClientMtu = 1400;
constexpr std::size_t kDtlsRecordHeaderLen = 13;

std::string openssl_errors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "no OpenSSL error queued" : text;
}

// Takes everything a memory BIO holds.
Datagram drain(BIO* bio) {
  Datagram out;
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len > 0) out.assign(data, data + len);
  (void)BIO_reset(bio);
  return out;
}

// A memory BIO merges what the record layer writes. OpenSSL 3.0's DTLS layer writes one record
// per datagram while it has no cipher state (all the ClientHello flights a test drives), so the
// record headers give back the datagram boundaries. A record that runs past the bytes is kept
// as it is, for the test to see.
std::vector<Datagram> split_records(const Datagram& bytes) {
  std::vector<Datagram> out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    std::size_t end = bytes.size();
    if (bytes.size() - at >= kDtlsRecordHeaderLen) {
      const std::size_t len = static_cast<std::size_t>(bytes[at + 11]) << 8 | bytes[at + 12];
      end = std::min(end, at + kDtlsRecordHeaderLen + len);
    }
    out.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                     bytes.begin() + static_cast<std::ptrdiff_t>(end));
    at = end;
  }
  return out;
}

class OpenSslClient final : public DtlsClient {
 public:
  explicit OpenSslClient(ClientVersions versions) {
    ctx_ = SSL_CTX_new(DTLS_client_method());
    if (ctx_ == nullptr) return;
    bool configured = true;
    switch (versions) {
      case ClientVersions::kDtls10:
        // OpenSSL 3 allows DTLS 1.0 (SHA-1 MACs) only at security level 0.
        configured = SSL_CTX_set_min_proto_version(ctx_, DTLS1_VERSION) == 1 &&
                     SSL_CTX_set_max_proto_version(ctx_, DTLS1_VERSION) == 1 &&
                     SSL_CTX_set_cipher_list(ctx_, "DEFAULT:@SECLEVEL=0") == 1;
        break;
      case ClientVersions::kDtls12:
        configured = SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION) == 1 &&
                     SSL_CTX_set_max_proto_version(ctx_, DTLS1_2_VERSION) == 1;
        break;
      case ClientVersions::kAny:
        break;
    }
    if (!configured) return;
    ssl_ = SSL_new(ctx_);
    if (ssl_ == nullptr) return;
    from_server_ = BIO_new(BIO_s_mem());
    to_server_ = BIO_new(BIO_s_mem());
    if (from_server_ == nullptr || to_server_ == nullptr) return;
    // An empty memory BIO must read as "retry later", not as end of file.
    BIO_set_mem_eof_return(from_server_, -1);
    SSL_set_bio(ssl_, from_server_, to_server_);  // ssl_ owns both from here
    bios_owned_by_ssl_ = true;
    // A memory BIO cannot answer the MTU query; without a fixed MTU OpenSSL falls back to its
    // minimum (256 bytes) and fragments the ClientHello.
    SSL_set_options(ssl_, SSL_OP_NO_QUERY_MTU);
    if (SSL_set_mtu(ssl_, kClientMtu) <= 0) return;  // returns the MTU it set
    SSL_set_connect_state(ssl_);
    ready_ = true;
  }

  ~OpenSslClient() override {
    SSL_free(ssl_);
    if (!bios_owned_by_ssl_) {
      BIO_free(from_server_);
      BIO_free(to_server_);
    }
    SSL_CTX_free(ctx_);
  }

  bool ready() const { return ready_; }

  std::vector<Datagram> start() override { return step(); }

  std::vector<Datagram> feed(std::span<const uint8_t> datagram) override {
    if (BIO_write(from_server_, datagram.data(), static_cast<int>(datagram.size())) !=
        static_cast<int>(datagram.size())) {
      error_ = "BIO_write to the client's read BIO failed";
      return {};
    }
    return step();
  }

  std::string last_error() const override { return error_; }

 private:
  std::vector<Datagram> step() {
    const int rc = SSL_do_handshake(ssl_);
    const int err = SSL_get_error(ssl_, rc);
    if (err != SSL_ERROR_WANT_READ) {
      error_ = "SSL_do_handshake: rc " + std::to_string(rc) + ", SSL_get_error " +
               std::to_string(err) + ": " + openssl_errors();
    }
    return split_records(drain(to_server_));
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* from_server_ = nullptr;
  BIO* to_server_ = nullptr;
  bool bios_owned_by_ssl_ = false;
  bool ready_ = false;
  std::string error_;
};

class GnuTlsClient final : public DtlsClient {
 public:
  explicit GnuTlsClient(ClientVersions versions) {
    if (gnutls_certificate_allocate_credentials(&credentials_) != GNUTLS_E_SUCCESS) return;
    if (gnutls_init(&session_, GNUTLS_CLIENT | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK) !=
        GNUTLS_E_SUCCESS) {
      session_ = nullptr;
      return;
    }
    const char* priority = "NORMAL";
    switch (versions) {
      case ClientVersions::kDtls10:
        priority = "NORMAL:-VERS-ALL:+VERS-DTLS1.0";
        break;
      case ClientVersions::kDtls12:
        priority = "NORMAL:-VERS-ALL:+VERS-DTLS1.2";
        break;
      case ClientVersions::kAny:
        priority = "NORMAL:-VERS-ALL:+VERS-DTLS1.2:+VERS-DTLS1.0";
        break;
    }
    const char* bad_at = nullptr;
    int rc = gnutls_priority_set_direct(session_, priority, &bad_at);
    if (rc != GNUTLS_E_SUCCESS) {
      error_ = std::string("gnutls_priority_set_direct: ") + gnutls_strerror(rc) + " at " +
               (bad_at ? bad_at : "?");
      return;
    }
    rc = gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, credentials_);
    if (rc != GNUTLS_E_SUCCESS) return;
    gnutls_transport_set_ptr(session_, this);
    gnutls_transport_set_push_function(session_, &GnuTlsClient::push);
    gnutls_transport_set_pull_function(session_, &GnuTlsClient::pull);
    gnutls_transport_set_pull_timeout_function(session_, &GnuTlsClient::pull_timeout);
    gnutls_dtls_set_mtu(session_, kClientMtu);
    ready_ = true;
  }

  ~GnuTlsClient() override {
    if (session_ != nullptr) gnutls_deinit(session_);
    if (credentials_ != nullptr) gnutls_certificate_free_credentials(credentials_);
  }

  bool ready() const { return ready_; }

  std::vector<Datagram> start() override { return step(); }

  std::vector<Datagram> feed(std::span<const uint8_t> datagram) override {
    inbox_.emplace_back(datagram.begin(), datagram.end());
    return step();
  }

  std::string last_error() const override { return error_; }

 private:
  // Each push is one datagram: GnuTLS hands DTLS records to the transport datagram by datagram.
  static ssize_t push(gnutls_transport_ptr_t self_ptr, const void* data, size_t len) {
    auto* self = static_cast<GnuTlsClient*>(self_ptr);
    const auto* bytes = static_cast<const uint8_t*>(data);
    self->outbox_.emplace_back(bytes, bytes + len);
    return static_cast<ssize_t>(len);
  }

  static ssize_t pull(gnutls_transport_ptr_t self_ptr, void* data, size_t len) {
    auto* self = static_cast<GnuTlsClient*>(self_ptr);
    if (self->inbox_.empty()) {
      gnutls_transport_set_errno(self->session_, EAGAIN);
      return -1;
    }
    Datagram next = std::move(self->inbox_.front());
    self->inbox_.pop_front();
    const std::size_t n = std::min(len, next.size());  // a short read truncates, as recv() does
    std::memcpy(data, next.data(), n);
    return static_cast<ssize_t>(n);
  }

  static int pull_timeout(gnutls_transport_ptr_t self_ptr, unsigned int /*ms*/) {
    return static_cast<GnuTlsClient*>(self_ptr)->inbox_.empty() ? 0 : 1;
  }

  std::vector<Datagram> step() {
    const int rc = gnutls_handshake(session_);
    if (rc != GNUTLS_E_AGAIN) {
      error_ = std::string("gnutls_handshake: ") + gnutls_strerror(rc);
    }
    return std::exchange(outbox_, {});
  }

  gnutls_certificate_credentials_t credentials_ = nullptr;
  gnutls_session_t session_ = nullptr;
  std::deque<Datagram> inbox_;
  std::vector<Datagram> outbox_;
  bool ready_ = false;
  std::string error_;
};

// The cookie DTLSv1_listen's callbacks hand out and accept, reached through the SSL_CTX.
struct ListenCookie {
  std::span<const uint8_t> bytes;
};

int listen_generate_cookie(SSL* ssl, unsigned char* cookie, unsigned int* cookie_len) {
  const auto* c = static_cast<const ListenCookie*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (c->bytes.size() > DTLS1_COOKIE_LENGTH) return 0;
  std::memcpy(cookie, c->bytes.data(), c->bytes.size());
  *cookie_len = static_cast<unsigned int>(c->bytes.size());
  return 1;
}

int listen_verify_cookie(SSL* ssl, const unsigned char* cookie, unsigned int cookie_len) {
  const auto* c = static_cast<const ListenCookie*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  return cookie_len == c->bytes.size() && std::memcmp(cookie, c->bytes.data(), cookie_len) == 0;
}

}  // namespace

std::string ClientKind::name() const {
  std::string n = stack == ClientStack::kOpenSsl ? "openssl" : "gnutls";
  switch (versions) {
    case ClientVersions::kDtls10:
      return n + "_dtls10";
    case ClientVersions::kDtls12:
      return n + "_dtls12";
    case ClientVersions::kAny:
      return n + "_any";
  }
  return n;
}

std::vector<ClientKind> all_client_kinds() {
  return {
      {ClientStack::kOpenSsl, ClientVersions::kDtls10},
      {ClientStack::kOpenSsl, ClientVersions::kDtls12},
      {ClientStack::kOpenSsl, ClientVersions::kAny},
      {ClientStack::kGnuTls, ClientVersions::kDtls10},
      {ClientStack::kGnuTls, ClientVersions::kDtls12},
      {ClientStack::kGnuTls, ClientVersions::kAny},
  };
}

std::unique_ptr<DtlsClient> make_client(ClientKind kind, std::string* error) {
  if (kind.stack == ClientStack::kOpenSsl) {
    auto client = std::make_unique<OpenSslClient>(kind.versions);
    if (!client->ready()) {
      *error = "cannot set up an OpenSSL " + kind.name() + " client: " + openssl_errors();
      return nullptr;
    }
    return client;
  }
  auto client = std::make_unique<GnuTlsClient>(kind.versions);
  if (!client->ready()) {
    *error = "cannot set up a GnuTLS " + kind.name() + " client: " + client->last_error();
    return nullptr;
  }
  return client;
}

std::vector<NamedDatagram> real_client_hellos(std::string* error) {
  std::vector<NamedDatagram> hellos;
  for (const ClientKind& kind : all_client_kinds()) {
    std::unique_ptr<DtlsClient> client = make_client(kind, error);
    if (client == nullptr) return {};
    std::vector<Datagram> first = client->start();
    if (first.size() != 1) {
      *error = kind.name() + " sent " + std::to_string(first.size()) +
               " datagrams to start, not 1: " + client->last_error();
      return {};
    }
    hellos.push_back({kind.name(), std::move(first.front())});
  }
  return hellos;
}

ListenResult openssl_listen(std::span<const uint8_t> datagram, std::span<const uint8_t> cookie) {
  ListenResult result;
  ListenCookie listen_cookie{cookie};
  SSL_CTX* ctx = SSL_CTX_new(DTLS_server_method());
  SSL* ssl = nullptr;
  BIO_ADDR* peer = BIO_ADDR_new();
  BIO* in = BIO_new_mem_buf(datagram.data(), static_cast<int>(datagram.size()));
  BIO* out = BIO_new(BIO_s_mem());
  if (ctx == nullptr || peer == nullptr || in == nullptr || out == nullptr) {
    result.error = "cannot set up DTLSv1_listen: " + openssl_errors();
  } else {
    SSL_CTX_set_options(ctx, SSL_OP_COOKIE_EXCHANGE);
    SSL_CTX_set_app_data(ctx, &listen_cookie);
    SSL_CTX_set_cookie_generate_cb(ctx, listen_generate_cookie);
    SSL_CTX_set_cookie_verify_cb(ctx, listen_verify_cookie);
    ssl = SSL_new(ctx);
    if (ssl == nullptr) {
      result.error = "SSL_new for DTLSv1_listen: " + openssl_errors();
    } else {
      BIO_set_mem_eof_return(in, -1);
      BIO* written = out;
      SSL_set_bio(ssl, in, out);  // ssl owns both from here
      in = nullptr;
      out = nullptr;
      result.ret = DTLSv1_listen(ssl, peer);
      result.written = drain(written);
    }
  }
  ERR_clear_error();  // listen queues an error for every datagram it drops
  SSL_free(ssl);
  BIO_free(in);
  BIO_free(out);
  BIO_ADDR_free(peer);
  SSL_CTX_free(ctx);
  return result;
}

}  // namespace dtlsgate::test
