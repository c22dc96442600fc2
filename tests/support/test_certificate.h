// A throw-away self-signed P-256 certificate made in memory, so TLS tests need no files.
#pragma once

#include <string>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace dtlsgate::test {

struct TestCertificate {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;

  TestCertificate();  // aborts the test on failure
  ~TestCertificate();
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  std::string cert_pem() const;
  std::string key_pem() const;
};

}  // namespace dtlsgate::test
