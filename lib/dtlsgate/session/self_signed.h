// A throw-away server identity for when the operator gives no --cert/--key: a P-256 key and a
// self-signed certificate made in memory at start (~1 ms). Clients must then skip verification
// (gnutls-cli --insecure; s_client only warns), so dtlsgate says so in a warning.
#pragma once

#include <memory>
#include <string>

#include "dtlsgate/session/server_context.h"

namespace dtlsgate {

// nullptr and *error on failure.
std::unique_ptr<ServerTlsContext> make_self_signed_context(const std::string& common_name,
                                                           const ServerTlsOptions& options,
                                                           std::string* error);

}  // namespace dtlsgate
