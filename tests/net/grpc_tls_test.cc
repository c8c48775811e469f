// GrpcSimClient over TLS against a loopback gRPC server with the test PKI's certificate (port 0):
// SimService/Call and a full method with an empty message, the client certificate presented for
// mutual TLS, and an untrusted server certificate refused (UNAVAILABLE).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/grpc_sim.h"
#include "tests/net/tls_test_support.h"
#include "tracerig/sim/v1/sim.grpc.pb.h"

namespace tracerig {
namespace {

namespace simpb = tracerig::sim::v1;

// Answers every SimService/Call with OK and keeps the routes it was asked for.
class RecordingSimService final : public simpb::SimService::Service {
 public:
  grpc::Status Call(grpc::ServerContext*, const simpb::CallRequest* request,
                    simpb::CallResponse*) override {
    std::lock_guard lock(mu_);
    routes_.push_back(request->route());
    return grpc::Status::OK;
  }
  std::vector<std::string> routes() const {
    std::lock_guard lock(mu_);
    return routes_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> routes_;
};

class GrpcTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(pki_.status().ok()) << pki_.status().error().message; }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  // Starts the server on 127.0.0.1:0; `require_client_cert`: mutual TLS with the PKI's CA.
  uint16_t Start(bool require_client_cert) {
    grpc::SslServerCredentialsOptions options(
        require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_root_certs = pki_.ReadFile("ca.pem");
    options.pem_key_cert_pairs.push_back({pki_.ReadFile("server.key"), pki_.ReadFile("server.pem")});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    EXPECT_NE(port, 0);
    return static_cast<uint16_t>(port);
  }

  // One call on a fresh client; its status code.
  int CallOnce(const std::string& target, const GrpcClientTls& tls, const std::string& method) {
    asio::io_context ioc;
    GrpcSimClient client(ioc, target, &tls);
    int code = -1;
    auto done = [&](int c, std::string) { code = c; };
    const uint64_t deadline_ns = 10'000'000'000ull;
    if (method.empty()) {
      client.Call("GetStock", {{"traceparent", "x"}}, 0, deadline_ns, done);
    } else {
      client.CallMethod(method, {}, deadline_ns, done);
    }
    auto guard = asio::make_work_guard(ioc);
    while (code == -1) {
      ioc.restart();
      if (ioc.run_one_for(std::chrono::seconds(20)) == 0) {
        ADD_FAILURE() << "no answer in 20 s";
        break;
      }
    }
    return code;
  }

  testing::TestPki pki_;
  RecordingSimService service_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(GrpcTlsTest, CallsOverTlsWithTheGivenRoots) {
  const uint16_t port = Start(/*require_client_cert=*/false);
  GrpcClientTls tls;
  tls.root_certs_pem = pki_.ReadFile("ca.pem");
  for (const std::string host : {"localhost", "127.0.0.1"}) {
    SCOPED_TRACE(host);
    const std::string target = host + ":" + std::to_string(port);
    EXPECT_EQ(CallOnce(target, tls, ""), kGrpcOk);
    EXPECT_EQ(CallOnce(target, tls, "/tracerig.sim.v1.SimService/Call"), kGrpcOk);
  }
  EXPECT_EQ(service_.routes(), (std::vector<std::string>{"GetStock", "", "GetStock", ""}));
}

TEST_F(GrpcTlsTest, PresentsTheClientCertificate) {
  const uint16_t port = Start(/*require_client_cert=*/true);
  const std::string target = "localhost:" + std::to_string(port);
  GrpcClientTls tls;
  tls.root_certs_pem = pki_.ReadFile("ca.pem");
  EXPECT_NE(CallOnce(target, tls, ""), kGrpcOk) << "the server requires a client certificate";
  tls.cert_chain_pem = pki_.ReadFile("client.pem");
  tls.private_key_pem = pki_.ReadFile("client.key");
  EXPECT_EQ(CallOnce(target, tls, ""), kGrpcOk);
}

TEST_F(GrpcTlsTest, AnUntrustedServerIsUnavailable) {
  const uint16_t port = Start(/*require_client_cert=*/false);
  GrpcClientTls tls;
  tls.root_certs_pem = pki_.ReadFile("other-ca.pem");
  EXPECT_EQ(CallOnce("localhost:" + std::to_string(port), tls, ""), kGrpcUnavailable);
  EXPECT_TRUE(service_.routes().empty());
}

}  // namespace
}  // namespace tracerig
