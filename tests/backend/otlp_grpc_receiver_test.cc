// The OTLP/gRPC receiver: the pure export handler (table-driven: what is stored, answered and
// counted) and the embedded backend's receiver over loopback (port 0), fed by tracerig's own
// OTLP/gRPC sender and by raw bytes for what a sender would never send.
#include "backend/otlp_grpc_receiver.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "backend/embedded_backend.h"
#include "export/otlp_codec.h"
#include "export/otlp_grpc_sender.h"
#include "net/grpc_status.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "test_spans.h"

namespace tracerig {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;
using testing::MakeSpan;

constexpr uint64_t kNow = 1'700'000'000'000'000'000ull;

// A serialized request whose spans have the given trace id lengths (0x11 bytes, span id 1..n).
std::string RequestWithTraceIdLengths(const std::vector<size_t>& lengths) {
  collector::ExportTraceServiceRequest request;
  auto* rs = request.add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("svc");
  auto* ss = rs->add_scope_spans();
  for (size_t i = 0; i < lengths.size(); ++i) {
    auto* span = ss->add_spans();
    span->set_trace_id(std::string(lengths[i], '\x11'));
    std::string span_id(8, '\0');
    span_id[7] = static_cast<char>(i + 1);
    span->set_span_id(span_id);
    span->set_name("op");
  }
  return request.SerializeAsString();
}

TEST(OtlpGrpcExportTest, AnswersStoresAndCounts) {
  struct Row {
    std::string name;
    std::string request;
    size_t max_bytes;
    int code;
    std::string message;
    int64_t rejected;
    std::string partial_message;
    uint64_t stored;
    uint64_t rejected_bad_data;
    uint64_t rejected_too_large;
  };
  const std::vector<Row> rows = {
      {"valid", EncodeOtlpProtobuf({MakeSpan(1, 1, "a", "x"), MakeSpan(1, 2, "b", "y")}), 1 << 20,
       kGrpcOk, "", 0, "", 2, 0, 0},
      {"empty request", "", 1 << 20, kGrpcOk, "", 0, "", 0, 0, 0},
      {"not protobuf", "\xff\xff\xff", 1 << 20, kGrpcInvalidArgument,
       "cannot decode OTLP protobuf: body is not a valid ExportTraceServiceRequest protobuf (3 "
       "bytes): truncated, malformed, or a string field is not UTF-8",
       0, "", 0, 1, 0},
      {"every span invalid", RequestWithTraceIdLengths({15, 17}), 1 << 20, kGrpcInvalidArgument,
       "cannot decode OTLP protobuf: resourceSpans[0].scopeSpans[0].spans[0]: traceId must be 16 "
       "bytes, got 15",
       0, "", 0, 1, 0},
      {"some spans invalid", RequestWithTraceIdLengths({16, 15, 16, 8}), 1 << 20, kGrpcOk, "", 2,
       "2 invalid spans rejected; first: resourceSpans[0].scopeSpans[0].spans[1]: traceId must be "
       "16 bytes, got 15",
       2, 0, 0},
      {"over the limit", EncodeOtlpProtobuf({MakeSpan(1, 1, "a", "x")}), 10, kGrpcResourceExhausted,
       "", 0, "", 0, 0, 1},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    SpanStore store(1000);
    IngestCounters own;
    IngestCounters total;
    IngestCounters* const counters[] = {&own, &total};
    IngestLimits limits;
    limits.max_body_bytes = row.max_bytes;
    const OtlpGrpcAnswer answer = HandleOtlpGrpcExport(store, counters, row.request, limits, kNow);
    EXPECT_EQ(answer.grpc_code, row.code);
    if (row.code == kGrpcResourceExhausted) {
      EXPECT_EQ(answer.message, "request of " + std::to_string(row.request.size()) +
                                    " bytes exceeds the limit of 10");
    } else {
      EXPECT_EQ(answer.message, row.message);
    }
    EXPECT_EQ(answer.rejected_spans, row.rejected);
    EXPECT_EQ(answer.partial_message, row.partial_message);
    EXPECT_EQ(store.stats().spans_stored, row.stored);
    for (const IngestCounters* c : counters) {
      EXPECT_EQ(c->requests.load(), 1u);
      EXPECT_EQ(c->body_bytes_received.load(), row.request.size());
      EXPECT_EQ(c->spans_accepted.load(), row.stored);
      EXPECT_EQ(c->requests_rejected.load(), row.rejected_bad_data + row.rejected_too_large);
      EXPECT_EQ(c->rejected_bad_data.load(), row.rejected_bad_data);
      EXPECT_EQ(c->rejected_too_large.load(), row.rejected_too_large);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Over loopback, inside the embedded backend.

class OtlpGrpcReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedBackendOptions options;
    options.otlp_http = "127.0.0.1:0";
    options.query = "127.0.0.1:0";
    options.otlp_grpc = "127.0.0.1:0";
    options.max_body_bytes = 64 * 1024;
    backend_ = std::make_unique<EmbeddedBackend>(options);
    auto started = backend_->Start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    ASSERT_NE(backend_->otlp_grpc_endpoint().port(), 0);
    address_ = "127.0.0.1:" + std::to_string(backend_->otlp_grpc_endpoint().port());
  }
  void TearDown() override { backend_->Stop(); }

  // Sends raw bytes to `method` as a unary call; returns the status and the response bytes.
  std::pair<grpc::Status, std::string> RawCall(const std::string& method, const std::string& body) {
    auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    grpc::Slice slice(body);
    grpc::ByteBuffer request(&slice, 1);
    grpc::CompletionQueue cq;
    auto call = stub.PrepareUnaryCall(&context, method, request, &cq);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, this);
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    std::vector<grpc::Slice> slices;
    std::string out;
    if (status.ok() && response.Dump(&slices).ok()) {
      for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return {status, out};
  }

  OtlpGrpcTarget Target() const {
    OtlpGrpcTarget target;
    target.host_port = address_;
    return target;
  }

  std::unique_ptr<EmbeddedBackend> backend_;
  std::string address_;
};

TEST_F(OtlpGrpcReceiverTest, SenderToReceiverRoundTripStoresEqualSpans) {
  std::vector<Span> batch = {MakeSpan(0xabc, 1, "frontend", "GET /"),
                             MakeSpan(0xabc, 2, "cart", "GetCart"),
                             MakeSpan(0xdef, 3, "frontend", "GET /other")};
  batch[1].parent_span_id = SpanId{1};
  batch[1].kind = SpanKind::kClient;
  batch[1].attributes = {{"rpc.system", std::string("grpc")}, {"n", int64_t{7}}, {"b", true}};
  batch[1].events = {SpanEvent{kNow + 5, "retry", {{"attempt", int64_t{2}}}}};
  batch[1].status_code = StatusCode::kError;
  batch[1].status_message = "UNAVAILABLE";
  batch[2].resource_attributes = {{"host.name", std::string("box")}};

  auto sender = OtlpGrpcSender::Create(Target());
  ASSERT_TRUE(sender.ok()) << sender.error().message;
  const SendResult result = (*sender)->Send(batch);
  ASSERT_EQ(result.kind, SendResult::Kind::kOk) << result.reason;
  EXPECT_EQ(result.rejected_spans, 0);

  // What any OTLP receiver would make of the batch: the codec's own round trip.
  auto expected = DecodeOtlpProtobuf(EncodeOtlpProtobuf(batch));
  ASSERT_TRUE(expected.ok());
  auto first = backend_->store().GetTrace(TraceId{0, 0xabc});
  auto second = backend_->store().GetTrace(TraceId{0, 0xdef});
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  std::vector<Span> stored = first->spans;
  stored.insert(stored.end(), second->spans.begin(), second->spans.end());
  EXPECT_EQ(stored, *expected);
  EXPECT_EQ(stored[1].attributes, batch[1].attributes);

  ASSERT_NE(backend_->otlp_grpc_counters(), nullptr);
  EXPECT_EQ(backend_->otlp_grpc_counters()->requests.load(), 1u);
  EXPECT_EQ(backend_->otlp_grpc_counters()->spans_accepted.load(), 3u);
  EXPECT_EQ(backend_->counters().spans_accepted, 3u);  // the backend's total
}

TEST_F(OtlpGrpcReceiverTest, MalformedRequestIsInvalidArgumentCountedAndStoresNothing) {
  auto [status, body] = RawCall(std::string(kOtlpGrpcExportMethod), "\x0a\xff\xff\xff");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(status.error_message().starts_with("cannot decode OTLP protobuf: "))
      << status.error_message();
  EXPECT_EQ(backend_->otlp_grpc_counters()->rejected_bad_data.load(), 1u);
  EXPECT_EQ(backend_->counters().requests_rejected, 1u);
  EXPECT_EQ(backend_->store().stats().spans_stored, 0u);
}

TEST_F(OtlpGrpcReceiverTest, OversizedRequestIsResourceExhausted) {
  std::vector<Span> batch;
  for (uint64_t i = 1; i <= 2000; ++i) batch.push_back(MakeSpan(7, i, "svc", "op"));
  const std::string body = EncodeOtlpProtobuf(batch);
  ASSERT_GT(body.size(), 64u * 1024);
  auto [status, response] = RawCall(std::string(kOtlpGrpcExportMethod), body);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "request of " + std::to_string(body.size()) + " bytes exceeds the limit of 65536");
  EXPECT_EQ(backend_->otlp_grpc_counters()->rejected_too_large.load(), 1u);
  EXPECT_EQ(backend_->store().stats().spans_stored, 0u);
}

TEST_F(OtlpGrpcReceiverTest, PartialSuccessReachesTheSender) {
  std::vector<Span> batch = {MakeSpan(9, 1, "svc", "ok"), MakeSpan(9, 2, "svc", "bad")};
  batch[1].trace_id = TraceId{};  // encodes as 16 zero bytes: refused
  auto sender = OtlpGrpcSender::Create(Target());
  ASSERT_TRUE(sender.ok());
  const SendResult result = (*sender)->Send(batch);
  EXPECT_EQ(result.kind, SendResult::Kind::kOk) << result.reason;
  EXPECT_EQ(result.rejected_spans, 1);
  EXPECT_EQ(result.reason,
            "1 invalid span rejected; first: resourceSpans[0].scopeSpans[0].spans[1]: traceId "
            "must not be all zeros");
  EXPECT_EQ(backend_->store().stats().spans_stored, 1u);
}

TEST_F(OtlpGrpcReceiverTest, UnknownMethodIsUnimplementedAndCounted) {
  auto [status, body] =
      RawCall("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", "");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(status.error_message(),
            "unknown method /opentelemetry.proto.collector.metrics.v1.MetricsService/Export; OTLP "
            "traces go to /opentelemetry.proto.collector.trace.v1.TraceService/Export");
  EXPECT_EQ(backend_->otlp_grpc_counters()->rejected_not_found.load(), 1u);
}

TEST(OtlpGrpcReceiverOptionsTest, DisabledByDefaultAndListenErrorsNameTheFlag) {
  EmbeddedBackendOptions options;
  EXPECT_TRUE(options.otlp_grpc.empty());
  options.otlp_http = "127.0.0.1:0";
  options.query = "127.0.0.1:0";
  {
    EmbeddedBackend backend(options);
    ASSERT_TRUE(backend.Start().ok());
    EXPECT_EQ(backend.otlp_grpc_endpoint().port(), 0);
    EXPECT_EQ(backend.otlp_grpc_counters(), nullptr);
  }
  options.otlp_grpc = "no-port";
  EmbeddedBackend backend(options);
  auto started = backend.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_TRUE(started.error().message.starts_with("--otlp-grpc: ")) << started.error().message;
}

}  // namespace
}  // namespace tracerig
