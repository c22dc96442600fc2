// The DTLS record header, the handshake header and a ClientHello body, read in place.
//
// parse_client_hello applies the checks OpenSSL's DTLSv1_listen applies to a datagram from an
// unknown peer (record >= 13 bytes, content type 22, major version 0xFE, epoch 0, handshake
// lengths consistent, ClientHello, message_seq <= 1, unfragmented) and then walks the body for
// bounds: session_id, cookie, cipher suites, compression methods and the extensions block's
// length (not each extension: OpenSSL reads those after the cookie exchange). Where we are
// stricter than OpenSSL it is said at the check.
#pragma once

#include <cstdint>

#include "dtlsgate/counters.h"

namespace dtlsgate {

inline constexpr uint16_t kDtlsRecordHeaderLen = 13;
inline constexpr uint16_t kDtlsHandshakeHeaderLen = 12;
inline constexpr uint8_t kContentTypeHandshake = 22;
inline constexpr uint8_t kHandshakeClientHello = 1;
inline constexpr uint8_t kHandshakeHelloVerifyRequest = 3;
// The shortest ClientHello record parse_client_hello accepts: headers, client_version, random,
// empty session_id and cookie, one cipher suite, one compression method, no extensions.
inline constexpr uint16_t kMinClientHelloRecordLen =
    kDtlsRecordHeaderLen + kDtlsHandshakeHeaderLen + 2 + 32 + 1 + 1 + 2 + 2 + 1 + 1;

// Offsets are relative to the start of the UDP payload.
struct ClientHelloView {
  uint16_t record_version = 0;
  uint16_t message_seq = 0;
  uint16_t client_version = 0;
  uint16_t body = 0;        // the ClientHello body, client_version its first 2 bytes
  uint16_t random = 0;      // 32 bytes
  uint16_t session_id = 0;  // session_id_len bytes
  uint8_t session_id_len = 0;
  uint16_t cookie = 0;  // cookie_len bytes
  uint8_t cookie_len = 0;
  uint16_t record_len = 0;  // 13 + record length: what an HVR must not exceed
};

// On success fills *hello; otherwise *drop names the rule that failed.
bool parse_client_hello(const uint8_t* payload, uint16_t len, ClientHelloView* hello,
                        Verdict* drop);

// The two forms of the record and handshake header rules parse_client_hello uses, exposed so a
// test can hold them to the same answers: all rules as one combined test (the fast path), and
// check by check in the order the verdicts are ranked (names the failure).
namespace detail {
bool hello_headers_pass_at_once(const uint8_t* payload, uint16_t len);
bool hello_headers_pass_in_order(const uint8_t* payload, uint16_t len, Verdict* drop);
}  // namespace detail

}  // namespace dtlsgate
