#include "support/test_certificate.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

namespace dtlsgate::test {
namespace {

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return text;
}

}  // namespace

TestCertificate::TestCertificate() {
  key = EVP_EC_gen("P-256");
  cert = X509_new();
  if (key == nullptr || cert == nullptr) {
    ADD_FAILURE() << "key or certificate allocation failed";
    return;
  }
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("dtlsgate test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key);
  if (X509_sign(cert, key, EVP_sha256()) == 0) ADD_FAILURE() << "X509_sign failed";
}

TestCertificate::~TestCertificate() {
  X509_free(cert);
  EVP_PKEY_free(key);
}

std::string TestCertificate::cert_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  return bio_text(bio);
}

std::string TestCertificate::key_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio);
}

}  // namespace dtlsgate::test
