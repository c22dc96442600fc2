#include "flood/source_range.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "dtlsgate/printable.h"

namespace dtlsgate::flood {

Endpoint SourceRange::draw(FastRandom& random) const {
  Endpoint e;
  e.family = family;
  const uint64_t a = random.next();
  const uint64_t b = random.next();
  uint8_t noise[16];
  std::memcpy(noise, &a, 8);
  std::memcpy(noise + 8, &b, 8);
  for (std::size_t i = 0; i < 16; ++i) {
    e.addr[i] = static_cast<uint8_t>(base[i] | (noise[i] & host_mask[i]));
  }
  const uint32_t span = static_cast<uint32_t>(port_last - port_first) + 1;
  e.port = static_cast<uint16_t>(port_first + (a >> 40) % span);
  return e;
}

bool parse_address(const std::string& text, Endpoint* endpoint, std::string* error) {
  Endpoint e;
  if (inet_pton(AF_INET, text.c_str(), e.addr.data()) == 1) {
    e.family = AddressFamily::kIpv4;
  } else if (inet_pton(AF_INET6, text.c_str(), e.addr.data()) == 1) {
    e.family = AddressFamily::kIpv6;
  } else {
    *error = "'" + printable(text) + "' is not an IPv4 or IPv6 address";
    return false;
  }
  e.port = endpoint->port;
  *endpoint = e;
  return true;
}

bool parse_prefix(const std::string& text, SourceRange* range, std::string* error) {
  const std::size_t slash = text.find('/');
  Endpoint address;
  if (!parse_address(text.substr(0, slash), &address, error)) {
    *error = "--src: " + *error;
    return false;
  }
  const unsigned bits = address.family == AddressFamily::kIpv4 ? 32 : 128;
  unsigned prefix = bits;
  if (slash != std::string::npos) {
    const char* first = text.data() + slash + 1;
    const char* last = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(first, last, prefix);
    if (ec != std::errc() || ptr != last || first == last || prefix > bits) {
      *error =
          "--src: bad prefix length in '" + printable(text) + "' (0.." + std::to_string(bits) + ")";
      return false;
    }
  }
  range->family = address.family;
  range->base = {};
  range->host_mask = {};
  for (unsigned i = 0; i < bits / 8; ++i) {
    const unsigned kept = prefix >= 8 * (i + 1) ? 8 : (prefix > 8 * i ? prefix - 8 * i : 0);
    const auto net_mask = static_cast<uint8_t>(0xff00 >> kept);
    range->base[i] = address.addr[i] & net_mask;
    range->host_mask[i] = static_cast<uint8_t>(~net_mask);
  }
  return true;
}

bool parse_port_range(const std::string& text, SourceRange* range, std::string* error) {
  const std::size_t dash = text.find('-');
  auto parse = [&](std::string_view s, uint16_t* out) {
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && ptr == s.data() + s.size() && !s.empty() && *out != 0;
  };
  uint16_t first = 0;
  uint16_t last = 0;
  const std::string_view view(text);
  const bool ok = dash == std::string::npos
                      ? parse(view, &first) && (last = first, true)
                      : parse(view.substr(0, dash), &first) && parse(view.substr(dash + 1), &last);
  if (!ok || first > last) {
    *error =
        "--src-port: expected PORT or FIRST-LAST within 1-65535, got '" + printable(text) + "'";
    return false;
  }
  range->port_first = first;
  range->port_last = last;
  return true;
}

}  // namespace dtlsgate::flood
