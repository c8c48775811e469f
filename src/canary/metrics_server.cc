// MetricsServer: an HttpServer on its own io_context thread that answers Prometheus' scrapes
// (/metrics) and liveness probes (/healthz).
#include "canary/metrics_server.h"

#include <fmt/format.h>

#include <optional>
#include <thread>
#include <utility>

#include "net/bind_probe.h"
#include "net/http_server.h"

namespace tracerig {

namespace {

constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

HttpResponse Answer(const HttpRequest& request, const MetricsRegistry& registry,
                    const MetricsServerOptions& options) {
  const std::string_view path =
      PathOf(std::string_view(request.target().data(), request.target().size()));
  if (path != "/metrics" && path != "/healthz") {
    return MakeResponse(
        request, http::status::not_found, std::string(kTextContentType),
        fmt::format("no such page: {} (this server serves /metrics and /healthz)\n", path));
  }
  if (request.method() != http::verb::get) {
    HttpResponse response =
        MakeResponse(request, http::status::method_not_allowed, std::string(kTextContentType),
                     fmt::format("method {} not allowed on {}: use GET\n",
                                 std::string(request.method_string()), path));
    response.set(http::field::allow, "GET");
    // An answer to HEAD carries no body, whatever its status.
    if (request.method() == http::verb::head) response.body().clear();
    return response;
  }
  if (path == "/metrics") {
    return MakeResponse(request, http::status::ok, std::string(kExpositionContentType),
                        registry.Render());
  }
  std::string reason = options.unhealthy_reason ? options.unhealthy_reason() : std::string();
  if (reason.empty()) {
    return MakeResponse(request, http::status::ok, std::string(kTextContentType), "ok\n");
  }
  if (!reason.ends_with('\n')) reason += '\n';
  return MakeResponse(request, http::status::service_unavailable, std::string(kTextContentType),
                      std::move(reason));
}

// As tracerig's listen flags say it: a port in use is the common case and is named as such.
Status CheckPortFree(const tcp::endpoint& endpoint) {
  const beast::error_code ec = ProbeBind(endpoint);
  if (ec == asio::error::address_in_use) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot serve metrics on {}:{}: port {} is in use",
                                 endpoint.address().to_string(), endpoint.port(), endpoint.port()));
  }
  return Ok{};
}

}  // namespace

class MetricsServer::Impl {
 public:
  Impl(const MetricsRegistry& registry, MetricsServerOptions options)
      : registry_(registry), options_(std::move(options)) {}

  Status Listen(const tcp::endpoint& endpoint) {
    if (auto free = CheckPortFree(endpoint); !free) return free;
    server_ =
        std::make_unique<HttpServer>(ioc_, [this](HttpRequest&& request, HttpResponder respond) {
          respond(Answer(request, registry_, options_));
        });
    auto listening = server_->Listen(endpoint);
    if (!listening) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("cannot serve metrics: {}", listening.error().message));
    }
    endpoint_ = server_->local_endpoint();
    guard_.emplace(asio::make_work_guard(ioc_));
    thread_ = std::thread([this] { ioc_.run(); });
    return Ok{};
  }

  void Stop() {
    if (!thread_.joinable()) return;
    guard_.reset();
    ioc_.stop();  // open keep-alive connections are not waited for
    thread_.join();
    server_->Stop();  // the io_context has stopped: safe from this thread
  }

  ~Impl() { Stop(); }

  tcp::endpoint endpoint() const { return endpoint_; }

 private:
  const MetricsRegistry& registry_;
  const MetricsServerOptions options_;
  asio::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  tcp::endpoint endpoint_;
};

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const tcp::endpoint& endpoint,
                                                            const MetricsRegistry& registry,
                                                            MetricsServerOptions options) {
  auto impl = std::make_unique<Impl>(registry, std::move(options));
  if (auto listening = impl->Listen(endpoint); !listening) return listening.error();
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() { Stop(); }

tcp::endpoint MetricsServer::local_endpoint() const { return impl_->endpoint(); }

std::string MetricsServer::Url() const {
  const tcp::endpoint endpoint = impl_->endpoint();
  const auto address = endpoint.address();
  const std::string host =
      address.is_v6() ? fmt::format("[{}]", address.to_string()) : address.to_string();
  return fmt::format("http://{}:{}", host, endpoint.port());
}

void MetricsServer::Stop() { impl_->Stop(); }

}  // namespace tracerig
