// openssl-listen-server: the stock alternative dtlsgate is measured against. An OpenSSL 3
// server doing what a plain DTLS server does before a handshake: DTLSv1_listen() in a loop on
// a kernel UDP socket (BIO_new_dgram on a bound, unconnected socket), one SSL object reused
// (SSL_clear after each return), HMAC cookie callbacks shaped like openssl s_server's (a random
// 16-byte secret, HMAC over the peer's port and address with EVP_Q_mac), HMAC-SHA1 as s_server
// uses (apps/lib/s_cb.c in OpenSSL 3.0).
//
//   openssl-listen-server [--addr 127.0.0.1] [--port 4433] --duration SECONDS
//
// Prints hvr_sent= (cookie generate calls: each is one HelloVerifyRequest sent) and
// hvr_per_second= over the busy time (first to last HVR), so idling before and after the
// flood does not count.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dtlsgate/printable.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kSecretLen = 16;

struct ListenState {
  unsigned char secret[kSecretLen];
  uint64_t hvr_sent = 0;
  uint64_t verified = 0;
  Clock::time_point first_hvr{};
  Clock::time_point last_hvr{};
  Clock::time_point deadline{};
  bool expired = false;
};

ListenState g_state;

// HMAC-SHA1(secret, port | raw address) of the datagram's sender, as s_server's callbacks do
// (they read the peer from the dgram BIO). EVP_Q_mac fetches the algorithm on every call: the
// stock cost, kept on purpose.
bool peer_mac(SSL* ssl, unsigned char* out, std::size_t* out_len) {
  BIO_ADDR* peer = BIO_ADDR_new();
  if (peer == nullptr) return false;
  bool ok = false;
  unsigned char buffer[2 + 16];
  std::size_t addr_len = 0;
  if (BIO_dgram_get_peer(SSL_get_rbio(ssl), peer) > 0 &&
      BIO_ADDR_rawaddress(peer, nullptr, &addr_len) && addr_len <= 16) {
    const unsigned short port = BIO_ADDR_rawport(peer);
    std::memcpy(buffer, &port, sizeof port);
    BIO_ADDR_rawaddress(peer, buffer + sizeof port, nullptr);
    ok = EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA1", nullptr, g_state.secret, kSecretLen, buffer,
                   sizeof port + addr_len, out, EVP_MAX_MD_SIZE, out_len) != nullptr;
  }
  BIO_ADDR_free(peer);
  return ok;
}

int generate_cookie(SSL* ssl, unsigned char* cookie, unsigned int* cookie_len) {
  const Clock::time_point now = Clock::now();
  // DTLSv1_listen keeps reading while datagrams keep coming: the duration bound is enforced
  // here, by failing the callback (listen then returns < 0 and the loop ends).
  if (now >= g_state.deadline) {
    g_state.expired = true;
    return 0;
  }
  std::size_t len = 0;
  if (!peer_mac(ssl, cookie, &len)) return 0;
  *cookie_len = static_cast<unsigned int>(len);
  if (g_state.hvr_sent++ == 0) g_state.first_hvr = now;
  g_state.last_hvr = now;
  return 1;
}

int verify_cookie(SSL* ssl, const unsigned char* cookie, unsigned int cookie_len) {
  unsigned char expected[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  return peer_mac(ssl, expected, &len) && len == cookie_len &&
         CRYPTO_memcmp(expected, cookie, len) == 0;
}

int usage_error(const std::string& text) {
  // One line, whatever the user typed into the option this quotes.
  std::fprintf(stderr, "openssl-listen-server: %s\n", dtlsgate::printable(text).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1";
  unsigned long port = 4433;
  double duration = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || name == "-h") {
      std::printf(
          "usage: openssl-listen-server [--addr 127.0.0.1] [--port 4433] --duration SECONDS\n"
          "DTLSv1_listen() in a loop on a kernel UDP socket with HMAC-SHA1 cookie callbacks\n"
          "like openssl s_server's; prints hvr_sent= and hvr_per_second=.\n");
      return 0;
    }
    if (name != "--addr" && name != "--port" && name != "--duration") {
      return usage_error("unknown option '" + name + "' (see --help)");
    }
    if (i + 1 >= argc) return usage_error(name + " needs a value (see --help)");
    const std::string value = argv[++i];
    char* end = nullptr;
    if (name == "--addr") {
      addr = value;
    } else if (name == "--port") {
      port = std::strtoul(value.c_str(), &end, 10);
      if (*end != '\0' || port == 0 || port > 65535) return usage_error("--port: 1-65535");
    } else if (name == "--duration") {
      duration = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !(duration > 0) || duration > 3600) {
        return usage_error("--duration: 0 < SECONDS <= 3600");
      }
    } else {
      return usage_error("unknown option '" + name + "' (see --help)");
    }
  }
  if (duration == 0) return usage_error("refusing to run unbounded: give --duration SECONDS");

  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, addr.c_str(), &local.sin_addr) != 1) {
    return usage_error("--addr: '" + addr + "' is not an IPv4 address");
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Idle wake-ups so the duration is honoured when no datagram comes.
  const timeval idle{0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    std::fprintf(stderr, "openssl-listen-server: bind %s:%lu: %s\n", addr.c_str(), port,
                 std::strerror(errno));
    return 1;
  }

  if (RAND_bytes(g_state.secret, kSecretLen) != 1) {
    std::fprintf(stderr, "openssl-listen-server: RAND_bytes failed\n");
    return 1;
  }
  SSL_CTX* ctx = SSL_CTX_new(DTLS_server_method());
  SSL_CTX_set_cookie_generate_cb(ctx, generate_cookie);
  SSL_CTX_set_cookie_verify_cb(ctx, verify_cookie);
  SSL* ssl = SSL_new(ctx);
  BIO* bio = BIO_new_dgram(fd, BIO_NOCLOSE);
  SSL_set_bio(ssl, bio, bio);
  SSL_set_options(ssl, SSL_OP_COOKIE_EXCHANGE);
  BIO_ADDR* client = BIO_ADDR_new();

  std::printf("openssl-listen-server: listening on %s:%lu for %.1f s\n", addr.c_str(), port,
              duration);
  std::fflush(stdout);
  const Clock::time_point start = Clock::now();
  g_state.deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
  while (!g_state.expired && Clock::now() < g_state.deadline) {
    const int rc = DTLSv1_listen(ssl, client);
    // > 0: a client came back with a valid cookie; a real server would SSL_accept it on a
    // new socket. Either way the listening SSL object starts over.
    if (rc > 0) ++g_state.verified;
    ERR_clear_error();
    SSL_clear(ssl);
  }
  const double busy =
      g_state.hvr_sent < 2
          ? 0
          : std::chrono::duration<double>(g_state.last_hvr - g_state.first_hvr).count();
  // CPU time too: on a shared machine the server may not have had its core to itself, and
  // HVRs per CPU-second is the figure that compares with dtlsgate's per-CPU figure.
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::printf(
      "hvr_sent=%lu\nverified=%lu\nbusy_seconds=%.3f\nhvr_per_second=%.0f\ncpu_seconds=%.3f\n"
      "hvr_per_cpu_second=%.0f\n",
      g_state.hvr_sent, g_state.verified, busy,
      busy > 0 ? static_cast<double>(g_state.hvr_sent) / busy : 0.0, cpu,
      cpu > 0 ? static_cast<double>(g_state.hvr_sent) / cpu : 0.0);
  BIO_ADDR_free(client);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return 0;
}
