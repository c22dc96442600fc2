#include "support/gateway.h"

namespace dtlsgate::test {

Gateway::Gateway(const GatewaySetup& setup)
    : keyring(setup.secret, setup.rotation_seconds, setup.unix_seconds),
      flows(setup.flow_capacity),
      classifier(setup.classifier, &flows) {
  tls = ServerTlsContext::from_memory(cert.cert, cert.key, setup.tls, &tls_error);
  if (tls != nullptr) {
    engine = std::make_unique<SessionEngine>(*tls, keyring, &flows, echo, setup.engine);
  }
}

Verdict Gateway::from_client(const UdpFrameSpec& spec, std::span<const uint8_t> payload, Bytes* hvr,
                             PassInfo* pass) {
  Bytes frame = build_udp_frame(spec, payload);
  FrameRef ref{frame.data(), static_cast<uint16_t>(frame.size()),
               static_cast<uint16_t>(frame.size())};
  PassInfo passed;
  const Verdict v = classifier.classify(*keyring.snapshot(), ref, &passed);
  if (v == Verdict::kReplyHvr && hvr != nullptr) {
    const std::size_t at = layout_of(spec).payload;
    hvr->assign(frame.begin() + static_cast<std::ptrdiff_t>(at), frame.begin() + ref.len);
  } else if (v == Verdict::kPassVerified || v == Verdict::kPassFlow) {
    if (pass != nullptr) *pass = passed;
    engine->on_datagram(
        v, passed.flow,
        std::span<const uint8_t>(frame.data() + passed.payload_offset, passed.payload_len), now_us);
  }
  return v;
}

}  // namespace dtlsgate::test
