#include "dtlsgate/session/server_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>

#include "dtlsgate/cookie/cookie.h"

namespace dtlsgate {
namespace {

int peer_context_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

CookieInput cookie_input_of(const SslPeerContext& p) {
  CookieInput in;
  in.client = p.flow.client;
  in.server = p.flow.server;
  in.client_version = p.client_version;
  in.random = p.random.data();
  in.session_id = p.session_id.data();
  in.session_id_len = p.session_id_len;
  return in;
}

// OpenSSL asks for a cookie only when it answers a hello itself (DTLSv1_listen on a cookie it
// rejected): it then sends the same HVR the fast path would.
int generate_cookie(SSL* ssl, unsigned char* cookie, unsigned int* cookie_len) {
  const SslPeerContext* p = peer_context(ssl);
  if (p == nullptr || p->keys == nullptr) return 0;
  mint_cookie(*p->keys->snapshot(), cookie_input_of(*p), cookie);
  *cookie_len = static_cast<unsigned int>(kCookieLen);
  return 1;
}

// Called in DTLSv1_listen and again in SSL_accept. The keyring snapshot holds the current and
// the previous epoch's keys, so a rotation between HVR and second ClientHello is accepted.
int verify_cookie_cb(SSL* ssl, const unsigned char* cookie, unsigned int cookie_len) {
  const SslPeerContext* p = peer_context(ssl);
  if (p == nullptr || p->keys == nullptr) return 0;
  return verify_cookie(*p->keys->snapshot(), cookie_input_of(*p), cookie, cookie_len) ==
                 CookieCheck::kValid
             ? 1
             : 0;
}

std::unique_ptr<ServerTlsContext> fail(SSL_CTX* ctx, std::string* error, const char* what) {
  if (error != nullptr) *error = std::string(what) + ": " + drain_openssl_errors();
  SSL_CTX_free(ctx);
  return nullptr;
}

SSL_CTX* new_server_ctx(const ServerTlsOptions& options, std::string* error) {
  SSL_CTX* ctx = SSL_CTX_new(DTLS_server_method());
  if (ctx == nullptr) {
    if (error != nullptr) *error = "SSL_CTX_new: " + drain_openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_options(ctx, SSL_OP_COOKIE_EXCHANGE);
  SSL_CTX_set_cookie_generate_cb(ctx, generate_cookie);
  SSL_CTX_set_cookie_verify_cb(ctx, verify_cookie_cb);
  // One SSL object per flow and no resumption state kept between them: a full handshake each
  // time costs more CPU but nothing grows with the number of past clients.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(ctx, options.cipher_list.c_str()) != 1) {
    fail(ctx, error, "cipher list");
    return nullptr;
  }
  return ctx;
}

}  // namespace

bool attach_peer_context(SSL* ssl, SslPeerContext* ctx) {
  return SSL_set_ex_data(ssl, peer_context_index(), ctx) == 1;
}

SslPeerContext* peer_context(const SSL* ssl) {
  return static_cast<SslPeerContext*>(SSL_get_ex_data(ssl, peer_context_index()));
}

std::string drain_openssl_errors() {
  std::string text;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text = buf;
  }
  return text;
}

std::unique_ptr<ServerTlsContext> ServerTlsContext::from_pem_files(const std::string& cert_path,
                                                                   const std::string& key_path,
                                                                   const ServerTlsOptions& options,
                                                                   std::string* error) {
  SSL_CTX* ctx = new_server_ctx(options, error);
  if (ctx == nullptr) return nullptr;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1)
    return fail(ctx, error, ("certificate " + cert_path).c_str());
  if (SSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail(ctx, error, ("private key " + key_path).c_str());
  if (SSL_CTX_check_private_key(ctx) != 1) return fail(ctx, error, "key does not match cert");
  return std::unique_ptr<ServerTlsContext>(new ServerTlsContext(ctx));
}

std::unique_ptr<ServerTlsContext> ServerTlsContext::from_memory(X509* cert, EVP_PKEY* key,
                                                                const ServerTlsOptions& options,
                                                                std::string* error) {
  SSL_CTX* ctx = new_server_ctx(options, error);
  if (ctx == nullptr) return nullptr;
  if (SSL_CTX_use_certificate(ctx, cert) != 1) return fail(ctx, error, "certificate");
  if (SSL_CTX_use_PrivateKey(ctx, key) != 1) return fail(ctx, error, "private key");
  if (SSL_CTX_check_private_key(ctx) != 1) return fail(ctx, error, "key does not match cert");
  return std::unique_ptr<ServerTlsContext>(new ServerTlsContext(ctx));
}

ServerTlsContext::~ServerTlsContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace dtlsgate
