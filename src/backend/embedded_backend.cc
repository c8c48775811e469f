#include "backend/embedded_backend.h"

#include <fmt/format.h>

#include "net/address.h"
#include "net/resolve.h"

namespace tracerig {
namespace {

std::string_view Field(const HttpRequest& request, http::field field) {
  auto it = request.find(field);
  if (it == request.end()) return {};
  return {it->value().data(), it->value().size()};
}

HttpRequestView ViewOf(const HttpRequest& request) {
  HttpRequestView view;
  view.method = {request.method_string().data(), request.method_string().size()};
  view.target = {request.target().data(), request.target().size()};
  view.content_type = Field(request, http::field::content_type);
  view.content_encoding = Field(request, http::field::content_encoding);
  view.body = request.body();
  return view;
}

HttpResponse ToBeast(const HttpRequest& request, HttpResponseData data) {
  return MakeResponse(request, static_cast<http::status>(data.status), std::move(data.content_type),
                      std::move(data.body));
}

Result<tcp::endpoint> ParseListen(std::string_view what, const std::string& text) {
  auto address = ParseHostPort(text);
  if (!address) return MakeError(fmt::format("{}: {}", what, address.error().message));
  auto endpoint = ResolveEndpoint(*address);
  if (!endpoint) return MakeError(fmt::format("{}: {}", what, endpoint.error().message));
  return *endpoint;
}

}  // namespace

EmbeddedBackend::EmbeddedBackend(EmbeddedBackendOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), store_(options_.max_spans, options_.max_bytes) {
  HttpServerOptions server_options;
  server_options.body_limit = options_.max_body_bytes;
  IngestLimits limits;
  limits.max_body_bytes = options_.max_body_bytes;
  otlp_server_ = std::make_unique<HttpServer>(
      ioc_,
      [this, limits](HttpRequest&& request, HttpResponder respond) {
        respond(ToBeast(request, HandleOtlpHttpIngest(store_, otlp_http_counters_, ViewOf(request), limits,
                                                      clock_.NowUnixNano())));
      },
      server_options);
  query_server_ = std::make_unique<HttpServer>(
      ioc_, [this](HttpRequest&& request, HttpResponder respond) {
        respond(ToBeast(request, HandleQueryPort(store_, receiver_counters(), ViewOf(request))));
      });
  if (!options_.zipkin.empty()) {
    // Zipkin serves ingest and queries on one port: POST is ingest, everything else a query.
    zipkin_server_ = std::make_unique<HttpServer>(
        ioc_,
        [this, limits](HttpRequest&& request, HttpResponder respond) {
          const HttpRequestView view = ViewOf(request);
          const uint64_t now = clock_.NowUnixNano();
          respond(ToBeast(request, view.method == "POST"
                                       ? HandleZipkinIngest(store_, zipkin_counters_, view, limits, now)
                                       : HandleZipkinQuery(store_, view, now)));
        },
        server_options);
  }
  if (!options_.otlp_grpc.empty()) {
    otlp_grpc_ = std::make_unique<OtlpGrpcReceiver>(store_, grpc_total_, limits, clock_);
  }
}

EmbeddedBackend::~EmbeddedBackend() { Stop(); }

IngestTotals EmbeddedBackend::counters() const {
  IngestTotals total;
  for (const auto& r : receiver_counters()) total += IngestTotals::Of(*r.counters);
  return total;
}

std::vector<NamedIngestCounters> EmbeddedBackend::receiver_counters() const {
  std::vector<NamedIngestCounters> receivers = {{"otlp-http", &otlp_http_counters_}};
  if (otlp_grpc_) receivers.push_back({"otlp-grpc", &otlp_grpc_->counters()});
  if (zipkin_server_) receivers.push_back({"zipkin", &zipkin_counters_});
  return receivers;
}

Status EmbeddedBackend::Start() {
  auto otlp = ParseListen("--otlp-http", options_.otlp_http);
  if (!otlp) return otlp.error();
  auto query = ParseListen("--query", options_.query);
  if (!query) return query.error();
  if (auto s = otlp_server_->Listen(*otlp); !s) return MakeError("OTLP/HTTP receiver: " + s.error().message);
  if (auto s = query_server_->Listen(*query); !s) return MakeError("query server: " + s.error().message);
  if (zipkin_server_) {
    auto zipkin = ParseListen("--zipkin", options_.zipkin);
    if (!zipkin) return zipkin.error();
    if (auto s = zipkin_server_->Listen(*zipkin); !s) {
      return MakeError("Zipkin server: " + s.error().message);
    }
  }
  if (otlp_grpc_) {
    auto grpc = ParseListen("--otlp-grpc", options_.otlp_grpc);
    if (!grpc) return grpc.error();
    if (auto s = otlp_grpc_->Listen(options_.otlp_grpc); !s) return s.error();
    otlp_grpc_endpoint_ = tcp::endpoint(grpc->address(), otlp_grpc_->port());
  }
  guard_.emplace(asio::make_work_guard(ioc_));
  thread_ = std::thread([this] { ioc_.run(); });
  return Ok{};
}

void EmbeddedBackend::Stop() {
  if (otlp_grpc_) otlp_grpc_->Stop();  // idempotent; works whether or not Start got that far
  if (!thread_.joinable()) return;
  asio::post(ioc_, [this] {
    otlp_server_->Stop();
    query_server_->Stop();
    if (zipkin_server_) zipkin_server_->Stop();
  });
  guard_.reset();
  ioc_.stop();
  thread_.join();
}

uint64_t EmbeddedBackend::http_rejections() const {
  uint64_t rejections = otlp_server_->stats().bad_requests + otlp_server_->stats().too_large;
  if (zipkin_server_) {
    rejections += zipkin_server_->stats().bad_requests + zipkin_server_->stats().too_large;
  }
  return rejections;
}

}  // namespace tracerig
