#include "backend/otlp_grpc_receiver.h"

#include <fmt/format.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "export/otlp_codec.h"
#include "net/address.h"
#include "net/grpc_cq.h"
#include "net/grpc_status.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace tracerig {

namespace collector = opentelemetry::proto::collector::trace::v1;

namespace {

void Count(std::span<IngestCounters* const> counters, std::atomic<uint64_t> IngestCounters::*field,
           uint64_t n = 1) {
  for (IngestCounters* c : counters) (c->*field).fetch_add(n, std::memory_order_relaxed);
}

OtlpGrpcAnswer Reject(std::span<IngestCounters* const> counters,
                      std::atomic<uint64_t> IngestCounters::*reason, int code,
                      std::string message) {
  Count(counters, &IngestCounters::requests_rejected);
  Count(counters, reason);
  return OtlpGrpcAnswer{code, std::move(message), 0, ""};
}

struct Salvaged {
  std::string request;  // the request without its invalid spans
  int64_t kept = 0;
  int64_t rejected = 0;
  std::string first_problem;
};

// Drops the spans DecodeOtlpProtobuf would refuse, judged by the codec itself one span at a time
// so the rules (and their messages) stay in one place. Only runs for requests that failed whole.
std::optional<Salvaged> DropInvalidSpans(std::string_view bytes) {
  collector::ExportTraceServiceRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  constexpr std::string_view kSingleSpanPlace = "resourceSpans[0].scopeSpans[0].spans[0]: ";
  Salvaged out;
  for (int r = 0; r < request.resource_spans_size(); ++r) {
    auto* rs = request.mutable_resource_spans(r);
    for (int s = 0; s < rs->scope_spans_size(); ++s) {
      auto* spans = rs->mutable_scope_spans(s)->mutable_spans();
      google::protobuf::RepeatedPtrField<opentelemetry::proto::trace::v1::Span> kept;
      for (int i = 0; i < spans->size(); ++i) {
        collector::ExportTraceServiceRequest single;
        *single.add_resource_spans()->add_scope_spans()->add_spans() = spans->Get(i);
        auto decoded = DecodeOtlpProtobuf(single.SerializeAsString());
        if (decoded) {
          kept.Add()->Swap(spans->Mutable(i));
          ++out.kept;
          continue;
        }
        if (++out.rejected == 1) {
          std::string_view problem = decoded.error().message;
          if (problem.starts_with(kSingleSpanPlace)) problem.remove_prefix(kSingleSpanPlace.size());
          out.first_problem =
              fmt::format("resourceSpans[{}].scopeSpans[{}].spans[{}]: {}", r, s, i, problem);
        }
      }
      spans->Swap(&kept);
    }
  }
  out.request = request.SerializeAsString();
  return out;
}

}  // namespace

OtlpGrpcAnswer HandleOtlpGrpcExport(SpanStore& store, std::span<IngestCounters* const> counters,
                                    std::string_view request, const IngestLimits& limits,
                                    uint64_t now_unix_nano) {
  Count(counters, &IngestCounters::requests);
  Count(counters, &IngestCounters::body_bytes_received, request.size());
  if (request.size() > limits.max_body_bytes) {
    return Reject(counters, &IngestCounters::rejected_too_large, kGrpcResourceExhausted,
                  fmt::format("request of {} bytes exceeds the limit of {}", request.size(),
                              limits.max_body_bytes));
  }
  auto spans = DecodeOtlpProtobuf(request);
  OtlpGrpcAnswer answer;
  if (!spans) {
    const std::string whole_error = "cannot decode OTLP protobuf: " + spans.error().message;
    auto salvaged = DropInvalidSpans(request);
    if (!salvaged || salvaged->kept == 0) {
      return Reject(counters, &IngestCounters::rejected_bad_data, kGrpcInvalidArgument,
                    whole_error);
    }
    spans = DecodeOtlpProtobuf(salvaged->request);
    if (!spans) {  // a problem that is not any single span's: the request as a whole is bad
      return Reject(counters, &IngestCounters::rejected_bad_data, kGrpcInvalidArgument,
                    whole_error);
    }
    answer.rejected_spans = salvaged->rejected;
    answer.partial_message =
        fmt::format("{} invalid span{} rejected; first: {}", salvaged->rejected,
                    salvaged->rejected == 1 ? "" : "s", salvaged->first_problem);
  }
  const size_t count = spans->size();
  store.Add(std::move(*spans), now_unix_nano);
  Count(counters, &IngestCounters::spans_accepted, count);
  return answer;
}

// ------------------------------------------------------------------------------------------------

namespace {

// One incoming call on the generic service, unary in practice: arrive, read the one request
// message, finish. Its address is the completion-queue tag of each step.
struct ReceiverCall {
  enum class Step { kArrive, kRead, kFinish };
  grpc::GenericServerContext context;
  grpc::GenericServerAsyncReaderWriter stream{&context};
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  Step step = Step::kArrive;
};

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const auto& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

}  // namespace

struct OtlpGrpcReceiver::Impl {
  Impl(SpanStore& store, IngestCounters& total, IngestLimits limits, const Clock& clock)
      : store(store), total(total), limits(limits), clock(clock) {}

  void ArmNextCall() {
    std::lock_guard lock(mu);
    if (stopped) return;
    auto call = std::make_unique<ReceiverCall>();
    ReceiverCall* tag = call.get();
    calls.emplace(tag, std::move(call));
    service.RequestCall(&tag->context, &tag->stream, cq.get(), cq.get(), tag);
  }

  void Forget(ReceiverCall* call) {
    std::lock_guard lock(mu);
    calls.erase(call);
  }

  void RunCompletionQueue() {
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) {
      auto* call = static_cast<ReceiverCall*>(tag);
      switch (call->step) {
        case ReceiverCall::Step::kArrive:
          if (!ok) {  // shutting down
            Forget(call);
            break;
          }
          ArmNextCall();
          call->step = ReceiverCall::Step::kRead;
          call->stream.Read(&call->request, call);
          break;
        case ReceiverCall::Step::kRead:
          call->step = ReceiverCall::Step::kFinish;
          Answer(*call, ok);
          break;
        case ReceiverCall::Step::kFinish:
          Forget(call);
          break;
      }
    }
  }

  void Answer(ReceiverCall& call, bool have_request) {
    IngestCounters* const both[] = {&own, &total};
    if (call.context.method() != kOtlpGrpcExportMethod) {
      Count(both, &IngestCounters::requests);
      Reject(both, &IngestCounters::rejected_not_found, kGrpcUnimplemented, "");
      call.stream.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                      fmt::format("unknown method {}; OTLP traces go to {}",
                                                  call.context.method(), kOtlpGrpcExportMethod)),
                         &call);
      return;
    }
    if (!have_request) {  // the client half-closed without a message
      Count(both, &IngestCounters::requests);
      Reject(both, &IngestCounters::rejected_bad_data, kGrpcInvalidArgument, "");
      call.stream.Finish(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no ExportTraceServiceRequest message"),
          &call);
      return;
    }
    const OtlpGrpcAnswer answer =
        HandleOtlpGrpcExport(store, both, Flatten(call.request), limits, clock.NowUnixNano());
    if (answer.grpc_code != kGrpcOk) {
      call.stream.Finish(
          grpc::Status(static_cast<grpc::StatusCode>(answer.grpc_code), answer.message), &call);
      return;
    }
    collector::ExportTraceServiceResponse response;
    if (answer.rejected_spans > 0) {
      response.mutable_partial_success()->set_rejected_spans(answer.rejected_spans);
      response.mutable_partial_success()->set_error_message(answer.partial_message);
    }
    const std::string bytes = response.SerializeAsString();
    grpc::Slice slice(bytes);
    call.response = grpc::ByteBuffer(&slice, 1);
    call.stream.WriteAndFinish(call.response, grpc::WriteOptions(), grpc::Status::OK, &call);
  }

  SpanStore& store;
  IngestCounters& total;
  IngestCounters own;
  const IngestLimits limits;
  const Clock& clock;
  grpc::AsyncGenericService service;
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  std::unique_ptr<grpc::Server> server;
  std::thread thread;
  int port = 0;

  std::mutex mu;
  bool stopped = false;
  std::unordered_map<ReceiverCall*, std::unique_ptr<ReceiverCall>> calls;  // by tag
};

OtlpGrpcReceiver::OtlpGrpcReceiver(SpanStore& store, IngestCounters& total, IngestLimits limits,
                                   const Clock& clock)
    : impl_(std::make_unique<Impl>(store, total, limits, clock)) {}

OtlpGrpcReceiver::~OtlpGrpcReceiver() { Stop(); }

Status OtlpGrpcReceiver::Listen(const std::string& host_port) {
  auto address = ParseHostPort(host_port);
  if (!address) return MakeError(fmt::format("--otlp-grpc: {}", address.error().message));
  if (impl_->server) return MakeError("OTLP/gRPC receiver is already listening");
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // a taken port must fail, not share
  // Let requests somewhat over our limit through gRPC's own check so we answer and count them;
  // far larger ones still get gRPC's RESOURCE_EXHAUSTED.
  const uint64_t transport_limit =
      std::min<uint64_t>(impl_->limits.max_body_bytes * 4 + 4096, static_cast<uint64_t>(INT_MAX));
  builder.SetMaxReceiveMessageSize(static_cast<int>(transport_limit));
  builder.AddListeningPort(host_port, grpc::InsecureServerCredentials(), &impl_->port);
  builder.RegisterAsyncGenericService(&impl_->service);
  impl_->cq = builder.AddCompletionQueue();
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0) {
    impl_->server.reset();
    ShutdownAndDrain(*impl_->cq);
    impl_->cq.reset();
    return MakeError(
        fmt::format("OTLP/gRPC receiver: cannot listen on {} (address in use?)", host_port));
  }
  impl_->ArmNextCall();
  impl_->thread = std::thread([impl = impl_.get()] { impl->RunCompletionQueue(); });
  return Ok{};
}

uint16_t OtlpGrpcReceiver::port() const { return static_cast<uint16_t>(impl_->port); }

void OtlpGrpcReceiver::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  if (!impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now());
  impl_->cq->Shutdown();
  impl_->thread.join();
  impl_->calls.clear();
  impl_->server.reset();
  impl_->cq.reset();
}

const IngestCounters& OtlpGrpcReceiver::counters() const { return impl_->own; }

}  // namespace tracerig
