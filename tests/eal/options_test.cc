// dtlsgate's own options (after "--"): what parses, and the one-line reason for what does not.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "options.h"

namespace dtlsgate::app {
namespace {

struct BadCase {
  std::vector<std::string> args;
  std::string error;  // exact one-line message
};

TEST(AppOptions, BadOptionAddressOrValueIsOneClearLine) {
  const BadCase cases[] = {
      {{}, "no --addr given: dtlsgate needs at least one address to answer for"},
      {{"--addr", "10.0.0.300"}, "--addr '10.0.0.300': not an IPv4 or IPv6 address"},
      {{"--addr", "fe80::1%eth0"}, "--addr 'fe80::1%eth0': not an IPv4 or IPv6 address"},
      {{"--addr"}, "--addr needs a value"},
      {{"--addr", "1.2.3.4", "--port", "0"}, "--port '0': not a UDP port (1-65535)"},
      {{"--addr", "1.2.3.4", "--port", "65536"}, "--port '65536': not a UDP port (1-65535)"},
      {{"--addr", "1.2.3.4", "--workers", "0"}, "--workers '0': not a count (1-1024)"},
      {{"--addr", "1.2.3.4", "--rotation", "0"},
       "--rotation '0': not a number of seconds (1-86400)"},
      {{"--addr", "1.2.3.4", "--duration", "-1"}, "--duration '-1': not a number of seconds"},
      {{"--addr", "1.2.3.4", "--stats-interval", "1s"},
       "--stats-interval '1s': not a number of seconds (0-3600)"},
      {{"--addr", "1.2.3.4", "--mac", "02:00:00:00:00"},
       "--mac '02:00:00:00:00': not a MAC address (aa:bb:cc:dd:ee:ff)"},
      {{"--addr", "1.2.3.4", "--secret-file", "/nonexistent/secret"},
       "--secret-file /nonexistent/secret: cannot open"},
      {{"--addr", "1.2.3.4", "--verbose"}, "unknown option '--verbose' (see --help)"},
      // Input echoed back stays on one line: control bytes as \xNN (no forged log lines).
      {{"--addr", "1.2.3.4", "--x\nforged"}, "unknown option '--x\\x0aforged' (see --help)"},
      {{"--addr", "1.2.3.4\r\n"}, "--addr '1.2.3.4\\x0d\\x0a': not an IPv4 or IPv6 address"},
      {{"--addr", "1.2.3.4", "--cert", "c.pem"}, "--cert given without --key"},
      {{"--addr", "1.2.3.4", "--key", "k.pem"}, "--key given without --cert"},
      {{"--addr", "1.2.3.4", "--cert", "/nonexistent/c.pem", "--key", "/nonexistent/k.pem"},
       "--cert /nonexistent/c.pem: cannot open"},
      {{"--addr", "1.2.3.4", "--mtu", "255"},
       "--mtu '255': not a UDP payload size (256-1452 bytes)"},
      {{"--addr", "1.2.3.4", "--mtu", "1453"},
       "--mtu '1453': not a UDP payload size (256-1452 bytes)"},
      {{"--addr", "1.2.3.4", "--slow-threads", "0"}, "--slow-threads '0': not a count (1-16)"},
      {{"--addr", "1.2.3.4", "--max-sessions", "0"},
       "--max-sessions '0': not a count (1-10000000)"},
      {{"--addr", "1.2.3.4", "--handshake-timeout", "0"},
       "--handshake-timeout '0': not a number of seconds (0.1-3600)"},
  };
  for (const BadCase& c : cases) {
    AppOptions o;
    std::string error;
    EXPECT_EQ(parse_app_options(c.args, &o, &error), ParseResult::kError) << c.error;
    EXPECT_EQ(error, c.error);
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
}

TEST(AppOptions, UnreadableOrMismatchedCertificateIsOneLineNamingTheFiles) {
  const std::string dir = ::testing::TempDir();
  const std::string garbage = dir + "dtlsgate_garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {garbage, garbage},
  };
  for (const auto& [cert, key] : cases) {
    AppOptions o;
    std::string error;
    EXPECT_EQ(parse_app_options({"--addr", "1.2.3.4", "--cert", cert, "--key", key}, &o, &error),
              ParseResult::kError);
    EXPECT_EQ(error.rfind("--cert " + cert + " --key " + key + ": certificate " + cert, 0), 0u)
        << error;
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
  std::remove(garbage.c_str());
}

TEST(AppOptions, EverythingTogether) {
  const std::string secret_path = ::testing::TempDir() + "dtlsgate_secret.hex";
  std::ofstream(secret_path) << std::string(64, 'a') << "\n";
  AppOptions o;
  std::string error;
  ASSERT_EQ(parse_app_options({"--addr",
                               "192.0.2.1",
                               "--addr=2001:db8::1",
                               "--port",
                               "5684",
                               "--port",
                               "4433",
                               "--workers",
                               "2",
                               "--secret-file",
                               secret_path,
                               "--rotation",
                               "60",
                               "--duration",
                               "2.5",
                               "--stats-interval",
                               "0",
                               "--summary-json",
                               "s.json",
                               "--mac",
                               "02:aa:bb:cc:dd:ee",
                               "--hvr-rate",
                               "100000",
                               "--hvr-rate-per-prefix",
                               "1000"},
                              &o, &error),
            ParseResult::kOk)
      << error;
  EXPECT_EQ(o.ipv4, (std::vector<std::array<uint8_t, 4>>{{192, 0, 2, 1}}));
  ASSERT_EQ(o.ipv6.size(), 1u);
  EXPECT_EQ(o.ipv6[0][0], 0x20);
  EXPECT_EQ(o.ipv6[0][15], 0x01);
  EXPECT_EQ(o.ports, (std::vector<uint16_t>{5684, 4433})) << "given ports replace the default";
  EXPECT_EQ(o.workers, 2u);
  ASSERT_TRUE(o.secret.has_value());
  EXPECT_EQ((*o.secret)[0], 0xaa);
  EXPECT_EQ(o.rotation_seconds, 60u);
  EXPECT_DOUBLE_EQ(o.duration_seconds, 2.5);
  EXPECT_EQ(o.stats_interval, 0u);
  EXPECT_EQ(o.summary_json, "s.json");
  EXPECT_EQ(o.mac, (std::array<uint8_t, 6>{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}));
  EXPECT_EQ(o.hvr_rate, 100000u);
  EXPECT_EQ(o.hvr_rate_per_prefix, 1000u);
  std::remove(secret_path.c_str());
}

TEST(AppOptions, DefaultsAreTheDocumentedOnes) {
  AppOptions o;
  std::string error;
  ASSERT_EQ(parse_app_options({"--addr", "::1"}, &o, &error), ParseResult::kOk);
  EXPECT_EQ(o.ports, (std::vector<uint16_t>{4433}));
  EXPECT_EQ(o.workers, 0u) << "0 = one per worker lcore";
  EXPECT_FALSE(o.secret.has_value()) << "random secret";
  EXPECT_EQ(o.rotation_seconds, 30u);
  EXPECT_EQ(o.duration_seconds, 0.0);
  EXPECT_EQ(o.stats_interval, 1u);
  EXPECT_EQ(o.hvr_rate, 0u);
  EXPECT_EQ(o.hvr_rate_per_prefix, 1000u) << "reflection guard on by default (RELIABILITY.md)";
  EXPECT_EQ(o.engine.replay_window_us, (3 * 30 + 5) * 1'000'000u) << "three epochs + slack";
  EXPECT_EQ(o.slow_threads, 1u);
  EXPECT_EQ(o.engine.mtu, 1400u);
  EXPECT_EQ(o.tls, nullptr) << "no --cert: main makes a throw-away one";
}

TEST(AppOptions, HelpWinsAndListsEveryOption) {
  AppOptions o;
  std::string error;
  EXPECT_EQ(parse_app_options({"--addr", "nonsense", "--help"}, &o, &error), ParseResult::kError)
      << "options are read in order";
  EXPECT_EQ(parse_app_options({"--help"}, &o, &error), ParseResult::kHelp);
  for (const char* name : {"--addr",
                           "--port",
                           "--workers",
                           "--secret-file",
                           "--rotation",
                           "--duration",
                           "--stats-interval",
                           "--summary-json",
                           "--mac",
                           "--hvr-rate",
                           "--hvr-rate-per-prefix",
                           "--cert",
                           "--key",
                           "--ciphers",
                           "--slow-threads",
                           "--mtu",
                           "--max-sessions",
                           "--max-half-open",
                           "--max-sessions-per-source",
                           "--handshake-timeout",
                           "EAL"})
    EXPECT_NE(app_usage().find(name), std::string::npos) << name;
}

}  // namespace
}  // namespace dtlsgate::app
