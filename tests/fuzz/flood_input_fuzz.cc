// libFuzzer: what dtlsgate-flood reads from its user, each parser fed arbitrary bytes. The
// first byte picks the parser, the rest is its input:
//   0  a --pcap file (client_hello_from_pcap_bytes)
//   1  a --mix value (parse_mix, then build_schedule on what it accepted)
//   2  a --src value (parse_prefix, then draws from the range)
//   3  a --src-port value (parse_port_range)
// Properties checked: no crash, no read outside the input (ASan), no unbounded allocation; a
// refusal always comes with a one-line reason; what is accepted means what the usage says (a
// pcap's hello is a cookie-less ClientHello taken from the file's bytes, a schedule has every
// weighted kind in proportion, drawn sources lie in the prefix and the port range).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dtlsgate/wire/client_hello.h"
#include "flood/client_hello_source.h"
#include "flood/mix.h"
#include "flood/source_range.h"

namespace {

using namespace dtlsgate;
using namespace dtlsgate::flood;

void fail(const char* why) {
  std::fprintf(stderr, "flood-input-fuzz: %s\n", why);
  std::abort();
}

void check_refusal(const std::string& error) {
  if (error.empty()) fail("refused without a reason");
  if (error.find('\n') != std::string::npos) fail("reason is not one line");
}

void pcap(const uint8_t* data, std::size_t size) {
  std::string error;
  const std::vector<uint8_t> hello = client_hello_from_pcap_bytes(data, size, &error);
  if (hello.empty()) return check_refusal(error);
  if (std::search(data, data + size, hello.begin(), hello.end()) == data + size) {
    fail("the hello is not bytes of the file");
  }
  ClientHelloView view;
  Verdict drop = Verdict::kDropTruncated;
  if (!parse_client_hello(hello.data(), static_cast<uint16_t>(hello.size()), &view, &drop) ||
      view.cookie_len != 0) {
    fail("accepted something that is not a cookie-less ClientHello");
  }
}

void mix(const std::string& text) {
  Mix m;
  std::string error;
  if (!parse_mix(text, &m, &error)) return check_refusal(error);
  if (m.total() == 0) fail("accepted a mix of no weight");
  const std::vector<Kind> schedule = build_schedule(m);
  if (schedule.empty() || schedule.size() > m.total()) fail("schedule of the wrong length");
  // Every kind in the schedule as often as its weight says (the schedule is the weights
  // divided by their gcd).
  const auto reduced = static_cast<uint64_t>(schedule.size());
  for (std::size_t k = 0; k < kKindCount; ++k) {
    const auto n =
        static_cast<uint64_t>(std::count(schedule.begin(), schedule.end(), static_cast<Kind>(k)));
    if (n * m.total() != m.weight[k] * reduced) fail("schedule out of proportion");
  }
}

void prefix(const std::string& text) {
  SourceRange range;
  std::string error;
  if (!parse_prefix(text, &range, &error)) return check_refusal(error);
  const std::size_t len = range.family == AddressFamily::kIpv4 ? 4 : 16;
  for (std::size_t i = 0; i < len; ++i) {
    if ((range.base[i] & range.host_mask[i]) != 0) fail("network address has host bits");
  }
  FastRandom random(text.size() + 1);
  for (int draw = 0; draw < 8; ++draw) {
    const Endpoint e = range.draw(random);
    if (e.family != range.family) fail("drew the wrong family");
    for (std::size_t i = 0; i < len; ++i) {
      if ((e.addr[i] & ~range.host_mask[i]) != range.base[i]) fail("drew outside the prefix");
    }
    if (e.port < range.port_first || e.port > range.port_last) fail("drew outside the ports");
  }
}

void ports(const std::string& text) {
  SourceRange range;
  std::string error;
  if (!parse_port_range(text, &range, &error)) return check_refusal(error);
  if (range.port_first == 0 || range.port_first > range.port_last) fail("accepted bad ports");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* input = data + 1;
  const std::size_t len = size - 1;
  // A command-line value holds no NUL byte: cut the text there, as argv would.
  const auto* text_end = std::find(input, input + len, uint8_t{0});
  const std::string text(reinterpret_cast<const char*>(input),
                         static_cast<std::size_t>(text_end - input));
  switch (data[0] % 4) {
    case 0:
      pcap(input, len);
      break;
    case 1:
      mix(text);
      break;
    case 2:
      prefix(text);
      break;
    default:
      ports(text);
  }
  return 0;
}
