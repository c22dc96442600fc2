// udp-flood: the kernel-socket flooder for the OpenSSL baseline. Sends OpenSSL's own
// ClientHello #1 (the same bytes dtlsgate-flood sends) with sendmmsg in batches of 64 from one
// UDP socket, as fast as the kernel takes them. Bounded by --packets and --duration.
//
//   udp-flood [--dst 127.0.0.1] [--port 4433] --duration SECONDS [--packets N]
//
// Prints sent= and sent_per_second=: tools/bench-pps checks it offers more than the server
// answers, so the flood is not the bottleneck.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dtlsgate/printable.h"
#include "flood/client_hello_source.h"

namespace {

constexpr unsigned kBatch = 64;

int usage_error(const std::string& text) {
  // One line, whatever the user typed into the option this quotes.
  std::fprintf(stderr, "udp-flood: %s\n", dtlsgate::printable(text).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dst = "127.0.0.1";
  unsigned long port = 4433;
  double duration = 0;
  unsigned long long packets = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || name == "-h") {
      std::printf(
          "usage: udp-flood [--dst 127.0.0.1] [--port 4433] --duration SECONDS [--packets N]\n"
          "Sends OpenSSL's ClientHello #1 over a kernel UDP socket with sendmmsg; prints sent= "
          "and sent_per_second=.\n");
      return 0;
    }
    if (name != "--dst" && name != "--port" && name != "--duration" && name != "--packets") {
      return usage_error("unknown option '" + name + "' (see --help)");
    }
    if (i + 1 >= argc) return usage_error(name + " needs a value (see --help)");
    const std::string value = argv[++i];
    char* end = nullptr;
    if (name == "--dst") {
      dst = value;
    } else if (name == "--port") {
      port = std::strtoul(value.c_str(), &end, 10);
      if (*end != '\0' || port == 0 || port > 65535) return usage_error("--port: 1-65535");
    } else if (name == "--duration") {
      duration = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !(duration > 0) || duration > 3600) {
        return usage_error("--duration: 0 < SECONDS <= 3600");
      }
    } else if (name == "--packets") {
      packets = std::strtoull(value.c_str(), &end, 10);
      if (*end != '\0' || packets == 0) return usage_error("--packets: a count >= 1");
    } else {
      return usage_error("unknown option '" + name + "' (see --help)");
    }
  }
  if (duration == 0) return usage_error("refusing to run unbounded: give --duration SECONDS");

  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, dst.c_str(), &to.sin_addr) != 1) {
    return usage_error("--dst: '" + dst + "' is not an IPv4 address");
  }
  std::string error;
  std::vector<uint8_t> hello = dtlsgate::flood::openssl_client_hello(&error);
  if (hello.empty()) {
    std::fprintf(stderr, "udp-flood: %s\n", error.c_str());
    return 1;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    std::fprintf(stderr, "udp-flood: connect %s:%lu: %s\n", dst.c_str(), port,
                 std::strerror(errno));
    return 1;
  }
  iovec iov{hello.data(), hello.size()};
  mmsghdr batch[kBatch]{};
  for (auto& m : batch) {
    m.msg_hdr.msg_iov = &iov;
    m.msg_hdr.msg_iovlen = 1;
  }

  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const auto limit = std::chrono::duration<double>(duration);
  unsigned long long sent = 0;
  unsigned long long errors = 0;
  while (Clock::now() - start < limit && (packets == 0 || sent < packets)) {
    const unsigned n =
        packets == 0 ? kBatch
                     : static_cast<unsigned>(std::min<unsigned long long>(kBatch, packets - sent));
    const int rc = sendmmsg(fd, batch, n, 0);
    if (rc > 0) {
      sent += static_cast<unsigned>(rc);
    } else {
      ++errors;  // ECONNREFUSED before the server binds, ENOBUFS under pressure: keep going
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("sent=%llu\nsend_errors=%llu\nseconds=%.3f\nsent_per_second=%.0f\nbytes=%zu\n", sent,
              errors, seconds, static_cast<double>(sent) / seconds, hello.size());
  close(fd);
  return 0;
}
