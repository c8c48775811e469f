// A simulated service's HTTP transport: a Beast request in, a Beast response out; an attempt as a
// Beast request on the callee's connection pool.
#include "topology/runtime_internal.h"

#include <fmt/format.h>

#include "net/beast_carrier.h"
#include "topology/ground_truth.h"

namespace tracerig {
namespace {

std::string_view HeaderValue(const HttpRequest& request, std::string_view name) {
  auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  if (it == request.end()) return {};
  return {it->value().data(), it->value().size()};
}

}  // namespace

using SimulatedService = TopologyRuntime::SimulatedService;

void SimulatedService::HandleHttp(HttpRequest&& request, HttpResponder respond) {
  std::string_view target(request.target().data(), request.target().size());
  target = target.substr(0, target.find('?'));
  std::string_view method(request.method_string().data(), request.method_string().size());
  const PreparedRoute* found = nullptr;
  if (auto it = routes_.find(target); it != routes_.end()) {
    for (const PreparedRoute& r : it->second) {
      if (r.method == method) found = &r;
    }
  }
  if (found == nullptr) {
    unknown_route_++;
    respond(MakeResponse(request, http::status::not_found, "text/plain",
                         fmt::format("service \"{}\" has no route \"{} {}\"\n", service_.name,
                                     method, target)));
    return;
  }
  // OnRequest reads the headers before it returns; the responder keeps only what the response
  // needs from the request (its version and keep-alive).
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  BeastHeaderReader<true> reader(request);
  Inbound inbound{
      found->route, found->method, found->path, &reader, HeaderValue(request, kRequestIdHeader),
      HeaderValue(request, kSequenceHeader), HeaderValue(request, kHopHeader),
      HeaderValue(request, kOffsetHeader),
      [respond = std::move(respond), version, keep_alive](unsigned status, uint64_t bytes) {
        HttpResponse response;
        response.version(version);
        response.result(status);
        response.keep_alive(keep_alive);
        response.set(http::field::content_type, "text/plain");
        if (bytes > 0) {
          response.body().assign(bytes, 'x');
        } else {
          response.body() = status < 400 ? "ok\n" : "error\n";
        }
        response.prepare_payload();
        respond(std::move(response));
      },
      GroundTruthSource::kHeaders, {}};
  RecoveredGroundTruth recovered;
  RecoverGroundTruth(inbound, recovered);
  OnRequest(std::move(inbound));
}

void SimulatedService::SendHttp(const std::shared_ptr<Attempt>& attempt,
                                const PreparedCall& prepared) {
  const Call& call = attempt->run->call;
  if (prepared.pool == nullptr) {
    OnAttemptDone(attempt, CallOutcome{0, "host_not_found"});
    return;
  }
  HttpRequest request{prepared.verb, prepared.path, 11};
  if (prepared.host_header.empty()) {
    request.set(http::field::host, call.service);
  } else {
    request.set(http::field::host, prepared.host_header);
  }
  request.set(http::field::user_agent, "tracerig");
  BeastHeaderWriter<true> writer(request.base());
  WriteOutboundHeaders(*attempt, writer);
  if (call.request_bytes > 0) {
    request.body().assign(call.request_bytes, 'x');
    request.set(http::field::content_type, "application/octet-stream");
  }
  request.prepare_payload();
  prepared.pool->Send(std::move(request),
                      [this, attempt](beast::error_code ec, HttpResponse&& response) {
                        if (ec) {
                          OnAttemptDone(attempt, CallOutcome{0, ec.message()});
                        } else {
                          OnAttemptDone(attempt, CallOutcome{response.result_int(), {}});
                        }
                      });
}

}  // namespace tracerig
