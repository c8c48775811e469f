#include "topology/conformance_service.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "net/address.h"
#include "net/resolve.h"
#include "net/beast_carrier.h"

namespace tracerig {

Result<std::vector<HarnessCall>> ParseHarnessRequest(std::string_view body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return MakeError("body is not valid JSON");
  if (!parsed.is_array()) return MakeError("body must be a JSON array of {\"url\", \"arguments\"}");
  std::vector<HarnessCall> calls;
  for (size_t i = 0; i < parsed.size(); ++i) {
    const auto& item = parsed[i];
    if (!item.is_object()) return MakeError(fmt::format("element {} is not an object", i));
    auto url = item.find("url");
    if (url == item.end() || !url->is_string()) {
      return MakeError(fmt::format("element {} has no string \"url\"", i));
    }
    HarnessCall call;
    call.url = url->get<std::string>();
    auto arguments = item.find("arguments");
    call.arguments_json =
        arguments == item.end() || arguments->is_null() ? "[]" : arguments->dump();
    calls.push_back(std::move(call));
  }
  return calls;
}

struct ConformanceService::Pending {
  std::vector<HarnessCall> calls;
  size_t next = 0;
  SpanContext context;  // trace id, flags and tracestate to propagate
  HttpResponder respond;
  unsigned version = 11;
  bool keep_alive = true;
};

ConformanceService::ConformanceService(asio::io_context& ioc, uint64_t id_seed)
    : ioc_(ioc), rng_(id_seed), server_(ioc, [this](HttpRequest&& request, HttpResponder respond) {
        Handle(std::move(request), std::move(respond));
      }) {}

Status ConformanceService::Listen(const tcp::endpoint& endpoint) { return server_.Listen(endpoint); }

void ConformanceService::Handle(HttpRequest&& request, HttpResponder respond) {
  if (request.method() != http::verb::post || request.target() != "/test") {
    respond(MakeResponse(request, http::status::not_found, "text/plain",
                         "the trace-context harness endpoint is POST /test\n"));
    return;
  }
  auto calls = ParseHarnessRequest(request.body());
  if (!calls) {
    stats_.bad_requests++;
    respond(MakeResponse(request, http::status::bad_request, "text/plain",
                         calls.error().message + "\n"));
    return;
  }
  stats_.requests++;
  auto pending = std::make_shared<Pending>();
  pending->calls = std::move(*calls);
  pending->respond = std::move(respond);
  pending->version = request.version();
  pending->keep_alive = request.keep_alive();
  SpanContext incoming = propagator_.Extract(BeastHeaderReader<true>(request));
  if (incoming.IsValid()) {
    pending->context = incoming;
  } else {
    // Restart: a new trace, and the old tracestate is dropped with it.
    stats_.restarted++;
    pending->context.trace_id = TraceId{rng_.NextNonZero(), rng_.Next()};
    pending->context.trace_flags = 0;
  }
  Next(pending);
}

void ConformanceService::Next(const std::shared_ptr<Pending>& pending) {
  if (pending->next >= pending->calls.size()) {
    HttpResponse response{http::status::ok, pending->version};
    response.keep_alive(pending->keep_alive);
    pending->respond(std::move(response));
    return;
  }
  const HarnessCall& call = pending->calls[pending->next++];
  std::string path;
  std::string host;
  std::string error;
  HttpClientPool* pool = PoolFor(call.url, path, host, error);
  if (!pool) {
    stats_.callback_failures++;
    Next(pending);
    return;
  }
  HttpRequest out{http::verb::post, path, 11};
  out.set(http::field::host, host);
  out.set(http::field::content_type, "application/json");
  out.body() = call.arguments_json;
  // Each callback is a new span of ours: same trace, a new parent id.
  SpanContext context = pending->context;
  context.span_id = SpanId{rng_.NextNonZero()};
  BeastHeaderWriter<true> writer(out.base());
  propagator_.Inject(context, writer);
  stats_.callbacks++;
  pool->Send(std::move(out), [this, pending](beast::error_code ec, HttpResponse&&) {
    if (ec) stats_.callback_failures++;
    Next(pending);
  });
}

HttpClientPool* ConformanceService::PoolFor(const std::string& url, std::string& path,
                                            std::string& host_header, std::string& error) {
  auto parsed = ParseUrl(url, 80);
  if (!parsed || parsed->scheme != "http") {
    error = parsed ? "only http:// URLs are supported" : parsed.error().message;
    return nullptr;
  }
  path = parsed->path.empty() ? "/" : parsed->path;
  host_header = parsed->address.ToString();
  auto it = pools_.find(host_header);
  if (it != pools_.end()) return it->second.get();
  auto endpoint = ResolveEndpoint(parsed->address);
  if (!endpoint) {
    error = endpoint.error().message;
    return nullptr;
  }
  HttpClientOptions options;
  options.request_timeout = std::chrono::milliseconds(4000);  // inside the harness's 5 s
  auto pool = std::make_unique<HttpClientPool>(ioc_, *endpoint, options);
  HttpClientPool* raw = pool.get();
  pools_[host_header] = std::move(pool);
  return raw;
}

}  // namespace tracerig
