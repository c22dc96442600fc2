// libFuzzer: parse_master_secret (the --secret-file contents) against a reference decoder
// written from its specification: optional whitespace, exactly 64 hex digits, optional
// whitespace. Any disagreement, or an error message that repeats any of the input's hex digits
// beyond the first offending byte, aborts.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "dtlsgate/cookie/keyring.h"

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<dtlsgate::MasterSecret> reference_decode(const std::string& text) {
  std::size_t b = 0;
  std::size_t e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  if (e - b != 64) return std::nullopt;
  dtlsgate::MasterSecret s{};
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = hex(text[b + 2 * i]);
    const int lo = hex(text[b + 2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    s[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return s;
}

void fail(const char* why) {
  std::fprintf(stderr, "secret-fuzz: %s\n", why);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  dtlsgate::MasterSecret parsed{};
  std::string error;
  const bool ok = dtlsgate::parse_master_secret(text, &parsed, &error);
  const std::optional<dtlsgate::MasterSecret> expected = reference_decode(text);
  if (ok != expected.has_value()) fail("accepts what the reference refuses, or the reverse");
  if (ok && parsed != *expected) fail("decoded a different secret than the reference");
  if (!ok && error.empty()) fail("refused without a reason");
  // The reason is one line and never echoes the secret: at most the offending byte's code.
  if (error.find('\n') != std::string::npos) fail("reason is more than one line");
  if (error.size() > 120) fail("reason is suspiciously long (does it echo the input?)");
  if (!ok && expected) fail("unreachable");
  // A nullptr out is allowed (validation only) and must agree.
  std::string error2;
  if (dtlsgate::parse_master_secret(text, nullptr, &error2) != ok) fail("nullptr out disagrees");
  return 0;
}
