#include "dtlsgate/source_prefix.h"

#include <arpa/inet.h>

#include <cstdio>

namespace dtlsgate {

std::string prefix_text(uint64_t key) {
  uint8_t bytes[16] = {};
  for (int i = 0; i < 7; ++i) bytes[i] = static_cast<uint8_t>(key >> (8 * i));
  const auto family = static_cast<unsigned>(key >> 56);
  char text[INET6_ADDRSTRLEN + 8];
  if (family == 4) {
    std::snprintf(text, sizeof text, "%u.%u.%u.0/24", bytes[0], bytes[1], bytes[2]);
    return text;
  }
  if (family == 6 && inet_ntop(AF_INET6, bytes, text, INET6_ADDRSTRLEN) != nullptr) {
    return std::string(text) + "/56";
  }
  return "?";
}

}  // namespace dtlsgate
