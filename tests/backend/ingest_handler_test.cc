// HandleOtlpHttpIngest: success in every encoding, and every way a request is rejected.
#include <fmt/format.h>
#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backend/handlers.h"
#include "export/gzip.h"
#include "export/otlp_codec.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "test_spans.h"
#include "tests/support/fixtures.h"

namespace tracerig {
namespace {

using nlohmann::json;
using testing::MakeSpan;
namespace collector_pb = opentelemetry::proto::collector::trace::v1;

constexpr std::string_view kProtobuf = "application/x-protobuf";
constexpr std::string_view kJson = "application/json";

std::vector<Span> SampleSpans() {
  Span root = MakeSpan(0x1111, 1, "frontend", "GET /cart");
  root.attributes = {{"http.status_code", int64_t{200}}};
  Span child = MakeSpan(0x1111, 2, "cart", "GetCart");
  child.parent_span_id = SpanId{1};
  return {root, child};
}

// google.rpc.Status from protobuf bytes: code (field 1) and message (field 2), single-byte lengths
// or two-byte varints are all our messages need.
struct RpcStatus {
  int code = -1;
  std::string message;
};
RpcStatus ParseRpcStatus(std::string_view bytes) {
  RpcStatus status;
  size_t i = 0;
  auto varint = [&]() {
    uint64_t v = 0;
    for (int shift = 0; i < bytes.size(); shift += 7) {
      const auto b = static_cast<uint8_t>(bytes[i++]);
      v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) break;
    }
    return v;
  };
  while (i < bytes.size()) {
    const uint64_t tag = varint();
    if (tag == 0x08) {
      status.code = static_cast<int>(varint());
    } else if (tag == 0x12) {
      const size_t length = varint();
      status.message = std::string(bytes.substr(i, length));
      i += length;
    } else {
      break;
    }
  }
  return status;
}

class IngestTest : public ::testing::Test {
 protected:
  HttpResponseData Post(std::string_view body, std::string_view content_type = kProtobuf,
                        std::string_view encoding = "", std::string_view target = "/v1/traces",
                        std::string_view method = "POST") {
    return HandleOtlpHttpIngest(store_, counters_,
                                HttpRequestView{method, target, content_type, encoding, body},
                                limits_, 42);
  }

  void ExpectRejected(uint64_t rejected, const std::atomic<uint64_t>& reason) {
    EXPECT_EQ(counters_.requests_rejected.load(), rejected);
    EXPECT_EQ(reason.load(), rejected);
    EXPECT_EQ(counters_.spans_accepted.load(), 0u);
    EXPECT_EQ(store_.stats().spans_received, 0u);
  }

  SpanStore store_{1000};
  IngestCounters counters_;
  IngestLimits limits_;
};

TEST_F(IngestTest, AcceptsProtobuf) {
  const std::string body = EncodeOtlpProtobuf(SampleSpans());
  HttpResponseData r = Post(body);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, kProtobuf);
  EXPECT_EQ(r.body, "");  // an empty ExportTraceServiceResponse
  collector_pb::ExportTraceServiceResponse response;
  EXPECT_TRUE(response.ParseFromString(r.body));

  auto trace = store_.GetTrace(TraceId{0, 0x1111});
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->spans, SampleSpans());
  EXPECT_EQ(trace->first_arrival_unix_nano, 42u);
  EXPECT_EQ(counters_.requests.load(), 1u);
  EXPECT_EQ(counters_.spans_accepted.load(), 2u);
  EXPECT_EQ(counters_.requests_rejected.load(), 0u);
  EXPECT_EQ(counters_.body_bytes_received.load(), body.size());
}

TEST_F(IngestTest, AcceptsJsonWithMediaTypeParameters) {
  HttpResponseData r = Post(EncodeOtlpJson(SampleSpans()), "Application/JSON; charset=utf-8");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, kJson);
  EXPECT_EQ(r.body, "{}");
  auto trace = store_.GetTrace(TraceId{0, 0x1111});
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->spans, SampleSpans());
}

TEST_F(IngestTest, AcceptsGzipInBothEncodings) {
  EXPECT_EQ(Post(GzipCompress(EncodeOtlpProtobuf(SampleSpans())), kProtobuf, "gzip").status, 200u);
  EXPECT_EQ(Post(GzipCompress(EncodeOtlpJson(SampleSpans())), kJson, " GZIP ").status, 200u);
  EXPECT_EQ(Post(EncodeOtlpJson(SampleSpans()), kJson, "identity").status, 200u);
  EXPECT_EQ(store_.stats().spans_stored, 6u);  // duplicates are stored, never merged
  EXPECT_EQ(counters_.spans_accepted.load(), 6u);
}

TEST_F(IngestTest, EmptyRequestsAreValid) {
  EXPECT_EQ(Post("").status, 200u);
  EXPECT_EQ(Post("{}", kJson).status, 200u);
  EXPECT_EQ(counters_.requests_rejected.load(), 0u);
  EXPECT_EQ(store_.stats().spans_received, 0u);
}

TEST_F(IngestTest, AcceptsTheSpecExampleRequest) {
  TRACERIG_SHARED_FIXTURE(text, "otlp_json_export_request.json");
  HttpResponseData r = Post(text, kJson);
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(store_.stats().spans_stored, 1u);
  // Uppercase hex in the file; ids are integers here.
  EXPECT_TRUE(store_.GetTrace(*TraceId::FromHex("5B8EFFF798038103D269B633813FC60C")));
}

TEST_F(IngestTest, RejectsOtherPaths) {
  HttpResponseData r = Post(EncodeOtlpProtobuf(SampleSpans()), kProtobuf, "", "/v1/metrics");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.body, R"(no OTLP endpoint at "/v1/metrics"; traces go to /v1/traces)");
  EXPECT_EQ(Post("", kProtobuf, "", "/v1/traces/").status, 404u);
  ExpectRejected(2, counters_.rejected_not_found);
}

TEST_F(IngestTest, QueryStringDoesNotChangeThePath) {
  EXPECT_EQ(Post(EncodeOtlpProtobuf(SampleSpans()), kProtobuf, "", "/v1/traces?x=1").status, 200u);
}

TEST_F(IngestTest, RejectsOtherMethods) {
  HttpResponseData r = Post("", kProtobuf, "", "/v1/traces", "GET");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.body, R"(/v1/traces accepts POST, not "GET")");
  EXPECT_EQ(Post("", kProtobuf, "", "/v1/traces", "PUT").status, 405u);
  ExpectRejected(2, counters_.rejected_method);
}

TEST_F(IngestTest, RejectsOtherContentTypes) {
  const std::string body = EncodeOtlpProtobuf(SampleSpans());
  for (std::string_view type : {"", "text/plain", "application/protobuf", "application/jsonx",
                                "application/x-protobuf-foo"}) {
    EXPECT_EQ(Post(body, type).status, 415u) << type;
  }
  EXPECT_EQ(
      Post(body, "text/plain").body,
      R"(unsupported content type "text/plain"; use application/x-protobuf or application/json)");
  ExpectRejected(6, counters_.rejected_unsupported_media);
}

TEST_F(IngestTest, RejectsOtherContentEncodings) {
  const std::string body = EncodeOtlpProtobuf(SampleSpans());
  for (std::string_view encoding : {"br", "deflate", "gzip, gzip", "zstd"}) {
    EXPECT_EQ(Post(body, kProtobuf, encoding).status, 415u) << encoding;
  }
  EXPECT_EQ(Post(body, kProtobuf, "br").body,
            R"(unsupported content encoding "br"; use gzip or none)");
  ExpectRejected(5, counters_.rejected_unsupported_media);
}

TEST_F(IngestTest, RejectsBodiesOverTheLimit) {
  const std::string body = EncodeOtlpProtobuf(SampleSpans());
  limits_.max_body_bytes = body.size() - 1;
  HttpResponseData r = Post(body);
  EXPECT_EQ(r.status, 413u);
  RpcStatus status = ParseRpcStatus(r.body);
  EXPECT_EQ(status.code, 8);
  EXPECT_EQ(status.message, fmt::format("request body of {} bytes exceeds the limit of {}",
                                        body.size(), body.size() - 1));
  // JSON requests get a JSON Status.
  const std::string json_body = EncodeOtlpJson(SampleSpans());
  limits_.max_body_bytes = json_body.size() - 1;
  r = Post(json_body, kJson);
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.content_type, kJson);
  EXPECT_EQ(json::parse(r.body)["code"], 8);
  ExpectRejected(2, counters_.rejected_too_large);
}

TEST_F(IngestTest, RejectsGzipThatInflatesOverTheLimit) {
  limits_.max_body_bytes = 4096;
  const std::string bomb = GzipCompress(std::string(1 << 20, '\0'));
  ASSERT_LT(bomb.size(), limits_.max_body_bytes);
  HttpResponseData r = Post(bomb, kProtobuf, "gzip");
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(ParseRpcStatus(r.body).message, "gzip body decompresses to more than 4096 bytes");
  ExpectRejected(1, counters_.rejected_too_large);
}

TEST_F(IngestTest, RejectsUndecodableBodiesWith400) {
  // Ids of the wrong length, built with the generated classes.
  collector_pb::ExportTraceServiceRequest request;
  auto* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(15, '\x01'));
  span->set_span_id(std::string(8, '\x02'));
  span->set_name("short-trace-id");
  const std::string short_trace_id = request.SerializeAsString();
  span->set_trace_id(std::string(16, '\0'));
  const std::string zero_trace_id = request.SerializeAsString();

  std::string gzip_truncated = GzipCompress(EncodeOtlpProtobuf(SampleSpans()));
  gzip_truncated.resize(gzip_truncated.size() / 2);

  struct Row {
    std::string name;
    std::string body;
    std::string_view content_type;
    std::string_view encoding;
    std::string_view message_prefix;
  };
  const Row rows[] = {
      {"truncated protobuf", std::string("\x0a\x05\x01", 3), kProtobuf, "",
       "cannot decode OTLP protobuf: "},
      {"short trace id", short_trace_id, kProtobuf, "", "cannot decode OTLP protobuf: "},
      {"zero trace id", zero_trace_id, kProtobuf, "", "cannot decode OTLP protobuf: "},
      {"gzip garbage", "\x1f\x8b not really gzip", kProtobuf, "gzip",
       "cannot decompress gzip body: "},
      {"gzip truncated", gzip_truncated, kProtobuf, "gzip", "cannot decompress gzip body: "},
      {"gzip of nothing", "", kJson, "gzip", "cannot decompress gzip body: "},
      {"not json", "{", kJson, "", "cannot decode OTLP JSON: "},
      {"json array", "[]", kJson, "", "cannot decode OTLP JSON: "},
      {"json bad trace id",
       R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"0102030405060708"}]}]}]})",
       kJson, "", "cannot decode OTLP JSON: "},
  };
  uint64_t rejected = 0;
  for (const Row& row : rows) {
    HttpResponseData r = Post(row.body, row.content_type, row.encoding);
    ++rejected;
    EXPECT_EQ(r.status, 400u) << row.name;
    EXPECT_EQ(r.content_type, row.content_type) << row.name;
    RpcStatus status;
    if (row.content_type == kJson) {
      json body = json::parse(r.body);
      ASSERT_EQ(body.size(), 2u) << row.name;
      status.code = body["code"];
      status.message = body["message"];
    } else {
      status = ParseRpcStatus(r.body);
    }
    EXPECT_EQ(status.code, 3) << row.name;
    EXPECT_TRUE(status.message.starts_with(row.message_prefix))
        << row.name << ": " << status.message;
    // The codec's reason follows the prefix.
    EXPECT_GT(status.message.size(), row.message_prefix.size()) << row.name;
  }
  ExpectRejected(rejected, counters_.rejected_bad_data);
}

TEST_F(IngestTest, ErrorMessagesNameTheBadField) {
  collector_pb::ExportTraceServiceRequest request;
  auto* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(15, '\x01'));
  span->set_span_id(std::string(8, '\x02'));
  RpcStatus status = ParseRpcStatus(Post(request.SerializeAsString()).body);
  EXPECT_NE(status.message.find("resourceSpans[0].scopeSpans[0].spans[0]"), std::string::npos)
      << status.message;
}

TEST_F(IngestTest, RequestsAreAllOrNothing) {
  // The second span is invalid: neither is stored.
  collector_pb::ExportTraceServiceRequest request;
  auto* spans = request.add_resource_spans()->add_scope_spans();
  auto* good = spans->add_spans();
  good->set_trace_id(std::string(16, '\x01'));
  good->set_span_id(std::string(8, '\x02'));
  auto* bad = spans->add_spans();
  bad->set_trace_id(std::string(16, '\x01'));
  bad->set_span_id(std::string(3, '\x02'));
  EXPECT_EQ(Post(request.SerializeAsString()).status, 400u);
  EXPECT_EQ(store_.stats().spans_received, 0u);
}

// No input may crash the handler. Seeded, so a failure reproduces.
TEST_F(IngestTest, SurvivesArbitraryBodies) {
  // libprotobuf logs every string field with invalid UTF-8; mutated bodies have thousands.
  google::protobuf::LogSilencer silence_protobuf_log;
  const std::string valid = EncodeOtlpProtobuf(SampleSpans());
  const std::string valid_json = EncodeOtlpJson(SampleSpans());
  uint64_t x = 0x9E3779B97F4A7C15ull;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 3000; ++i) {
    std::string body = i % 3 == 0 ? valid : (i % 3 == 1 ? valid_json : std::string());
    const int mutations = 1 + static_cast<int>(next() % 4);
    for (int m = 0; m < mutations; ++m) {
      if (!body.empty() && next() % 2) {
        body[next() % body.size()] = static_cast<char>(next());
      } else if (!body.empty() && next() % 2) {
        body.resize(next() % body.size());
      } else {
        body.push_back(static_cast<char>(next()));
      }
    }
    const std::string_view type = i % 3 == 1 ? kJson : kProtobuf;
    HttpResponseData r = Post(body, type, i % 5 == 0 ? "gzip" : "");
    EXPECT_TRUE(r.status == 200 || r.status == 400) << i << ": " << r.status;
  }
  EXPECT_EQ(counters_.requests.load(), 3000u);
  EXPECT_EQ(counters_.requests_rejected.load(), counters_.rejected_bad_data.load());
}

}  // namespace
}  // namespace tracerig
