// User input echoed in a one-line error message stays one line: control and non-ASCII bytes
// become \xNN (a newline in an argument or a file name would otherwise forge a second log
// line). Used wherever a parser quotes what it was given.
#pragma once

#include <string>
#include <string_view>

namespace dtlsgate {

inline std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace dtlsgate
