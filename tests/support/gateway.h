// The fast path and the slow path of one dtlsgate, joined the way dpdk_app joins them, over
// byte buffers and a clock the caller moves: a client datagram is framed, classified, and
// either answered in place (HVR) or handed to the session engine. Shared by the session spec
// and the session fuzz target; no gtest in here, so the fuzz target can use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "dtlsgate/classifier.h"
#include "dtlsgate/cookie/keyring.h"
#include "dtlsgate/flow_table.h"
#include "dtlsgate/session/echo_handler.h"
#include "dtlsgate/session/server_context.h"
#include "dtlsgate/session/session_engine.h"
#include "support/frame_builder.h"
#include "support/test_certificate.h"

namespace dtlsgate::test {

struct GatewaySetup {
  MasterSecret secret{};
  uint64_t rotation_seconds = 60;
  uint64_t unix_seconds = 0;  // the keyring's start time
  std::size_t flow_capacity = 1024;
  ClassifierConfig classifier;
  SessionEngineConfig engine;
  ServerTlsOptions tls;
};

class Gateway {
 public:
  // With the test certificate. If OpenSSL refuses the TLS context, tls and engine stay null
  // and tls_error says why.
  explicit Gateway(const GatewaySetup& setup);

  // One client datagram framed with spec and classified; a pass goes to the engine at now_us.
  // Returns the verdict; for kReplyHvr *hvr (if non-null) gets the HVR's UDP payload, for a
  // pass *pass (if non-null) what the classifier handed on.
  Verdict from_client(const UdpFrameSpec& spec, std::span<const uint8_t> payload, Bytes* hvr,
                      PassInfo* pass = nullptr);

  uint64_t now_us = 0;
  CookieKeyring keyring;
  FlowTable flows;
  Classifier classifier;
  TestCertificate cert;
  std::unique_ptr<ServerTlsContext> tls;
  std::string tls_error;
  EchoHandler echo;
  std::unique_ptr<SessionEngine> engine;
};

}  // namespace dtlsgate::test
