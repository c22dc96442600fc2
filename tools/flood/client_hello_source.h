// Where the flood's ClientHello comes from: a real one, so the filter under test parses what
// it will parse in production (cipher list, extensions, ~200 bytes), not a minimal toy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dtlsgate::flood {

// ClientHello #1 (cookie-less, message_seq 0) exactly as OpenSSL 3's DTLS client sends it:
// a DTLS_client_method SSL object run over memory BIOs until it wants to read, and its first
// datagram taken out of the write BIO. The UDP payload (record header included). Costs one
// SSL_CTX setup (~1 ms), done once at start. Returns empty and sets *error on failure.
std::vector<uint8_t> openssl_client_hello(std::string* error);

// The first cookie-less ClientHello found in a pcap file (IPv4/IPv6, UDP; link type Ethernet,
// Linux cooked as tcpdump -i any writes, or raw IP). Returns empty and sets *error
// ("--pcap PATH: why") when the file cannot be read or holds none.
std::vector<uint8_t> client_hello_from_pcap(const std::string& path, std::string* error);

// The same over the file's bytes, with no I/O (what the fuzz target and the tests feed):
// *error says why without the path. Any bytes are safe: every length in the file is checked
// against what is there before it is used.
std::vector<uint8_t> client_hello_from_pcap_bytes(const uint8_t* bytes, std::size_t size,
                                                  std::string* error);

}  // namespace dtlsgate::flood
