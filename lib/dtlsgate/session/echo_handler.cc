#include "dtlsgate/session/echo_handler.h"

namespace dtlsgate {

void EchoHandler::on_data(const FlowKey& /*flow*/, std::span<const uint8_t> plaintext,
                          Replier& reply) {
  reply.send(plaintext);
}

}  // namespace dtlsgate
