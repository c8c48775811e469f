// The transport of simulated gRPC services: a server and a client for tracerig.sim.v1.SimService
// (proto/tracerig/sim/v1/sim.proto) on the gRPC C++ async API. One completion-queue thread per
// server or client moves events; all service logic runs on the caller's io_context, so a service
// stays single-threaded exactly as with the HTTP transport (net/http_server.h). gRPC types stay
// out of this header so its users compile without gRPC's headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "net/beast.h"
#include "net/grpc_status.h"

namespace tracerig {

using GrpcMetadata = std::vector<std::pair<std::string, std::string>>;

struct GrpcInbound {
  std::string route;      // CallRequest.route
  GrpcMetadata metadata;  // client metadata, keys lowercase (as HTTP/2 carries them)
  size_t payload_bytes = 0;
};

// Finishes the call: (grpc status, status message, response payload size). Call at most once, on
// the io_context thread; later calls, and calls after the server stopped, do nothing.
using GrpcRespond = std::function<void(int grpc_status, std::string message, size_t payload_bytes)>;
// Runs on the io_context thread for every incoming call.
using GrpcHandler = std::function<void(GrpcInbound inbound, GrpcRespond respond)>;

class GrpcSimServer {
 public:
  GrpcSimServer(asio::io_context& ioc, GrpcHandler handler);
  ~GrpcSimServer();  // calls Stop()
  GrpcSimServer(const GrpcSimServer&) = delete;
  GrpcSimServer& operator=(const GrpcSimServer&) = delete;

  // Binds "host:port" (port 0 picks a free port, see port()) and starts serving. Once only.
  Status Listen(const std::string& host_port);
  uint16_t port() const;
  // Cancels calls still waiting for their answer, shuts the server and its completion queue down
  // and joins the queue's thread. Idempotent; safe from any thread but the io_context's own when
  // that thread is blocked (it never waits on the io_context).
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// TLS for a client channel, as PEM text (grpc::SslCredentials): the roots to trust ("" = gRPC's
// default roots) and an optional client certificate chain and key for mutual TLS.
struct GrpcClientTls {
  std::string root_certs_pem;
  std::string cert_chain_pem;
  std::string private_key_pem;
};

// One channel to one target, reused by every call. Plaintext HTTP/2, or TLS when `tls` is given
// (the server's certificate is checked against the target's host).
class GrpcSimClient {
 public:
  GrpcSimClient(asio::io_context& ioc, const std::string& target_host_port,
                const GrpcClientTls* tls = nullptr);
  ~GrpcSimClient();  // cancels calls in flight; their `done` still runs (CANCELLED) if ioc does
  GrpcSimClient(const GrpcSimClient&) = delete;
  GrpcSimClient& operator=(const GrpcSimClient&) = delete;

  // Starts SimService/Call; `done` is posted onto the io_context with the call's status.
  // timeout_ns 0 means no deadline. Metadata keys are lowercased (gRPC rejects uppercase keys).
  void Call(std::string route, GrpcMetadata metadata, size_t payload_bytes, uint64_t timeout_ns,
            std::function<void(int grpc_status, std::string message)> done);
  // Calls any unary method of a real service, `full_method` as "/pkg.Service/Method", with an
  // empty request message (zero bytes decode as every protobuf message type's defaults).
  // Otherwise as Call.
  void CallMethod(const std::string& full_method, GrpcMetadata metadata, uint64_t timeout_ns,
                  std::function<void(int grpc_status, std::string message)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tracerig
