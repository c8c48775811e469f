// The failure matrix of issue 5: the real BatchingExporter with each real sender (OTLP/HTTP
// protobuf and JSON, Zipkin, OTLP/gRPC) against scripted loopback receivers (port 0) that fail the
// way collectors do: refused connection, 503 / UNAVAILABLE then success, 429 with Retry-After /
// RESOURCE_EXHAUSTED with RetryInfo, a receiver slower than the export timeout, partial success
// and permanent errors. Every row checks exact counts on both sides: what the exporter says it
// delivered, retried and dropped (by reason), and what the receiver actually got, so a batch that
// is sent twice cannot be counted once without the test noticing.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "export/exporter.h"
#include "export/otlp_codec.h"
#include "export/otlp_grpc_sender.h"
#include "export/otlp_http_sender.h"
#include "export/zipkin_codec.h"
#include "export/zipkin_sender.h"
#include "net/grpc_status.h"
#include "net/http_server.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "tests/export/recording_waiter.h"
#include "tests/support/loopback_server.h"

namespace tracerig {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;
using SteadyClock = std::chrono::steady_clock;

enum class Wire { kOtlpProtobuf, kOtlpJson, kZipkin, kOtlpGrpc };

std::string WireName(Wire wire) {
  switch (wire) {
    case Wire::kOtlpProtobuf:
      return "OtlpHttpProtobuf";
    case Wire::kOtlpJson:
      return "OtlpHttpJson";
    case Wire::kZipkin:
      return "Zipkin";
    case Wire::kOtlpGrpc:
      return "OtlpGrpc";
  }
  return "?";
}

// One scripted answer; each receiver gives it its protocol's form.
enum class Answer {
  kOk,           // 200 (Zipkin 202) / OK
  kUnavailable,  // 503 / UNAVAILABLE
  kThrottled,    // 429 with Retry-After: 1 / RESOURCE_EXHAUSTED with RetryInfo of 1 s
  kSlow,         // no answer until the next request arrives, long after the export timeout
  kPartial,      // success, but kRejected spans rejected (OTLP partial_success)
  kInvalid,      // 400 / INVALID_ARGUMENT: permanent
};

constexpr int64_t kRejected = 2;
constexpr size_t kSpans = 6;  // one batch
constexpr int kMaxRetries = 2;
constexpr uint64_t kInitialBackoffMs = 8;
// Long enough that a loaded machine never times out a prompt answer; short where a row waits for
// it to pass (slow receivers).
constexpr std::chrono::milliseconds kPatientTimeout{20000};
constexpr std::chrono::milliseconds kSlowRowTimeout{500};

struct Arrival {
  SteadyClock::time_point at;
  std::vector<Span> spans;
  Answer answer;
};

// The script and what arrived, shared by the HTTP and gRPC receivers. Thread-safe.
class Script {
 public:
  explicit Script(std::vector<Answer> answers) : answers_(std::move(answers)) {}
  // Records a request and returns its answer: the script in order, the last answer repeating.
  Answer Arrive(std::vector<Span> spans) {
    std::lock_guard lock(mu_);
    const Answer answer = answers_[std::min(arrivals_.size(), answers_.size() - 1)];
    arrivals_.push_back(Arrival{SteadyClock::now(), std::move(spans), answer});
    return answer;
  }
  std::vector<Arrival> arrivals() const {
    std::lock_guard lock(mu_);
    return arrivals_;
  }

 private:
  mutable std::mutex mu_;
  const std::vector<Answer> answers_;
  std::vector<Arrival> arrivals_;
};

class Receiver {
 public:
  virtual ~Receiver() = default;
  virtual uint16_t port() const = 0;
  virtual std::vector<Arrival> arrivals() const = 0;
};

// OTLP/HTTP (protobuf or JSON) or Zipkin on the project's own HTTP server. A slow answer keeps the
// responder until the next request arrives (by then the client has timed out and reconnected).
class HttpReceiver final : public Receiver {
 public:
  HttpReceiver(Wire wire, std::vector<Answer> script)
      : wire_(wire),
        script_(std::move(script)),
        server_([this](HttpRequest&& request, HttpResponder respond) {
          Handle(std::move(request), std::move(respond));
        }) {}
  ~HttpReceiver() override {
    // Held responders must be called once, on the server's thread.
    std::promise<void> released;
    asio::post(server_.ioc(), [&] {
      ReleaseHeld();
      released.set_value();
    });
    released.get_future().wait();
  }
  uint16_t port() const override { return server_.port(); }
  std::vector<Arrival> arrivals() const override { return script_.arrivals(); }

 private:
  void Handle(HttpRequest&& request, HttpResponder respond) {
    ReleaseHeld();
    const Answer answer = script_.Arrive(Decode(request.body()));
    HttpResponse response = MakeResponse(request, http::status::ok, "text/plain", "");
    switch (answer) {
      case Answer::kOk:
        response = Ok(request, 0);
        break;
      case Answer::kUnavailable:
        response = MakeResponse(request, http::status::service_unavailable, "text/plain", "busy");
        break;
      case Answer::kThrottled:
        response =
            MakeResponse(request, http::status::too_many_requests, "text/plain", "slow down");
        response.set(http::field::retry_after, "1");
        break;
      case Answer::kSlow:
        held_.push_back([respond, ok = Ok(request, 0)]() mutable { respond(std::move(ok)); });
        return;
      case Answer::kPartial:
        response = Ok(request, kRejected);
        break;
      case Answer::kInvalid:
        response = MakeResponse(request, http::status::bad_request, "text/plain", "malformed");
        break;
    }
    respond(std::move(response));
  }

  // Success in the wire's own form, with `rejected` spans reported as OTLP partial success.
  HttpResponse Ok(const HttpRequest& request, int64_t rejected) const {
    if (wire_ == Wire::kZipkin) return MakeResponse(request, http::status::accepted, "", "");
    if (wire_ == Wire::kOtlpJson) {
      const std::string body = rejected == 0 ? "{}"
                                             : R"({"partialSuccess":{"rejectedSpans":")" +
                                                   std::to_string(rejected) +
                                                   R"(","errorMessage":"too old"}})";
      return MakeResponse(request, http::status::ok, "application/json", body);
    }
    collector::ExportTraceServiceResponse answer;
    if (rejected > 0) {
      answer.mutable_partial_success()->set_rejected_spans(rejected);
      answer.mutable_partial_success()->set_error_message("too old");
    }
    return MakeResponse(request, http::status::ok, "application/x-protobuf",
                        answer.SerializeAsString());
  }

  std::vector<Span> Decode(const std::string& body) const {
    auto spans = wire_ == Wire::kZipkin     ? DecodeZipkinJson(body)
                 : wire_ == Wire::kOtlpJson ? DecodeOtlpJson(body)
                                            : DecodeOtlpProtobuf(body);
    if (!spans) {
      ADD_FAILURE() << WireName(wire_)
                    << " receiver cannot decode a request: " << spans.error().message;
      return {};
    }
    return std::move(*spans);
  }

  void ReleaseHeld() {
    for (auto& answer : held_) answer();
    held_.clear();
  }

  const Wire wire_;
  Script script_;
  std::vector<std::function<void()>> held_;  // server thread only
  test_support::LoopbackServer server_;  // last: stopped first, while the members above still exist
};

// A TraceService answering from the script. A slow answer blocks its handler until the next
// request arrives or the receiver shuts down.
class ScriptedTraceService final : public collector::TraceService::Service {
 public:
  explicit ScriptedTraceService(std::vector<Answer> script) : script_(std::move(script)) {}

  grpc::Status Export(grpc::ServerContext*, const collector::ExportTraceServiceRequest* request,
                      collector::ExportTraceServiceResponse* response) override {
    ReleaseHeld();
    auto spans = DecodeOtlpProtobuf(request->SerializeAsString());
    EXPECT_TRUE(spans.ok()) << (spans.ok() ? "" : spans.error().message);
    switch (script_.Arrive(spans.ok() ? std::move(*spans) : std::vector<Span>{})) {
      case Answer::kOk:
        return grpc::Status::OK;
      case Answer::kUnavailable:
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "busy");
      case Answer::kThrottled:
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "slow down",
                            EncodeRetryInfoStatus(kGrpcResourceExhausted, "slow down", 1000));
      case Answer::kSlow: {
        std::shared_future<void> until;
        {
          std::lock_guard lock(mu_);
          held_.emplace_back();
          until = held_.back().get_future().share();
        }
        until.wait();
        return grpc::Status::OK;
      }
      case Answer::kPartial:
        response->mutable_partial_success()->set_rejected_spans(kRejected);
        response->mutable_partial_success()->set_error_message("too old");
        return grpc::Status::OK;
      case Answer::kInvalid:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed");
    }
    return grpc::Status::OK;
  }

  void ReleaseHeld() {
    std::lock_guard lock(mu_);
    for (auto& hold : held_) hold.set_value();
    held_.clear();
  }
  std::vector<Arrival> arrivals() const { return script_.arrivals(); }

 private:
  Script script_;
  std::mutex mu_;
  std::vector<std::promise<void>> held_;
};

class GrpcReceiver final : public Receiver {
 public:
  explicit GrpcReceiver(std::vector<Answer> script) : service_(std::move(script)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
  }
  ~GrpcReceiver() override {
    service_.ReleaseHeld();  // Shutdown waits for handlers to return
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }
  uint16_t port() const override { return static_cast<uint16_t>(port_); }
  std::vector<Arrival> arrivals() const override { return service_.arrivals(); }

 private:
  ScriptedTraceService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// A loopback port nobody listens on: bound, then closed.
uint16_t ClosedPort() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::unique_ptr<BatchSender> MakeSender(Wire wire, uint16_t port,
                                        std::chrono::milliseconds timeout) {
  HttpClientOptions http;
  http.connect_timeout = kPatientTimeout;
  http.request_timeout = timeout;
  switch (wire) {
    case Wire::kOtlpProtobuf:
    case Wire::kOtlpJson: {
      OtlpHttpTarget target;
      target.host = "127.0.0.1";
      target.port = port;
      target.encoding = wire == Wire::kOtlpJson ? OtlpEncoding::kJson : OtlpEncoding::kProtobuf;
      return std::make_unique<OtlpHttpSender>(target, http);
    }
    case Wire::kZipkin: {
      ZipkinHttpTarget target;
      target.host = "127.0.0.1";
      target.port = port;
      return std::make_unique<ZipkinHttpSender>(target, http);
    }
    case Wire::kOtlpGrpc: {
      OtlpGrpcTarget target;
      target.host_port = "127.0.0.1:" + std::to_string(port);
      target.timeout_ms = static_cast<uint64_t>(timeout.count());
      auto sender = OtlpGrpcSender::Create(target);
      EXPECT_TRUE(sender.ok()) << (sender.ok() ? "" : sender.error().message);
      return sender.ok() ? std::move(*sender) : nullptr;
    }
  }
  return nullptr;
}

std::unique_ptr<Receiver> MakeReceiver(Wire wire, std::vector<Answer> script) {
  if (wire == Wire::kOtlpGrpc) return std::make_unique<GrpcReceiver>(std::move(script));
  return std::make_unique<HttpReceiver>(wire, std::move(script));
}

std::vector<Span> Spans() {
  std::vector<Span> spans;
  for (uint64_t i = 1; i <= kSpans; ++i) {
    Span s;
    s.trace_id = TraceId{0xabc, 0xdef};
    s.span_id = SpanId{i};
    s.parent_span_id = i == 1 ? SpanId{} : SpanId{1};
    s.name = "GET /cart";
    s.kind = i == 1 ? SpanKind::kServer : SpanKind::kClient;
    s.service_name = "cart";
    s.start_unix_nano = 1'700'000'000'000'000'000ull + i * 1000;
    s.end_unix_nano = s.start_unix_nano + 2'000'000;
    spans.push_back(s);
  }
  return spans;
}

// The matrix checks which delays were chosen, not the clock (RetryAfterTakesRealTime below does
// that once per transport).
using testing::RecordingWaiter;

struct DelayRange {
  uint64_t min_ms;
  uint64_t max_ms;
};
// Equal-jitter backoff before retry r (0-based): [base/2, base], base = initial * 2^r.
constexpr DelayRange Backoff(int retry) {
  return {(kInitialBackoffMs << retry) / 2, kInitialBackoffMs << retry};
}
constexpr DelayRange kRetryAfter1s = {1000, 1000};

struct Row {
  std::string name;
  std::vector<Answer> script = {};  // empty: nothing listens (connection refused)
  bool slow = false;                // uses the short export timeout
  // What the exporter must count.
  uint64_t exported = 0;
  uint64_t rejected = 0;
  uint64_t retries = 0;
  uint64_t dropped_permanent = 0;
  uint64_t dropped_retries_exhausted = 0;
  std::vector<DelayRange> delays = {};
  // What the receiver must have got.
  size_t requests = 0;
  // What the first error of the drop reason must say (the transport's or the server's reason),
  // over HTTP and over gRPC.
  std::string http_error = {};
  std::string grpc_error = {};
};

std::vector<Row> Rows() {
  using A = Answer;
  constexpr uint64_t n = kSpans;
  constexpr int r = kMaxRetries;
  std::vector<Row> rows = {
      {.name = "ConnectionRefused",
       .retries = r,
       .dropped_retries_exhausted = n,
       .delays = {Backoff(0), Backoff(1)},
       .requests = 0,
       .http_error = "Connection refused",
       .grpc_error = "Connection refused"},
      {.name = "UnavailableThenOk",
       .script = {A::kUnavailable, A::kOk},
       .exported = n,
       .retries = 1,
       .delays = {Backoff(0)},
       .requests = 2},
      {.name = "UnavailableUntilRetriesRunOut",
       .script = {A::kUnavailable},
       .retries = r,
       .dropped_retries_exhausted = n,
       .delays = {Backoff(0), Backoff(1)},
       .requests = static_cast<size_t>(r) + 1,
       .http_error = "HTTP 503: busy",
       .grpc_error = "gRPC UNAVAILABLE: busy"},
      {.name = "ThrottledWithRetryAfterThenOk",
       .script = {A::kThrottled, A::kOk},
       .exported = n,
       .retries = 1,
       .delays = {kRetryAfter1s},
       .requests = 2},
      // The receiver answers after the export timeout. The exporter cannot know whether the
      // batch was kept, and the OTLP spec makes a timeout retryable, so it retries: delivery is
      // at least once, and the receiver sees the batch twice (backends dedupe by span id).
      {.name = "SlowThenOk",
       .script = {A::kSlow, A::kOk},
       .slow = true,
       .exported = n,
       .retries = 1,
       .delays = {Backoff(0)},
       .requests = 2},
      {.name = "SlowUntilRetriesRunOut",
       .script = {A::kSlow},
       .slow = true,
       .retries = r,
       .dropped_retries_exhausted = n,
       .delays = {Backoff(0), Backoff(1)},
       .requests = static_cast<size_t>(r) + 1,
       .http_error = "timed out",
       .grpc_error = "DEADLINE_EXCEEDED"},
      // The slow answer comes on a kept-alive connection (the 503 was answered on it).
      {.name = "UnavailableThenSlowThenOk",
       .script = {A::kUnavailable, A::kSlow, A::kOk},
       .slow = true,
       .exported = n,
       .retries = 2,
       .delays = {Backoff(0), Backoff(1)},
       .requests = 3},
      {.name = "PartialSuccess",
       .script = {A::kPartial},
       .exported = n - kRejected,
       .rejected = kRejected,
       .requests = 1},
      {.name = "InvalidIsDroppedNotRetried",
       .script = {A::kInvalid},
       .dropped_permanent = n,
       .requests = 1,
       .http_error = "HTTP 400: malformed",
       .grpc_error = "gRPC INVALID_ARGUMENT: malformed"},
      {.name = "UnavailableThenInvalid",
       .script = {A::kUnavailable, A::kInvalid},
       .retries = 1,
       .dropped_permanent = n,
       .delays = {Backoff(0)},
       .requests = 2,
       .http_error = "HTTP 400: malformed",
       .grpc_error = "gRPC INVALID_ARGUMENT: malformed"},
  };
  return rows;
}

struct Case {
  Wire wire;
  Row row;
};

void PrintTo(const Case& c, std::ostream* out) { *out << WireName(c.wire) << " " << c.row.name; }

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (Wire wire : {Wire::kOtlpProtobuf, Wire::kOtlpJson, Wire::kZipkin, Wire::kOtlpGrpc}) {
    for (const Row& row : Rows()) {
      // Zipkin has no partial success: a 2xx accepts the whole batch.
      if (wire == Wire::kZipkin && row.name == "PartialSuccess") continue;
      cases.push_back({wire, row});
    }
  }
  return cases;
}

ExporterOptions Options() {
  ExporterOptions options;
  options.max_batch_spans = kSpans;
  options.max_batch_delay_ms = 3'600'000;  // only a full batch or Flush sends
  options.max_retries = kMaxRetries;
  options.initial_backoff_ms = kInitialBackoffMs;
  options.max_backoff_ms = 1000;
  return options;
}

class ExporterFailureTest : public ::testing::TestWithParam<Case> {};

TEST_P(ExporterFailureTest, ExactCountsOnBothSides) {
  const Wire wire = GetParam().wire;
  const Row& row = GetParam().row;
  std::unique_ptr<Receiver> receiver;
  uint16_t port = 0;
  if (row.script.empty()) {
    port = ClosedPort();
  } else {
    receiver = MakeReceiver(wire, row.script);
    port = receiver->port();
  }
  std::vector<uint64_t> delays;
  auto sender = MakeSender(wire, port, row.slow ? kSlowRowTimeout : kPatientTimeout);
  ASSERT_NE(sender, nullptr);
  BatchingExporter exporter(std::move(sender), Options(), /*seed=*/7,
                            std::make_unique<RecordingWaiter>(&delays));
  for (Span& span : Spans()) exporter.Submit(std::move(span));
  ASSERT_TRUE(exporter.Flush(std::chrono::minutes(2)));
  exporter.Shutdown();

  const ExporterStats s = exporter.stats();
  EXPECT_EQ(s.submitted, kSpans);
  EXPECT_EQ(s.batches, 1u);
  EXPECT_EQ(s.exported, row.exported);
  EXPECT_EQ(s.rejected, row.rejected);
  EXPECT_EQ(s.retries, row.retries) << s.last_error;
  EXPECT_EQ(s.dropped_queue_full, 0u);
  EXPECT_EQ(s.dropped_permanent, row.dropped_permanent) << s.last_error;
  EXPECT_EQ(s.dropped_retries_exhausted, row.dropped_retries_exhausted) << s.last_error;
  EXPECT_EQ(s.dropped_shutdown, 0u);
  EXPECT_EQ(s.dropped_failed, row.dropped_permanent + row.dropped_retries_exhausted);
  EXPECT_EQ(s.submitted, s.exported + s.rejected + s.dropped_queue_full + s.dropped_failed);
  // The first error of each drop reason names the transport's or the server's own reason.
  const std::string& reason = wire == Wire::kOtlpGrpc ? row.grpc_error : row.http_error;
  if (row.dropped_retries_exhausted > 0) {
    EXPECT_TRUE(s.first_retries_exhausted_error.starts_with(
        "after " + std::to_string(kMaxRetries) + " retries: "))
        << s.first_retries_exhausted_error;
    EXPECT_THAT(s.first_retries_exhausted_error, ::testing::HasSubstr(reason));
  } else {
    EXPECT_EQ(s.first_retries_exhausted_error, "");
  }
  if (row.dropped_permanent > 0) {
    EXPECT_TRUE(s.first_permanent_error.starts_with("refused for good: "))
        << s.first_permanent_error;
    EXPECT_THAT(s.first_permanent_error, ::testing::HasSubstr(reason));
  } else {
    EXPECT_EQ(s.first_permanent_error, "");
  }
  // The lost spans' trace is remembered, and only then.
  EXPECT_EQ(exporter.LossOf(TraceId{0xabc, 0xdef}).export_failed, s.dropped_failed > 0);
  EXPECT_EQ(s.lost_traces, s.dropped_failed > 0 ? 1u : 0u);

  ASSERT_EQ(delays.size(), row.delays.size());
  for (size_t i = 0; i < delays.size(); ++i) {
    EXPECT_GE(delays[i], row.delays[i].min_ms) << "wait before retry " << i;
    EXPECT_LE(delays[i], row.delays[i].max_ms) << "wait before retry " << i;
  }

  if (!receiver) return;
  const std::vector<Arrival> arrivals = receiver->arrivals();
  // One request per attempt, each carrying the whole batch: the sender never splits, merges or
  // silently re-sends.
  ASSERT_EQ(arrivals.size(), row.requests);
  EXPECT_EQ(arrivals.size(), 1 + s.retries);
  std::set<SpanId> ids;
  uint64_t acknowledged = 0;  // spans of requests answered with success in time
  for (const Arrival& arrival : arrivals) {
    EXPECT_EQ(arrival.spans.size(), kSpans);
    for (const Span& span : arrival.spans) ids.insert(span.span_id);
    if (arrival.answer == Answer::kOk) acknowledged += arrival.spans.size();
    if (arrival.answer == Answer::kPartial) acknowledged += arrival.spans.size() - kRejected;
  }
  EXPECT_EQ(ids.size(), kSpans);
  EXPECT_EQ(acknowledged, s.exported);
}

INSTANTIATE_TEST_SUITE_P(Matrix, ExporterFailureTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return WireName(info.param.wire) + "_" + info.param.row.name;
                         });

// Waits until interrupted, and tells the test when the exporter started waiting.
class InterruptibleWaiter final : public RetryWaiter {
 public:
  explicit InterruptibleWaiter(std::promise<void>* waiting) : waiting_(waiting) {}
  bool Wait(std::chrono::milliseconds) override {
    waiting_->set_value();  // the exporter waits at most once here: Interrupt is permanent
    return inner_.Wait(std::chrono::milliseconds::max());
  }
  void Interrupt() override { inner_.Interrupt(); }

 private:
  std::promise<void>* waiting_;
  ConditionVariableWaiter inner_;
};

class ShutdownDuringBackoff : public ::testing::TestWithParam<Wire> {};

// A batch waiting to be retried when Shutdown's time is up is dropped, under its own reason.
TEST_P(ShutdownDuringBackoff, DropsTheBatchAsAbandonedAtShutdown) {
  const Wire wire = GetParam();
  auto receiver = MakeReceiver(wire, {Answer::kUnavailable});
  std::promise<void> waiting;
  std::future<void> backing_off = waiting.get_future();
  BatchingExporter exporter(MakeSender(wire, receiver->port(), kPatientTimeout), Options(),
                            /*seed=*/7, std::make_unique<InterruptibleWaiter>(&waiting));
  for (Span& span : Spans()) exporter.Submit(std::move(span));
  backing_off.wait();  // the first attempt failed and the exporter is waiting to retry
  exporter.Shutdown(std::chrono::milliseconds(0));
  const ExporterStats s = exporter.stats();
  EXPECT_EQ(s.submitted, kSpans);
  EXPECT_EQ(s.exported, 0u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.dropped_failed, kSpans);
  EXPECT_EQ(s.dropped_shutdown, kSpans);
  EXPECT_EQ(s.dropped_permanent + s.dropped_retries_exhausted, 0u);
  EXPECT_TRUE(s.last_error.starts_with("shutdown during retry backoff")) << s.last_error;
  EXPECT_TRUE(s.first_shutdown_error.starts_with("abandoned at shutdown during retry backoff: "))
      << s.first_shutdown_error;
  EXPECT_EQ(receiver->arrivals().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Transports, ShutdownDuringBackoff,
                         ::testing::Values(Wire::kOtlpProtobuf, Wire::kOtlpJson, Wire::kZipkin,
                                           Wire::kOtlpGrpc),
                         [](const ::testing::TestParamInfo<Wire>& info) {
                           return WireName(info.param);
                         });

// The one place the matrix uses the real clock: a server's "come back in 1 s" is really waited
// for. Only a lower bound on the gap between the two arrivals; never an upper bound on wall time.
class RetryAfterTakesRealTime : public ::testing::TestWithParam<Wire> {};

TEST_P(RetryAfterTakesRealTime, SecondAttemptComesAtLeastOneSecondLater) {
  const Wire wire = GetParam();
  auto receiver = MakeReceiver(wire, {Answer::kThrottled, Answer::kOk});
  BatchingExporter exporter(MakeSender(wire, receiver->port(), kPatientTimeout), Options(),
                            /*seed=*/7);
  for (Span& span : Spans()) exporter.Submit(std::move(span));
  ASSERT_TRUE(exporter.Flush(std::chrono::minutes(2)));
  exporter.Shutdown();
  const ExporterStats s = exporter.stats();
  EXPECT_EQ(s.exported, kSpans);
  EXPECT_EQ(s.retries, 1u);
  const std::vector<Arrival> arrivals = receiver->arrivals();
  ASSERT_EQ(arrivals.size(), 2u);
  EXPECT_GE(arrivals[1].at - arrivals[0].at, std::chrono::milliseconds(1000));
}

INSTANTIATE_TEST_SUITE_P(Transports, RetryAfterTakesRealTime,
                         ::testing::Values(Wire::kOtlpProtobuf, Wire::kOtlpGrpc),
                         [](const ::testing::TestParamInfo<Wire>& info) {
                           return WireName(info.param);
                         });

}  // namespace
}  // namespace tracerig
