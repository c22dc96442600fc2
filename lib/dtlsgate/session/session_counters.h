// Counters of the slow-path session engine, declared once (name, help) like counters.h does for
// the fast path. One SessionCounters per engine (one engine per slow-path thread); the control
// lcore sums them. sessions_open is a gauge, every other counter only grows.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dtlsgate/counters.h"

//   X(enum name, counter name, help text)
#define DTLSGATE_SESSION_COUNTERS(X)                                                               \
  X(kSslObjectsCreated, ssl_objects_created, "SSL objects created for cookie-verified hellos")     \
  X(kHandshakesCompleted, handshakes_completed, "DTLS handshakes that completed")                  \
  X(kHandshakesFailed, handshakes_failed, "handshakes that ended in an error or a fatal alert")    \
  X(kHandshakesTimedOut, handshakes_timed_out, "handshakes not done within the handshake timeout") \
  X(kSessionsOpen, sessions_open, "established sessions now (gauge)")                              \
  X(kSessionsClosedByPeer, sessions_closed_by_peer, "sessions the client closed (close_notify)")   \
  X(kSessionsClosedByAlert, sessions_closed_by_alert, "established sessions ended by an error")    \
  X(kSessionsIdleTimedOut, sessions_idle_timed_out, "established sessions closed for idleness")    \
  X(kSessionsRefusedMax, sessions_refused_max, "verified hellos refused: max_sessions reached")    \
  X(kSessionsRefusedHalfOpen, sessions_refused_half_open,                                          \
    "verified hellos refused: max_half_open handshakes already in progress")                       \
  X(kSessionsRefusedPerSource, sessions_refused_per_source,                                        \
    "verified hellos refused: the client address has max_sessions_per_source sessions")            \
  X(kHelloSeqRejected, hello_seq_rejected, "cookie-bearing hello with message_seq != 1, dropped")  \
  X(kHelloReplayed, hello_replayed,                                                                \
    "verified hello seen before from this 5-tuple (a replay): no second SSL object")               \
  X(kHelloOnSession, hello_on_session,                                                             \
    "ClientHello for a session in progress (retransmission or replay): kept from OpenSSL")         \
  X(kHelloMalformed, hello_malformed, "verified hello the engine could not parse, dropped")        \
  X(kDatagramsNoSession, datagrams_no_session, "flow datagram for a session no longer here")       \
  X(kFlowTableFull, flow_table_full, "session not published: the fast-path flow table is full")    \
  X(kRetransmissions, retransmissions, "handshake flights resent after a retransmission timeout")  \
  X(kDatagramsOut, datagrams_out, "datagrams the engine handed to the I/O shell")                  \
  X(kBytesIn, bytes_in, "application plaintext bytes received from clients")                       \
  X(kBytesOut, bytes_out, "application plaintext bytes sent to clients")

namespace dtlsgate {

enum class SessionCounter : uint8_t {
#define DTLSGATE_X(e, name, help) e,
  DTLSGATE_SESSION_COUNTERS(DTLSGATE_X)
#undef DTLSGATE_X
};

inline constexpr std::size_t kSessionCounterCount = 0
#define DTLSGATE_X(e, name, help) +1
    DTLSGATE_SESSION_COUNTERS(DTLSGATE_X)
#undef DTLSGATE_X
    ;

inline constexpr std::array<CounterInfo, kSessionCounterCount> kSessionCounterInfo{{
#define DTLSGATE_X(e, name, help) {#name, help},
    DTLSGATE_SESSION_COUNTERS(DTLSGATE_X)
#undef DTLSGATE_X
}};

struct SessionCounters {
  std::array<uint64_t, kSessionCounterCount> count{};
  uint64_t& operator[](SessionCounter c) { return count[static_cast<std::size_t>(c)]; }
  uint64_t operator[](SessionCounter c) const { return count[static_cast<std::size_t>(c)]; }
};

}  // namespace dtlsgate
