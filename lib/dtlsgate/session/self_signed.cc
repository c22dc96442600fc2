#include "dtlsgate/session/self_signed.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace dtlsgate {

std::unique_ptr<ServerTlsContext> make_self_signed_context(const std::string& common_name,
                                                           const ServerTlsOptions& options,
                                                           std::string* error) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  bool ok = key != nullptr && cert != nullptr;
  X509_NAME* name = ok ? X509_get_subject_name(cert) : nullptr;
  ok = ok && X509_set_version(cert, 2) == 1 &&
       ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1 &&
       X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != nullptr &&
       X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600) != nullptr &&
       X509_set_pubkey(cert, key) == 1 &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                  -1, 0) == 1 &&
       X509_set_issuer_name(cert, name) == 1 && X509_sign(cert, key, EVP_sha256()) > 0;
  std::unique_ptr<ServerTlsContext> ctx;
  if (ok) {
    ctx = ServerTlsContext::from_memory(cert, key, options, error);
  } else if (error != nullptr) {
    *error = "self-signed certificate: " + drain_openssl_errors();
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

}  // namespace dtlsgate
