// Writes the classifier fuzz target's seed corpus: one valid frame of each shape the classifier
// accepts (so the fuzzer starts deep inside every path), in the fuzz target's world.
//   classifier-fuzz-corpus <directory>
#include <cstdio>
#include <fstream>
#include <string>

#include "dtlsgate/classifier.h"
#include "fuzz/fuzz_world.h"
#include "support/frame_builder.h"

using namespace dtlsgate;
using test::Bytes;

namespace {

void write(const std::string& dir, const std::string& name, const Bytes& frame) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(frame.data()),
            static_cast<std::streamsize>(frame.size()));
  std::printf("%-28s %4zu bytes\n", name.c_str(), frame.size());
}

test::UdpFrameSpec v6_spec() {
  test::UdpFrameSpec s;
  s.src_ip = "2001:db8::10";
  s.dst_ip = "2001:db8::1";
  return s;
}

// Runs a real OpenSSL client against the fuzz world's classifier: its first ClientHello and
// the second one carrying a cookie valid under the fuzz world's keys.
void openssl_pair(const std::string& dir, const std::string& prefix,
                  const test::UdpFrameSpec& udp) {
  const fuzz::World& w = fuzz::world();
  test::OpenSslHelloClient client;
  const Bytes hello1 = test::build_udp_frame(udp, client.first_client_hello());
  write(dir, prefix + "_hello", hello1);
  Bytes reply = hello1;
  FrameRef ref{reply.data(), static_cast<uint16_t>(reply.size()), 0};
  if (w.classifier.classify(w.keys(), ref, nullptr) != Verdict::kReplyHvr) {
    std::fprintf(stderr, "no HVR for the OpenSSL hello\n");
    std::exit(1);
  }
  const std::size_t payload = test::layout_of(udp).payload;
  const Bytes hello2 = client.respond({reply.data() + payload, ref.len - payload});
  write(dir, prefix + "_hello_with_cookie", test::build_udp_frame(udp, hello2));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  openssl_pair(dir, "openssl_ipv4", {});
  openssl_pair(dir, "openssl_ipv6", v6_spec());

  test::ClientHelloSpec hello;
  hello.session_id = Bytes(32, 0x33);
  hello.extensions = test::extension(0x000b, Bytes{1, 0});
  test::UdpFrameSpec vlan;
  vlan.vlans = {100, 200};
  write(dir, "hello_two_vlans", test::build_udp_frame(vlan, test::client_hello_record(hello)));

  test::UdpFrameSpec known;
  known.src_ip = "192.0.2.77";
  known.src_port = fuzz::kKnownPort;
  write(dir, "known_flow_app_data",
        test::build_udp_frame(known, test::dtls_record(23, test::kDtls12, 1, 9, Bytes(40, 0xab))));
  test::UdpFrameSpec known6 = v6_spec();
  known6.src_ip = "2001:db8::77";
  known6.src_port = fuzz::kKnownPort;
  write(dir, "known_flow_ipv6_alert",
        test::build_udp_frame(known6, test::dtls_record(21, test::kDtls12, 1, 3, Bytes{2, 40})));

  write(dir, "arp_request", test::build_arp_frame({}));
  write(dir, "neighbour_solicitation", test::build_neighbour_solicitation({}));
  test::NeighbourSolicitationSpec dad;
  dad.src_ip = "::";
  write(dir, "neighbour_solicitation_dad", test::build_neighbour_solicitation(dad));
  return 0;
}
