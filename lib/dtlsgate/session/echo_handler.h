// The first application: every plaintext datagram comes back unchanged.
#pragma once

#include "dtlsgate/session/app_handler.h"

namespace dtlsgate {

class EchoHandler final : public AppHandler {
 public:
  void on_data(const FlowKey& flow, std::span<const uint8_t> plaintext, Replier& reply) override;
};

}  // namespace dtlsgate
