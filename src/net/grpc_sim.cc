#include "net/grpc_sim.h"

#include <fmt/format.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <array>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/text.h"
#include "net/address.h"
#include "net/grpc_cq.h"
#include "tracerig/sim/v1/sim.grpc.pb.h"

namespace tracerig {

namespace simpb = tracerig::sim::v1;

namespace {

// A status the gRPC library accepts: codes outside 0..16 become UNKNOWN.
grpc::Status ToGrpcStatus(int code, const std::string& message) {
  if (code == kGrpcOk) return grpc::Status::OK;
  if (code < 0 || code > kGrpcUnauthenticated) code = kGrpcUnknown;
  return grpc::Status(static_cast<grpc::StatusCode>(code), message);
}

// One incoming call. Its address is the completion-queue tag of both of its operations: the first
// event is the call's arrival (RequestCall), the second the end of Finish.
struct ServerCall {
  grpc::ServerContext context;
  simpb::CallRequest request;
  simpb::CallResponse response;
  grpc::ServerAsyncResponseWriter<simpb::CallResponse> writer{&context};
  bool arrived = false;    // completion-queue thread only
  bool responded = false;  // guarded by Impl::mu
};

}  // namespace

// Shared with every closure posted onto the io_context, so a late respond finds `stopped` set
// instead of a destroyed server.
struct GrpcSimServer::Impl : std::enable_shared_from_this<GrpcSimServer::Impl> {
  Impl(asio::io_context& ioc, GrpcHandler handler) : ioc(ioc), handler(std::move(handler)) {}

  // Requests the next incoming call; nothing once stopping.
  void ArmNextCall() {
    std::lock_guard lock(mu);
    if (stopped) return;
    auto call = std::make_shared<ServerCall>();
    ServerCall* tag = call.get();
    calls.emplace(tag, std::move(call));
    service.RequestCall(&tag->context, &tag->request, &tag->writer, cq.get(), cq.get(), tag);
  }

  void RunCompletionQueue() {
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) {
      auto* raw = static_cast<ServerCall*>(tag);
      std::shared_ptr<ServerCall> call;
      {
        std::lock_guard lock(mu);
        auto it = calls.find(raw);
        if (it == calls.end()) continue;  // cannot happen: every tag is registered
        call = it->second;
        if (raw->arrived || !ok) {  // finished, or never arrived (shutdown)
          calls.erase(it);
          continue;
        }
      }
      call->arrived = true;
      ArmNextCall();
      Dispatch(call);
    }
  }

  void Dispatch(const std::shared_ptr<ServerCall>& call) {
    GrpcInbound inbound;
    inbound.route = call->request.route();
    inbound.payload_bytes = call->request.payload().size();
    for (const auto& [key, value] : call->context.client_metadata()) {
      // HTTP/2 already carries lowercase names; lowercasing again costs little and makes it a
      // guarantee of this interface rather than of the peer.
      inbound.metadata.emplace_back(AsciiLowercase(std::string_view(key.data(), key.size())),
                                    std::string(value.data(), value.size()));
    }
    std::weak_ptr<ServerCall> weak_call = call;
    asio::post(ioc, [self = shared_from_this(), weak_call, inbound = std::move(inbound)]() mutable {
      {
        std::lock_guard lock(self->mu);
        if (self->stopped) return;  // the handler may capture things already gone
      }
      GrpcRespond respond = [self, weak_call](int code, std::string message, size_t bytes) {
        self->Respond(weak_call, code, message, bytes);
      };
      self->handler(std::move(inbound), std::move(respond));
    });
  }

  void Respond(const std::weak_ptr<ServerCall>& weak_call, int code, const std::string& message,
               size_t payload_bytes) {
    std::lock_guard lock(mu);
    if (stopped) return;
    // Released under the lock, so a call is never destroyed after Stop freed the server.
    std::shared_ptr<ServerCall> call = weak_call.lock();
    if (!call || call->responded) return;
    call->responded = true;
    if (code == kGrpcOk) {
      call->response.set_payload(std::string(payload_bytes, '\0'));
      call->writer.Finish(call->response, grpc::Status::OK, call.get());
    } else {
      call->writer.FinishWithError(ToGrpcStatus(code, message), call.get());
    }
  }

  asio::io_context& ioc;
  const GrpcHandler handler;
  simpb::SimService::AsyncService service;
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  std::unique_ptr<grpc::Server> server;
  std::thread thread;
  int port = 0;

  std::mutex mu;
  bool stopped = false;
  // Every call with an operation pending or a respond still possible, by tag.
  std::unordered_map<ServerCall*, std::shared_ptr<ServerCall>> calls;
};

GrpcSimServer::GrpcSimServer(asio::io_context& ioc, GrpcHandler handler)
    : impl_(std::make_shared<Impl>(ioc, std::move(handler))) {}

GrpcSimServer::~GrpcSimServer() { Stop(); }

Status GrpcSimServer::Listen(const std::string& host_port) {
  auto address = ParseHostPort(host_port);
  if (!address) return MakeError(fmt::format("gRPC listen address: {}", address.error().message));
  if (impl_->server) return MakeError("gRPC server is already listening");
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let two servers share a port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(host_port, grpc::InsecureServerCredentials(), &impl_->port);
  builder.RegisterService(&impl_->service);
  impl_->cq = builder.AddCompletionQueue();
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0) {
    impl_->server.reset();
    ShutdownAndDrain(*impl_->cq);
    impl_->cq.reset();
    return MakeError(
        fmt::format("cannot listen for gRPC on {} (address in use or not local?)", host_port));
  }
  impl_->ArmNextCall();
  impl_->thread = std::thread([impl = impl_.get()] { impl->RunCompletionQueue(); });
  return Ok{};
}

uint16_t GrpcSimServer::port() const { return static_cast<uint16_t>(impl_->port); }

void GrpcSimServer::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  if (!impl_->server) return;
  // A deadline of now: calls still waiting for their handler's answer are cancelled at once.
  impl_->server->Shutdown(std::chrono::system_clock::now());
  impl_->cq->Shutdown();
  impl_->thread.join();
  {
    std::lock_guard lock(impl_->mu);
    impl_->calls.clear();
  }
  impl_->server.reset();
  impl_->cq.reset();
}

// ------------------------------------------------------------------------------------------------

namespace {

struct ClientCall {
  grpc::ClientContext context;
  simpb::CallResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<simpb::CallResponse>> reader;
  // CallMethod: any method, raw bytes both ways.
  std::string method;
  grpc::ByteBuffer generic_response;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> generic_reader;
  std::function<void(int, std::string)> done;
};

// A call's answer callback, metadata (lowercase keys, as gRPC requires) and deadline.
std::unique_ptr<ClientCall> NewCall(const GrpcMetadata& metadata, uint64_t timeout_ns,
                                    std::function<void(int, std::string)> done) {
  auto call = std::make_unique<ClientCall>();
  call->done = std::move(done);
  for (const auto& [key, value] : metadata) {
    call->context.AddMetadata(AsciiLowercase(key), value);
  }
  if (timeout_ns > 0) {
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::nanoseconds(timeout_ns));
  }
  return call;
}

std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(const GrpcClientTls* tls) {
  if (tls == nullptr) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls->root_certs_pem;
  options.pem_cert_chain = tls->cert_chain_pem;
  options.pem_private_key = tls->private_key_pem;
  return grpc::SslCredentials(options);
}

}  // namespace

struct GrpcSimClient::Impl {
  Impl(asio::io_context& ioc, const std::string& target, const GrpcClientTls* tls)
      : ioc(ioc),
        channel(grpc::CreateChannel(target, CredentialsFor(tls))),
        stub(simpb::SimService::NewStub(channel)),
        generic(channel) {}

  void RunCompletionQueue() {
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) {
      std::unique_ptr<ClientCall> call(static_cast<ClientCall*>(tag));
      {
        std::lock_guard lock(mu);
        in_flight.erase(call.get());
      }
      asio::post(
          ioc,
          [done = std::move(call->done), code = static_cast<int>(call->status.error_code()),
           message = call->status.error_message()]() mutable { done(code, std::move(message)); });
    }
  }

  // With `mu` held: hands `call` to the completion queue (its tag, owned by the queue until its
  // event), or, when the client is shutting down, answers it CANCELLED on the io_context and
  // returns nullptr.
  ClientCall* Admit(std::unique_ptr<ClientCall> call) {
    if (closing) {
      asio::post(ioc, [done = std::move(call->done)] {
        done(kGrpcCancelled, "gRPC client is shutting down");
      });
      return nullptr;
    }
    ClientCall* tag = call.release();
    in_flight.insert(tag);
    return tag;
  }

  asio::io_context& ioc;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<simpb::SimService::Stub> stub;
  grpc::GenericStub generic;
  grpc::CompletionQueue cq;
  std::thread thread;
  std::mutex mu;
  bool closing = false;
  std::unordered_set<ClientCall*> in_flight;
};

GrpcSimClient::GrpcSimClient(asio::io_context& ioc, const std::string& target_host_port,
                             const GrpcClientTls* tls)
    : impl_(std::make_unique<Impl>(ioc, target_host_port, tls)) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->RunCompletionQueue(); });
}

GrpcSimClient::~GrpcSimClient() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->closing = true;
    for (ClientCall* call : impl_->in_flight) call->context.TryCancel();
  }
  impl_->cq.Shutdown();  // Next returns false once every cancelled call has been delivered
  impl_->thread.join();
}

void GrpcSimClient::Call(std::string route, GrpcMetadata metadata, size_t payload_bytes,
                         uint64_t timeout_ns,
                         std::function<void(int grpc_status, std::string message)> done) {
  auto call = NewCall(metadata, timeout_ns, std::move(done));
  simpb::CallRequest request;
  request.set_route(std::move(route));
  request.set_payload(std::string(payload_bytes, '\0'));

  std::lock_guard lock(impl_->mu);
  ClientCall* tag = impl_->Admit(std::move(call));
  if (tag == nullptr) return;
  tag->reader = impl_->stub->PrepareAsyncCall(&tag->context, request, &impl_->cq);
  tag->reader->StartCall();
  tag->reader->Finish(&tag->response, &tag->status, tag);
}

void GrpcSimClient::CallMethod(const std::string& full_method, GrpcMetadata metadata,
                               uint64_t timeout_ns,
                               std::function<void(int grpc_status, std::string message)> done) {
  auto call = NewCall(metadata, timeout_ns, std::move(done));
  call->method = full_method;
  grpc::Slice nothing;
  const grpc::ByteBuffer empty_request(&nothing, 1);

  std::lock_guard lock(impl_->mu);
  ClientCall* tag = impl_->Admit(std::move(call));
  if (tag == nullptr) return;
  tag->generic_reader =
      impl_->generic.PrepareUnaryCall(&tag->context, tag->method, empty_request, &impl_->cq);
  tag->generic_reader->StartCall();
  tag->generic_reader->Finish(&tag->generic_response, &tag->status, tag);
}

}  // namespace tracerig
