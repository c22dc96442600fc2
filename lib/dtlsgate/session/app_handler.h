// What runs on top of an established DTLS session. The engine owns the sessions and calls the
// handler on its own thread; a handler answers through the Replier it is given (each reply is
// one DTLS record, so one datagram).
#pragma once

#include <cstdint>
#include <span>

#include "dtlsgate/endpoint.h"

namespace dtlsgate {

class Replier {
 public:
  virtual ~Replier() = default;
  // Sends plaintext to the client of the session being served. Returns false if the session
  // cannot send (closing, or larger than one record allows at this MTU).
  virtual bool send(std::span<const uint8_t> plaintext) = 0;
};

class AppHandler {
 public:
  virtual ~AppHandler() = default;
  virtual void on_open(const FlowKey& /*flow*/) {}
  virtual void on_data(const FlowKey& flow, std::span<const uint8_t> plaintext, Replier& reply) = 0;
  virtual void on_close(const FlowKey& /*flow*/) {}
};

}  // namespace dtlsgate
