#include "dtlsgate/session/session_engine.h"

#include <openssl/err.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "dtlsgate/session/datagram_bio.h"
#include "dtlsgate/wire/client_hello.h"

namespace dtlsgate {
namespace {

// RFC 6347 4.2.4.1: start at the configured value, double on each expiry, at most 60 s.
unsigned int retransmit_timer(SSL* ssl, unsigned int previous_us) {
  constexpr unsigned int kMaxUs = 60'000'000;
  if (previous_us == 0) {
    const SslPeerContext* p = peer_context(ssl);
    return p != nullptr ? p->initial_retransmit_us : 1'000'000;
  }
  return previous_us >= kMaxUs / 2 ? kMaxUs : previous_us * 2;
}

constexpr uint16_t kMinMtu = 256;
constexpr uint16_t kMaxMtu = 4096;

uint64_t to_us(const timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1'000'000 + static_cast<uint64_t>(tv.tv_usec);
}

}  // namespace

struct SessionEngine::Session {
  FlowKey flow;
  SslPeerContext peer;
  DatagramQueues queues;
  SSL* ssl = nullptr;  // owns the BIO, which points at queues
  bool established = false;
  uint64_t started_us = 0;
  uint64_t last_activity_us = 0;
  std::optional<uint64_t> retransmit_at;

  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { SSL_free(ssl); }
};

namespace {

// Replies of the application go out as one DTLS record each.
class SessionReplier final : public Replier {
 public:
  SessionReplier(SSL* ssl, SessionCounters& counters) : ssl_(ssl), counters_(counters) {}
  bool send(std::span<const uint8_t> plaintext) override {
    if (plaintext.empty()) return true;
    // More than one record holds at this MTU would leave as an IP-fragmented datagram.
    if (plaintext.size() > DTLS_get_data_mtu(ssl_)) return false;
    const int n = SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    counters_[SessionCounter::kBytesOut] += static_cast<uint64_t>(n);
    return true;
  }

 private:
  SSL* ssl_;
  SessionCounters& counters_;
};

}  // namespace

SessionEngine::SessionEngine(const ServerTlsContext& tls, const CookieKeyring& keys,
                             FlowTable* flows, AppHandler& app, SessionEngineConfig config)
    : tls_(tls),
      keys_(keys),
      flows_(flows),
      app_(app),
      config_(config),
      recent_hellos_(config.replay_cache_entries, config.replay_window_us),
      read_buffer_(65536) {
  if (config_.mtu < kMinMtu || config_.mtu > kMaxMtu) {
    throw std::invalid_argument("session MTU must be within 256..4096 bytes of UDP payload");
  }
  if (config_.max_sessions == 0) throw std::invalid_argument("max_sessions must be at least 1");
}

SessionEngine::~SessionEngine() {
  for (auto& [flow, session] : sessions_) {
    if (flows_ != nullptr) flows_->erase(flow);
  }
}

std::size_t SessionEngine::SourceHasher::operator()(const Endpoint& e) const {
  return hash_flow(FlowKey{e, Endpoint{}});
}

Endpoint SessionEngine::source_of(const FlowKey& flow) {
  Endpoint source = flow.client;
  source.port = 0;
  return source;
}

bool SessionEngine::is_established(const FlowKey& flow) const {
  auto it = sessions_.find(flow);
  return it != sessions_.end() && it->second->established;
}

void SessionEngine::on_datagram(Verdict verdict, const FlowKey& flow,
                                std::span<const uint8_t> payload, uint64_t now_us) {
  if (verdict != Verdict::kPassVerified && verdict != Verdict::kPassFlow) return;
  auto it = sessions_.find(flow);
  if (it == sessions_.end()) {
    if (verdict == Verdict::kPassVerified) {
      start_session(flow, payload, now_us);
    } else {
      // The fast path saw the flow in its table before we erased it: nothing to continue.
      ++counters_[SessionCounter::kDatagramsNoSession];
    }
    return;
  }
  // A ClientHello on a session we already have is the client's retransmission (its timer
  // fired before our flight arrived) or a replay. Handing it to OpenSSL mid-handshake fails
  // the handshake, and the next copy would then make a new SSL object: keep it away from
  // OpenSSL, whose own timer resends our flight.
  ClientHelloView hello;
  Verdict not_a_hello = Verdict::kDropMalformedHello;
  if (payload.size() <= UINT16_MAX &&
      parse_client_hello(payload.data(), static_cast<uint16_t>(payload.size()), &hello,
                         &not_a_hello)) {
    ++counters_[SessionCounter::kHelloOnSession];
    return;
  }
  Session& s = *it->second;
  s.queues.push_inbound(payload);
  s.last_activity_us = now_us;
  if (advance(s, now_us) == Outcome::kClose) erase(flow);
}

void SessionEngine::start_session(const FlowKey& flow, std::span<const uint8_t> payload,
                                  uint64_t now_us) {
  ClientHelloView hello;
  Verdict drop = Verdict::kDropMalformedHello;
  const bool parsed =
      payload.size() <= UINT16_MAX &&
      parse_client_hello(payload.data(), static_cast<uint16_t>(payload.size()), &hello, &drop);
  // DTLSv1_listen hard-wires handshake_read_seq = 1 for the message after the cookie exchange:
  // any other message_seq (the parser itself refuses > 1) never reaches OpenSSL.
  if ((parsed && hello.message_seq != 1) || (!parsed && drop == Verdict::kDropHelloSeq)) {
    ++counters_[SessionCounter::kHelloSeqRejected];
    return;
  }
  if (!parsed || hello.cookie_len == 0) {
    ++counters_[SessionCounter::kHelloMalformed];
    return;
  }
  // A verified hello seen before from this 5-tuple is a replay (the original made its SSL
  // object, which may have finished or failed since): one SSL object per hello, ever.
  if (recent_hellos_.seen_or_remember(flow, payload.data() + hello.random, now_us)) {
    ++counters_[SessionCounter::kHelloReplayed];
    return;
  }
  // Checked before anything is allocated: a flood of valid cookies at a cap costs a count.
  if (sessions_.size() >= config_.max_sessions) {
    ++counters_[SessionCounter::kSessionsRefusedMax];
    return;
  }
  if (config_.max_half_open != 0 && half_open_ >= config_.max_half_open) {
    ++counters_[SessionCounter::kSessionsRefusedHalfOpen];
    return;
  }
  const Endpoint source = source_of(flow);
  if (config_.max_sessions_per_source != 0) {
    auto it = sessions_per_source_.find(source);
    if (it != sessions_per_source_.end() && it->second >= config_.max_sessions_per_source) {
      ++counters_[SessionCounter::kSessionsRefusedPerSource];
      return;
    }
  }

  auto owned = std::make_unique<Session>();
  Session& s = *owned;
  s.flow = flow;
  s.peer.flow = flow;
  s.peer.client_version = hello.client_version;
  std::memcpy(s.peer.random.data(), payload.data() + hello.random, 32);
  s.peer.session_id_len = hello.session_id_len;
  std::memcpy(s.peer.session_id.data(), payload.data() + hello.session_id, hello.session_id_len);
  s.peer.keys = &keys_;
  s.peer.initial_retransmit_us = config_.initial_retransmit_us;
  s.queues.peer = flow.client;
  s.queues.mtu = config_.mtu;
  s.started_us = now_us;
  s.last_activity_us = now_us;

  s.ssl = SSL_new(tls_.get());
  BIO* bio = s.ssl != nullptr ? new_datagram_bio(&s.queues) : nullptr;
  if (bio == nullptr || !attach_peer_context(s.ssl, &s.peer)) {
    BIO_free(bio);
    ERR_clear_error();
    ++counters_[SessionCounter::kHandshakesFailed];
    return;
  }
  ++counters_[SessionCounter::kSslObjectsCreated];
  SSL_set_bio(s.ssl, bio, bio);
  DTLS_set_timer_cb(s.ssl, retransmit_timer);

  if (flows_ != nullptr && !flows_->insert(flow) && !flows_->contains(flow)) {
    ++counters_[SessionCounter::kFlowTableFull];
  }
  sessions_.emplace(flow, std::move(owned));
  ++half_open_;
  ++sessions_per_source_[source];

  s.queues.push_inbound(payload);
  BIO_ADDR* peer = BIO_ADDR_new();
  const int listened = peer != nullptr ? DTLSv1_listen(s.ssl, peer) : -1;
  BIO_ADDR_free(peer);
  if (listened <= 0) {
    // The cookie did not verify here (e.g. two rotations since the fast path checked it):
    // OpenSSL answered with a fresh HVR of our own cookie, which we pass on.
    ERR_clear_error();
    ++counters_[SessionCounter::kHandshakesFailed];
    collect_output(s, now_us);
    erase(flow);
    return;
  }
  if (advance(s, now_us) == Outcome::kClose) erase(flow);
}

SessionEngine::Outcome SessionEngine::advance(Session& s, uint64_t now_us) {
  if (!s.established) {
    ERR_clear_error();
    const int r = SSL_accept(s.ssl);
    if (r != 1) {
      const int err = SSL_get_error(s.ssl, r);
      collect_output(s, now_us);  // a flight, or the alert OpenSSL sends on failure
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Outcome::kKeep;
      ERR_clear_error();
      ++counters_[SessionCounter::kHandshakesFailed];
      return Outcome::kClose;
    }
    s.established = true;
    --half_open_;
    ++counters_[SessionCounter::kHandshakesCompleted];
    ++counters_[SessionCounter::kSessionsOpen];
    app_.on_open(s.flow);
  }
  const Outcome outcome = read_application_data(s);
  collect_output(s, now_us);
  return outcome;
}

SessionEngine::Outcome SessionEngine::read_application_data(Session& s) {
  for (;;) {
    const int n = SSL_read(s.ssl, read_buffer_.data(), static_cast<int>(read_buffer_.size()));
    if (n > 0) {
      counters_[SessionCounter::kBytesIn] += static_cast<uint64_t>(n);
      SessionReplier replier(s.ssl, counters_);
      app_.on_data(s.flow,
                   std::span<const uint8_t>(read_buffer_.data(), static_cast<std::size_t>(n)),
                   replier);
      continue;
    }
    const int err = SSL_get_error(s.ssl, n);
    if (err == SSL_ERROR_WANT_READ) return Outcome::kKeep;
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN) {
      // close_notify: answer with ours (RFC 5246 7.2.1) and forget the session.
      ++counters_[SessionCounter::kSessionsClosedByPeer];
      SSL_shutdown(s.ssl);
      ERR_clear_error();
    } else {
      // A fatal alert from the client or a record we cannot accept after the handshake.
      ++counters_[SessionCounter::kSessionsClosedByAlert];
    }
    return Outcome::kClose;
  }
}

void SessionEngine::collect_output(Session& s, uint64_t now_us) {
  for (std::vector<uint8_t>& datagram : s.queues.outbound) {
    output_.push_back(OutgoingDatagram{s.flow, std::move(datagram)});
    ++counters_[SessionCounter::kDatagramsOut];
  }
  s.queues.outbound.clear();
  timeval remaining{};
  if (DTLSv1_get_timeout(s.ssl, &remaining) == 1) {
    s.retransmit_at = now_us + to_us(remaining);
  } else {
    s.retransmit_at.reset();
  }
}

void SessionEngine::on_timer(uint64_t now_us) {
  std::vector<FlowKey> closing;
  for (auto& [flow, owned] : sessions_) {
    Session& s = *owned;
    if (!s.established && now_us - s.started_us >= config_.handshake_timeout_us) {
      ++counters_[SessionCounter::kHandshakesTimedOut];
      closing.push_back(flow);
      continue;
    }
    if (s.established && now_us - s.last_activity_us >= config_.idle_timeout_us) {
      ++counters_[SessionCounter::kSessionsIdleTimedOut];
      SSL_shutdown(s.ssl);  // tells the client with close_notify
      ERR_clear_error();
      collect_output(s, now_us);
      closing.push_back(flow);
      continue;
    }
    if (s.retransmit_at && now_us >= *s.retransmit_at) {
      const int r = DTLSv1_handle_timeout(s.ssl);
      if (r > 0) ++counters_[SessionCounter::kRetransmissions];
      if (r < 0) {
        // OpenSSL gives up after DTLS1_TMO_ALERT_COUNT expiries.
        ERR_clear_error();
        ++counters_[s.established ? SessionCounter::kSessionsClosedByAlert
                                  : SessionCounter::kHandshakesFailed];
        closing.push_back(flow);
      }
      // Also when r == 0 (OpenSSL's wall clock not there yet): re-arm from what it says.
      collect_output(s, now_us);
    }
  }
  for (const FlowKey& flow : closing) erase(flow);
}

std::optional<uint64_t> SessionEngine::next_deadline() const {
  std::optional<uint64_t> earliest;
  auto consider = [&earliest](uint64_t t) {
    if (!earliest || t < *earliest) earliest = t;
  };
  for (const auto& [flow, owned] : sessions_) {
    const Session& s = *owned;
    if (s.established) {
      consider(s.last_activity_us + config_.idle_timeout_us);
    } else {
      consider(s.started_us + config_.handshake_timeout_us);
    }
    if (s.retransmit_at) consider(*s.retransmit_at);
  }
  return earliest;
}

std::vector<OutgoingDatagram> SessionEngine::take_output() {
  std::vector<OutgoingDatagram> out;
  out.swap(output_);
  return out;
}

void SessionEngine::erase(const FlowKey& flow) {
  auto it = sessions_.find(flow);
  if (it == sessions_.end()) return;
  if (it->second->established) {
    --counters_[SessionCounter::kSessionsOpen];
    app_.on_close(flow);
  } else {
    --half_open_;
  }
  if (auto src = sessions_per_source_.find(source_of(flow)); src != sessions_per_source_.end()) {
    if (--src->second == 0) sessions_per_source_.erase(src);
  }
  if (flows_ != nullptr) flows_->erase(flow);
  sessions_.erase(it);
}

}  // namespace dtlsgate
