// The slow path, sans-I/O: cookie-verified ClientHellos and datagrams of known flows in,
// datagrams out, timers run from a clock value the caller passes in. No sockets, no threads,
// no sleeping; one engine per slow-path thread, not thread-safe.
//
// A verified hello from a new 5-tuple gets one SSL object from the shared ServerTlsContext,
// a DatagramQueues BIO, DTLSv1_listen on that very datagram (the only public API that sets the
// handshake sequence state after a stateless cookie exchange) and then SSL_accept. The 5-tuple
// goes into the fast path's FlowTable at SSL creation, so the client's later records come back
// as kPassFlow, and leaves it on close, timeout or failure.
//
// Timers: handshake and idle timeouts are pure engine-clock deadlines. Retransmission uses
// OpenSSL's own DTLS timer (DTLSv1_get_timeout / DTLSv1_handle_timeout): the engine turns the
// remaining time into a deadline on its clock and calls DTLSv1_handle_timeout when that
// passes. OpenSSL 3.0 reads gettimeofday() for that timer and has no way to inject a clock,
// so a retransmission needs both clocks past the deadline (in production both are real time;
// a test that fakes the engine clock must also let that much real time pass).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/counters.h"
#include "dtlsgate/endpoint.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/session/app_handler.h"
#include "dtlsgate/session/recent_hellos.h"
#include "dtlsgate/session/server_context.h"
#include "dtlsgate/session/session_counters.h"

namespace dtlsgate {

struct SessionEngineConfig {
  // UDP payload bytes per outgoing datagram, 256..4096. OpenSSL packs records into a datagram
  // through its 4096-byte write buffer BIO, so a larger value would split datagrams.
  uint16_t mtu = 1400;
  std::size_t max_sessions = 4096;
  // Handshakes in progress (SSL objects not yet established) at once: what a flood of valid
  // cookies from real addresses can make us hold. 0 = max_sessions.
  std::size_t max_half_open = 1024;
  // Sessions (half-open or established) one client address may hold; ports do not count, so
  // one host cannot take the whole table. 0 = no cap.
  std::size_t max_sessions_per_source = 64;
  uint64_t handshake_timeout_us = 10'000'000;
  uint64_t idle_timeout_us = 120'000'000;
  uint32_t initial_retransmit_us = 1'000'000;
  // How long a verified hello is remembered so its replays from the same 5-tuple make no
  // second SSL object: at least the life of a cookie (the key ring accepts epochs e-1..e+1,
  // so up to three rotations). The app sets it from --rotation.
  uint64_t replay_window_us = 120'000'000;
  std::size_t replay_cache_entries = 65536;  // 16 bytes each
};

// A datagram to send: flow.server is the source, flow.client the destination.
struct OutgoingDatagram {
  FlowKey flow;
  std::vector<uint8_t> payload;
};

struct FlowKeyHasher {
  std::size_t operator()(const FlowKey& key) const { return hash_flow(key); }
};

class SessionEngine {
 public:
  // tls, keys, flows and app must outlive the engine. flows may be nullptr (nothing published).
  // Throws std::invalid_argument for an MTU outside 256..4096 or max_sessions == 0.
  SessionEngine(const ServerTlsContext& tls, const CookieKeyring& keys, FlowTable* flows,
                AppHandler& app, SessionEngineConfig config);
  ~SessionEngine();
  SessionEngine(const SessionEngine&) = delete;
  SessionEngine& operator=(const SessionEngine&) = delete;

  // One datagram the fast path passed (verdict kPassVerified or kPassFlow), UDP payload only.
  // Other verdicts are ignored.
  void on_datagram(Verdict verdict, const FlowKey& flow, std::span<const uint8_t> payload,
                   uint64_t now_us);

  // Runs every timer due at now_us: retransmissions, handshake and idle timeouts.
  void on_timer(uint64_t now_us);

  // The earliest time on_timer has work, if any session is open. O(sessions).
  std::optional<uint64_t> next_deadline() const;

  // Datagrams produced since the last call, in order.
  std::vector<OutgoingDatagram> take_output();

  const SessionCounters& counters() const { return counters_; }
  std::size_t session_count() const { return sessions_.size(); }
  std::size_t half_open_count() const { return half_open_; }
  bool has_session(const FlowKey& flow) const { return sessions_.contains(flow); }
  // Established (handshake complete) sessions.
  bool is_established(const FlowKey& flow) const;

 private:
  struct Session;
  enum class Outcome { kKeep, kClose };

  void start_session(const FlowKey& flow, std::span<const uint8_t> payload, uint64_t now_us);
  Outcome advance(Session& s, uint64_t now_us);
  Outcome read_application_data(Session& s);
  void collect_output(Session& s, uint64_t now_us);
  void erase(const FlowKey& flow);

  const ServerTlsContext& tls_;
  const CookieKeyring& keys_;
  FlowTable* flows_;
  AppHandler& app_;
  SessionEngineConfig config_;
  // A client address without its port: what max_sessions_per_source counts by.
  struct SourceHasher {
    std::size_t operator()(const Endpoint& e) const;
  };
  static Endpoint source_of(const FlowKey& flow);

  std::unordered_map<FlowKey, std::unique_ptr<Session>, FlowKeyHasher> sessions_;
  std::unordered_map<Endpoint, uint32_t, SourceHasher> sessions_per_source_;
  std::size_t half_open_ = 0;
  RecentHellos recent_hellos_;
  std::vector<OutgoingDatagram> output_;
  std::vector<uint8_t> read_buffer_;
  SessionCounters counters_;
};

}  // namespace dtlsgate
