// The OTLP/gRPC sender against fake TraceService servers on loopback (port 0): how every status
// code is classified, RetryInfo, partial success, metadata headers, deadlines, an unreachable
// collector, and TLS with throwaway certificates made by openssl.
#include "export/otlp_grpc_sender.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>

#include "export/otlp_codec.h"
#include "net/grpc_status.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "tests/support/fixtures.h"
#include "tests/support/scratch_dir.h"

namespace tracerig {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;

std::vector<Span> Batch(size_t n) {
  std::vector<Span> spans;
  for (size_t i = 0; i < n; ++i) {
    Span s;
    s.trace_id = TraceId{0x1234, 0x5678};
    s.span_id = SpanId{i + 1};
    s.name = "op";
    s.kind = SpanKind::kServer;
    s.service_name = "svc";
    s.start_unix_nano = 1'700'000'000'000'000'000ull;
    s.end_unix_nano = s.start_unix_nano + 1000;
    spans.push_back(s);
  }
  return spans;
}

// Answers every Export with the configured status (and partial success), recording what arrived.
class FakeTraceService final : public collector::TraceService::Service {
 public:
  grpc::Status Export(grpc::ServerContext* context,
                      const collector::ExportTraceServiceRequest* request,
                      collector::ExportTraceServiceResponse* response) override {
    std::shared_future<void> hold;
    {
      std::lock_guard lock(mu_);
      ++calls_;
      metadata_.clear();
      for (const auto& [key, value] : context->client_metadata()) {
        metadata_.emplace(std::string(key.data(), key.size()),
                          std::string(value.data(), value.size()));
      }
      spans_ = 0;
      for (const auto& rs : request->resource_spans()) {
        for (const auto& ss : rs.scope_spans()) spans_ += ss.spans_size();
      }
      if (rejected_ > 0) {
        response->mutable_partial_success()->set_rejected_spans(rejected_);
        response->mutable_partial_success()->set_error_message("2 spans too old");
      }
      hold = hold_;
    }
    if (hold.valid()) hold.wait();  // released by the test once the client gave up
    std::lock_guard lock(mu_);
    return status_;
  }

  void Answer(grpc::Status status, int64_t rejected = 0) {
    std::lock_guard lock(mu_);
    status_ = std::move(status);
    rejected_ = rejected;
  }
  void Hold(std::shared_future<void> until) {
    std::lock_guard lock(mu_);
    hold_ = std::move(until);
  }
  std::multimap<std::string, std::string> metadata() const {
    std::lock_guard lock(mu_);
    return metadata_;
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  int spans() const {
    std::lock_guard lock(mu_);
    return spans_;
  }

 private:
  mutable std::mutex mu_;
  grpc::Status status_ = grpc::Status::OK;
  int64_t rejected_ = 0;
  std::shared_future<void> hold_;
  std::multimap<std::string, std::string> metadata_;
  int calls_ = 0;
  int spans_ = 0;
};

class FakeCollector {
 public:
  explicit FakeCollector(
      std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials(),
      std::string host = "127.0.0.1") {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(host + ":0", credentials, &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    EXPECT_NE(port_, 0);
  }
  ~FakeCollector() { Shutdown(); }
  void Shutdown() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  FakeTraceService& service() { return service_; }

 private:
  FakeTraceService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// A target for `host_port` with the fields `edit` sets (GCC warns on partial designated
// initializers).
OtlpGrpcTarget Target(std::string host_port,
                      const std::function<void(OtlpGrpcTarget&)>& edit = nullptr) {
  OtlpGrpcTarget target;
  target.host_port = std::move(host_port);
  if (edit) edit(target);
  return target;
}

std::unique_ptr<OtlpGrpcSender> MakeSender(OtlpGrpcTarget target) {
  auto sender = OtlpGrpcSender::Create(std::move(target));
  EXPECT_TRUE(sender.ok()) << (sender.ok() ? "" : sender.error().message);
  return sender.ok() ? std::move(*sender) : nullptr;
}

TEST(OtlpGrpcSenderTest, EveryStatusCodeIsClassifiedPerTheOtlpSpec) {
  using Kind = SendResult::Kind;
  struct Row {
    int code;
    bool retry_info;
    Kind expected;
  };
  const std::vector<Row> rows = {
      {kGrpcOk, false, Kind::kOk},
      {kGrpcCancelled, false, Kind::kRetryable},
      {kGrpcUnknown, false, Kind::kPermanent},
      {kGrpcInvalidArgument, false, Kind::kPermanent},
      {kGrpcDeadlineExceeded, false, Kind::kRetryable},
      {kGrpcNotFound, false, Kind::kPermanent},
      {6, false, Kind::kPermanent},  // ALREADY_EXISTS
      {7, false, Kind::kPermanent},  // PERMISSION_DENIED
      {kGrpcResourceExhausted, false, Kind::kPermanent},
      {kGrpcResourceExhausted, true, Kind::kRetryable},
      {9, false, Kind::kPermanent},  // FAILED_PRECONDITION
      {kGrpcAborted, false, Kind::kRetryable},
      {kGrpcOutOfRange, false, Kind::kRetryable},
      {kGrpcUnimplemented, false, Kind::kPermanent},
      {kGrpcInternal, false, Kind::kPermanent},
      {kGrpcUnavailable, false, Kind::kRetryable},
      {kGrpcUnavailable, true, Kind::kRetryable},
      {kGrpcDataLoss, false, Kind::kRetryable},
      {kGrpcUnauthenticated, false, Kind::kPermanent},
  };
  FakeCollector collector;
  auto sender = MakeSender(Target(collector.address()));
  ASSERT_NE(sender, nullptr);
  for (const Row& row : rows) {
    SCOPED_TRACE(GrpcStatusName(row.code) + (row.retry_info ? " with RetryInfo" : ""));
    const std::string message = "answer " + std::to_string(row.code);
    if (row.code == kGrpcOk) {
      collector.service().Answer(grpc::Status::OK);
    } else if (row.retry_info) {
      collector.service().Answer(grpc::Status(static_cast<grpc::StatusCode>(row.code), message,
                                              EncodeRetryInfoStatus(row.code, message, 1500)));
    } else {
      collector.service().Answer(grpc::Status(static_cast<grpc::StatusCode>(row.code), message));
    }
    const SendResult result = sender->Send(Batch(3));
    EXPECT_EQ(result.kind, row.expected) << result.reason;
    EXPECT_EQ(result.retry_after_ms, row.retry_info ? 1500u : 0u);
    if (row.code != kGrpcOk) {
      EXPECT_EQ(result.reason, "gRPC " + GrpcStatusName(row.code) + ": " + message);
    }
  }
  EXPECT_EQ(collector.service().calls(), static_cast<int>(rows.size()));
  EXPECT_EQ(collector.service().spans(), 3);
}

TEST(OtlpGrpcSenderTest, PartialSuccessReportsRejectedSpans) {
  FakeCollector collector;
  collector.service().Answer(grpc::Status::OK, /*rejected=*/2);
  auto sender = MakeSender(Target(collector.address()));
  ASSERT_NE(sender, nullptr);
  const SendResult result = sender->Send(Batch(5));
  EXPECT_EQ(result.kind, SendResult::Kind::kOk);
  EXPECT_EQ(result.rejected_spans, 2);
  EXPECT_EQ(result.reason, "2 spans too old");
}

TEST(OtlpGrpcSenderTest, HeadersArriveAsLowercaseMetadata) {
  FakeCollector collector;
  auto sender = MakeSender(Target(collector.address(), [](OtlpGrpcTarget& t) {
    t.headers = {{"Authorization", "Bearer s3cret"}, {"X-Scope-OrgID", "tenant-a"}};
  }));
  ASSERT_NE(sender, nullptr);
  ASSERT_EQ(sender->Send(Batch(1)).kind, SendResult::Kind::kOk);
  const auto metadata = collector.service().metadata();
  auto auth = metadata.find("authorization");
  ASSERT_NE(auth, metadata.end());
  EXPECT_EQ(auth->second, "Bearer s3cret");
  auto org = metadata.find("x-scope-orgid");
  ASSERT_NE(org, metadata.end());
  EXPECT_EQ(org->second, "tenant-a");
}

TEST(OtlpGrpcSenderTest, DeadlinePerExportIsRetryable) {
  FakeCollector collector;
  std::promise<void> release;
  collector.service().Hold(release.get_future().share());
  auto sender =
      MakeSender(Target(collector.address(), [](OtlpGrpcTarget& t) { t.timeout_ms = 100; }));
  ASSERT_NE(sender, nullptr);
  const SendResult result = sender->Send(Batch(1));
  release.set_value();
  EXPECT_EQ(result.kind, SendResult::Kind::kRetryable);
  EXPECT_TRUE(result.reason.starts_with("gRPC DEADLINE_EXCEEDED")) << result.reason;
}

TEST(OtlpGrpcSenderTest, UnreachableCollectorIsRetryableUnavailable) {
  FakeCollector collector;
  const std::string address = collector.address();
  collector.Shutdown();  // the port is now closed
  auto sender = MakeSender(Target(address, [](OtlpGrpcTarget& t) { t.timeout_ms = 5000; }));
  ASSERT_NE(sender, nullptr);
  const SendResult result = sender->Send(Batch(1));
  EXPECT_EQ(result.kind, SendResult::Kind::kRetryable);
  EXPECT_TRUE(result.reason.starts_with("gRPC UNAVAILABLE")) << result.reason;
}

TEST(OtlpGrpcSenderTest, RetryInfoDecoding) {
  EXPECT_EQ(RetryInfoDelayMs(EncodeRetryInfoStatus(14, "busy", 2500)), 2500u);
  EXPECT_EQ(RetryInfoDelayMs(EncodeRetryInfoStatus(14, "busy", 0)), 0u);
  EXPECT_EQ(RetryInfoDelayMs(""), std::nullopt);
  EXPECT_EQ(RetryInfoDelayMs("\x08\x0e"), std::nullopt);  // a Status without details
  EXPECT_EQ(RetryInfoDelayMs("\x1a\xff"), std::nullopt);  // truncated
  EXPECT_EQ(RetryInfoDelayMs(std::string("\x1a\x05\x0a\x03"
                                         "abc",
                                         7)),
            std::nullopt);  // other type
}

TEST(OtlpGrpcSenderTest, CreateErrorsNameTheProblem) {
  struct Row {
    OtlpGrpcTarget target;
    std::string error;
  };
  const std::vector<Row> rows = {
      {Target(""), "OTLP/gRPC target: empty address"},
      {Target("h:1",
              [](OtlpGrpcTarget& t) {
                t.tls = true;
                t.ca_file = "/nonexistent/ca.pem";
              }),
       "OTLP/gRPC CA file /nonexistent/ca.pem: cannot read the file"},
      {Target("h:1",
              [](OtlpGrpcTarget& t) {
                t.tls = true;
                t.client_cert_file = "/nonexistent/c.pem";
              }),
       "OTLP/gRPC TLS: a client certificate needs both a cert and a key file"},
      {Target("h:1", [](OtlpGrpcTarget& t) { t.ca_file = "/nonexistent/ca.pem"; }),
       "OTLP/gRPC target: CA or client certificate files given without TLS"},
  };
  for (const Row& row : rows) {
    auto sender = OtlpGrpcSender::Create(row.target);
    ASSERT_FALSE(sender.ok()) << row.error;
    EXPECT_EQ(sender.error().message, row.error);
  }
}

// ------------------------------------------------------------------------------------------------
// TLS with a throwaway CA, server and client certificate.

std::string ReadFile(const std::filesystem::path& path) {
  return test_support::ReadTestFile(path).value_or("");
}

class OtlpGrpcTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("openssl version > /dev/null 2>&1") != 0) {
      GTEST_SKIP() << "openssl is not installed: cannot make throwaway certificates for TLS tests";
    }
    dir_ = test_support::MakeScratchDir("tracerig-otlp-grpc-tls");
    ASSERT_FALSE(dir_.empty());
    std::ofstream(dir_ / "san.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    const std::string d = dir_.string();
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script =
        "cd '" + d + "' && " + "openssl req -x509" + key +
        " -keyout ca.key -out ca.pem -days 2 -subj /CN=tracerig-ca && " + "openssl req" + key +
        " -keyout server.key -out server.csr -subj /CN=localhost && " +
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile san.ext && " +
        "openssl req" + key + " -keyout client.key -out client.csr -subj /CN=tracerig-client && " +
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out client.pem -days 2";
    if (std::system(("(" + script + ") > /dev/null 2>&1").c_str()) != 0) {
      GTEST_SKIP() << "openssl could not make throwaway certificates in " << d;
    }
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::shared_ptr<grpc::ServerCredentials> ServerCredentials(bool require_client_cert) const {
    grpc::SslServerCredentialsOptions options(
        require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_root_certs = ReadFile(dir_ / "ca.pem");
    options.pem_key_cert_pairs.push_back(
        {ReadFile(dir_ / "server.key"), ReadFile(dir_ / "server.pem")});
    return grpc::SslServerCredentials(options);
  }
  std::string File(const char* name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(OtlpGrpcTlsTest, ExportsOverTlsWithTheGivenCa) {
  FakeCollector collector(ServerCredentials(false));
  auto sender = MakeSender(Target(collector.address(), [&](OtlpGrpcTarget& t) {
    t.tls = true;
    t.ca_file = File("ca.pem");
  }));
  ASSERT_NE(sender, nullptr);
  const SendResult result = sender->Send(Batch(2));
  EXPECT_EQ(result.kind, SendResult::Kind::kOk) << result.reason;
  EXPECT_EQ(collector.service().spans(), 2);
}

TEST_F(OtlpGrpcTlsTest, MutualTlsNeedsTheClientCertificate) {
  FakeCollector collector(ServerCredentials(true));
  auto with_cert = MakeSender(Target(collector.address(), [&](OtlpGrpcTarget& t) {
    t.tls = true;
    t.ca_file = File("ca.pem");
    t.client_cert_file = File("client.pem");
    t.client_key_file = File("client.key");
  }));
  ASSERT_NE(with_cert, nullptr);
  const SendResult ok = with_cert->Send(Batch(1));
  EXPECT_EQ(ok.kind, SendResult::Kind::kOk) << ok.reason;

  auto without_cert = MakeSender(Target(collector.address(), [&](OtlpGrpcTarget& t) {
    t.tls = true;
    t.ca_file = File("ca.pem");
  }));
  ASSERT_NE(without_cert, nullptr);
  const SendResult refused = without_cert->Send(Batch(1));
  EXPECT_NE(refused.kind, SendResult::Kind::kOk);
  EXPECT_EQ(collector.service().calls(), 1);
}

TEST_F(OtlpGrpcTlsTest, PlaintextClientCannotTalkToATlsCollector) {
  FakeCollector collector(ServerCredentials(false));
  auto sender =
      MakeSender(Target(collector.address(), [](OtlpGrpcTarget& t) { t.timeout_ms = 5000; }));
  ASSERT_NE(sender, nullptr);
  EXPECT_EQ(sender->Send(Batch(1)).kind, SendResult::Kind::kRetryable);
  EXPECT_EQ(collector.service().calls(), 0);
}

}  // namespace
}  // namespace tracerig
