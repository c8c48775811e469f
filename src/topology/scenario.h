// The scenario model: what a scenario file describes, after parsing and validation. Plain values;
// ParseScenario (parse.h) builds it, simulated services and the driver read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/rng.h"
#include "core/span.h"

namespace tracerig {

// Where something was written, for error messages about it after parsing ("file:line:column").
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string ToString() const;  // "file:line:column"
};

struct LatencyModel {
  enum class Kind { kFixed, kUniform, kNormal, kLognormal, kExponential };
  Kind kind = Kind::kFixed;
  // All in nanoseconds. fixed: a; uniform: [a, b]; normal: mean a, stddev b;
  // lognormal: p50 a, p99 b; exponential: mean a.
  uint64_t a = 0;
  uint64_t b = 0;
  // Draws one latency; never negative (clamped at 0).
  uint64_t Sample(Rng& rng) const;
};

struct Call {
  std::string service;
  std::string route;
  SourceLocation where;
};

// One step of a route's work: a single call (sequential) or a group of calls made in parallel.
struct CallStep {
  bool parallel = false;
  std::vector<Call> calls;  // exactly one when !parallel
};

struct Route {
  std::string name;  // "GET /checkout" (HTTP method and path) or an RPC-style name ("GetCart")
  LatencyModel latency;
  std::vector<Attribute> attributes;  // static attributes set on the SERVER span
  std::vector<CallStep> calls;        // executed in order after the route's own latency
  SourceLocation where;
};

enum class Protocol { kHttp };

struct Service {
  std::string name;
  Protocol protocol = Protocol::kHttp;
  std::string listen = "127.0.0.1:0";               // HOST:PORT; port 0 picks a free port
  std::vector<std::string> propagation = {"tracecontext"};  // formats extracted and injected
  std::vector<Attribute> resource;                  // resource attributes besides service.name
  std::vector<Route> routes;
  SourceLocation where;

  const Route* FindRoute(std::string_view route_name) const;
};

enum class FaultKind {
  kDropContext,  // the service injects no trace context on its outgoing calls
};
std::string_view FaultKindName(FaultKind kind);  // "drop-context"

struct Fault {
  FaultKind kind = FaultKind::kDropContext;
  std::string service;       // the service the fault applies to
  double probability = 1.0;  // per request, decided from the scenario seed
  SourceLocation where;
};

struct LoadEntry {
  std::string service;
  std::string route;
  double weight = 1.0;
};

// How root requests are spread over time. All are open loop: request n has an intended start time
// fixed in advance (driver/schedule.h), whatever happened to earlier requests.
enum class LoadModel {
  kConstant,  // `rate` per second, evenly spaced, for `duration_ns`
  kRamp,      // rate changing linearly through `stages`, starting from `start_rate`
  kPoisson,   // exponential gaps averaging `rate` per second, for `duration_ns`
  kCount,     // exactly `requests` requests, evenly spaced at `rate` per second
};
std::string_view LoadModelName(LoadModel model);  // "constant", "ramp", "poisson", "count"

// One stage of a ramp: the rate moves linearly from the previous stage's target (or the ramp's
// start rate) to `target_rate` over `duration_ns`.
struct LoadStage {
  uint64_t duration_ns = 0;
  double target_rate = 0;  // requests per second at the end of the stage
};

// The most root requests one load may plan. Schedules hold up to 8 bytes per request and the driver
// keeps a slot per request, so this bounds a run's memory at a few hundred MiB.
inline constexpr uint64_t kMaxLoadRequests = 50'000'000;

struct Load {
  LoadModel model = LoadModel::kConstant;
  double rate = 50;  // root requests per second (constant, poisson, count)
  // How long load is driven. For a ramp, the sum of its stages; for count, requests / rate.
  uint64_t duration_ns = 5'000'000'000ull;
  double start_rate = 0;          // ramp: the rate at the start of the first stage
  std::vector<LoadStage> stages;  // ramp: at least one after validation
  uint64_t requests = 0;          // count: how many root requests
  // Requests whose intended offset is < warmup_ns are sent like any other but excluded from
  // latency statistics, so connection set-up and cold caches do not skew the percentiles. The
  // schedule itself does not change. Always < duration_ns after validation.
  uint64_t warmup_ns = 0;
  std::vector<LoadEntry> entries;  // at least one after validation
};

// How many root requests `load` plans: rate x duration, the ramp's integral, or `requests`.
// Fractional for rates that do not divide evenly; infinite or NaN only for invalid loads.
double PlannedRequests(const Load& load);
// A request count for messages: "60000000" when whole, "1234.5" otherwise.
std::string FormatRequestCount(double count);

// Where spans go and where the verifier reads them. Empty strings: the embedded backend.
struct BackendConfig {
  std::string export_url;  // e.g. "otlp-http://127.0.0.1:4318"
  std::string query_url;   // e.g. "jaeger://127.0.0.1:16686"
  bool IsEmbedded() const { return export_url.empty() && query_url.empty(); }
};

struct Expectations {
  double completeness = 1.0;  // fraction of traces that must be complete
  uint64_t broken = 0;        // broken-propagation traces allowed
};

struct Scenario {
  std::string source_name;  // the file it came from
  std::string name;
  std::string description;
  uint64_t seed = 1;
  Load load;
  BackendConfig backend;
  std::vector<Service> services;
  std::vector<Fault> faults;
  Expectations expect;

  const Service* FindService(std::string_view service_name) const;
};

}  // namespace tracerig
