// Real DTLS clients (OpenSSL and GnuTLS) driven in process over byte buffers, and OpenSSL's
// DTLSv1_listen as the reference server. No sockets: a test takes the datagrams a client writes,
// wraps them in frames of its own, and feeds the client the server's reply payloads.
//
// Why real clients: the fast path must answer what deployed stacks send, and their ClientHellos
// (extensions, record versions, sequence numbers) differ from anything a hand-built hello covers.
// Cost: creating a client builds an SSL_CTX or a GnuTLS session with default credentials, about a
// millisecond; fine for tests, benchmark setup and fuzz seeds, never per packet.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dtlsgate::test {

using Datagram = std::vector<uint8_t>;

enum class ClientStack : uint8_t { kOpenSsl, kGnuTls };

// kAny: DTLS 1.0 and 1.2 both allowed (OpenSSL: its default range; GnuTLS: both enabled in the
// priority string). The ClientHello then offers 1.2 in a DTLS 1.0 record.
enum class ClientVersions : uint8_t { kDtls10, kDtls12, kAny };

struct ClientKind {
  ClientStack stack = ClientStack::kOpenSsl;
  ClientVersions versions = ClientVersions::kDtls12;
  // "openssl_dtls12", ...: usable as a GoogleTest parameter name and a file name.
  std::string name() const;
};

// Every client kind the factory builds.
std::vector<ClientKind> all_client_kinds();

// One DTLS client handshake, stopped at the datagrams it writes. Not thread-safe; one per test.
class DtlsClient {
 public:
  virtual ~DtlsClient() = default;

  // Starts the handshake: returns what the client sends first (ClientHello #1, no cookie).
  virtual std::vector<Datagram> start() = 0;

  // Hands the client one datagram from the server; returns what the client sends in answer
  // (after a HelloVerifyRequest: ClientHello #2 with the cookie). Empty if it sent nothing.
  virtual std::vector<Datagram> feed(std::span<const uint8_t> datagram) = 0;

  // The library's last error text, for test failure messages.
  virtual std::string last_error() const = 0;
};

// nullptr, and *error says why, if the library refuses the configuration.
std::unique_ptr<DtlsClient> make_client(ClientKind kind, std::string* error);

// The first datagram each client kind sends (ClientHello #1 UDP payloads), for benchmarks and
// fuzz seeds, in all_client_kinds() order. Randoms differ per call. Empty, and *error says why,
// if any client failed.
struct NamedDatagram {
  std::string name;
  Datagram payload;
};
std::vector<NamedDatagram> real_client_hellos(std::string* error);

// OpenSSL's DTLSv1_listen (DTLS_server_method, SSL_OP_COOKIE_EXCHANGE) run on one datagram held
// in a memory BIO. The generate callback returns `cookie` as it is, so the HVR can be compared
// with dtlsgate's byte for byte; the verify callback accepts exactly `cookie` (listen returns 1).
struct ListenResult {
  int ret = 0;        // DTLSv1_listen's return value
  Datagram written;   // everything listen wrote to its write BIO (the HVR, or nothing)
  std::string error;  // non-empty if OpenSSL could not be set up (listen did not run)
};
ListenResult openssl_listen(std::span<const uint8_t> datagram, std::span<const uint8_t> cookie);

}  // namespace dtlsgate::test
