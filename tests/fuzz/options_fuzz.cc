// libFuzzer: dtlsgate's own option parser (dpdk_app/options.cc, which has no DPDK dependency)
// fed argv vectors: the input split at NUL bytes into words. Properties checked: it never
// crashes or throws; kError always comes with a one-line reason; kOk always has an address, a
// port, and values inside the ranges --help promises.
//
// --secret-file would open whatever path the input names (a fuzzer must not read /dev/zero
// or the machine's files): its value is replaced by one of three files made at start-up, a
// valid secret, an invalid one, and a path that does not exist, chosen by the value's length.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "options.h"

namespace {

std::string secret_files[3];

void fail(const char* why) {
  std::fprintf(stderr, "options-fuzz: %s\n", why);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/dtlsgate-options-fuzz-XXXXXX";
  if (mkdtemp(dir) == nullptr) fail("mkdtemp");
  const std::string base = dir;
  secret_files[0] = base + "/valid";
  secret_files[1] = base + "/invalid";
  secret_files[2] = base + "/missing";
  std::ofstream(secret_files[0]) << std::string(64, 'a') << "\n";
  std::ofstream(secret_files[1]) << "not a secret\n";
  // libFuzzer ends with exit(): leave no files behind.
  static std::string base_dir = base;
  std::atexit([] {
    unlink(secret_files[0].c_str());
    unlink(secret_files[1].c_str());
    rmdir(base_dir.c_str());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.emplace_back();
    } else {
      args.back().push_back(static_cast<char>(data[i]));
    }
  }
  if (args.size() > 64) return 0;
  // Words with line breaks are fuzzed too: every error must stay one line (options.cc escapes
  // the bytes it quotes; corpus/options/regression-newline-in-unknown-option found it).
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string& a = args[i];
    if (a.rfind("--secret-file=", 0) == 0) {
      a = "--secret-file=" + secret_files[a.size() % 3];
    } else if (a == "--secret-file" && i + 1 < args.size()) {
      args[i + 1] = secret_files[args[i + 1].size() % 3];
    }
  }

  dtlsgate::app::AppOptions options;
  std::string error;
  switch (dtlsgate::app::parse_app_options(args, &options, &error)) {
    case dtlsgate::app::ParseResult::kError:
      if (error.empty() || error.find('\n') != std::string::npos) fail("bad error line");
      break;
    case dtlsgate::app::ParseResult::kHelp:
      break;
    case dtlsgate::app::ParseResult::kOk:
      if (options.ipv4.empty() && options.ipv6.empty()) fail("ok without an address");
      if (options.addr_text.size() != options.ipv4.size() + options.ipv6.size())
        fail("addr_text out of step");
      if (options.ports.empty()) fail("ok without a port");
      for (uint16_t p : options.ports)
        if (p == 0) fail("port 0 accepted");
      if (options.rotation_seconds < 1 || options.rotation_seconds > 86400)
        fail("rotation out of range");
      if (options.workers > 1024) fail("workers out of range");
      if (!(options.duration_seconds >= 0)) fail("negative or NaN duration");
      if (options.secret_file.empty() != !options.secret.has_value()) fail("secret out of step");
      if (!options.secret_file.empty() && options.secret_file != secret_files[0])
        fail("accepted a secret file that is not valid");
      break;
  }
  return 0;
}
