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

// A value drawn per request for a generated attribute (set on the route's SERVER span).
struct AttributeGenerator {
  enum class Kind {
    kChoice,    // one of `choices`, picked with probability proportional to `weights`
    kIntRange,  // an integer in [min, max], uniform
    kId,        // `prefix` followed by 16 random lowercase hex digits
  };
  Kind kind = Kind::kChoice;
  std::vector<AttributeValue> choices;
  std::vector<double> weights;  // same length as choices, each > 0 (all 1 when not given)
  int64_t min = 0;
  int64_t max = 0;
  std::string prefix;
  AttributeValue Generate(Rng& rng) const;
};

struct GeneratedAttribute {
  std::string key;
  AttributeGenerator generator;
  SourceLocation where;
};

// A span event recorded on the route's SERVER span, `at` of the way through the route's own latency.
struct EventSpec {
  std::string name;
  double at = 0.5;  // in [0, 1]
  std::vector<Attribute> attributes;
};

// A downstream call. Hops are assigned statically (expected_tree.h): each of the `repeat`
// executions of a call takes its own consecutive child index, whether or not the probability lets
// it happen, so hops never shift between requests. Retries of an attempt keep its index and add
// an "r<k>" suffix ("0.1r1", "0.1r2").
struct Call {
  std::string service;
  std::string route;
  double probability = 1.0;    // chance, per request and execution, that the call is made at all
  uint32_t repeat = 1;         // executions, one after another, each its own hop
  uint64_t timeout_ns = 0;     // per attempt; 0 = none. A timed-out attempt has failed.
  uint32_t retries = 0;        // extra attempts after a failed one (5xx, timeout, transport error)
  uint64_t retry_backoff_ns = 0;  // wait before each retry
  uint64_t request_bytes = 0;  // request payload size
  // A publish instead of a call (`{ publish = "orders", routing_key = "created" }`): the message
  // goes through the broker to exchange `publish` with `routing_key`; `service` and `route` stay
  // empty, and only `probability`, `repeat` and `request_bytes` (the body size) apply. The
  // publishing service records a PRODUCER span "send {exchange}:{routing key}" at the call's hop
  // and injects its formats into the message's headers; the consumer whose binding matches
  // records a CONSUMER span at the same hop (expected_tree.h).
  std::string publish;
  std::string routing_key;
  SourceLocation where;

  bool IsPublish() const { return !publish.empty(); }
  // "{exchange}:{routing key}", messaging.destination.name of the publish.
  std::string Destination() const { return publish + ":" + routing_key; }
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
  std::vector<GeneratedAttribute> generated_attributes;  // drawn per request, seeded
  std::vector<EventSpec> events;
  // Chance, per request, that the route answers `error_status` (after its latency and calls,
  // which still happen): an HTTP status for http services, a gRPC status code for grpc ones.
  double error_rate = 0;
  int error_status = 500;
  uint64_t response_bytes = 0;  // response payload size
  std::vector<CallStep> calls;  // executed in order after the route's own latency
  SourceLocation where;
};

enum class Protocol { kHttp, kGrpc };
std::string_view ProtocolName(Protocol protocol);  // "http", "grpc"

// Head sampling at a service: whether the spans it starts are sampled, and so the sampled flag it
// injects downstream. Decisions are seeded (expected_tree.h shares them with the runtime).
struct SamplingPolicy {
  enum class Kind {
    kAlways,
    kNever,
    kRatio,        // a fresh decision with probability `ratio`, ignoring the parent's flag
    kParentBased,  // the parent's flag when there is a parent context, else `ratio`
  };
  Kind kind = Kind::kParentBased;
  double ratio = 1.0;
};
std::string SamplingPolicyName(const SamplingPolicy& policy);  // "always", "ratio(0.25)", ...

// How a consumer groups deliveries: up to `size` messages, or fewer when `wait_ns` passes after the
// first one arrived. size 1 (the default): every message is processed on its own.
struct BatchSpec {
  uint32_t size = 1;
  uint64_t wait_ns = 0;
};

// `[[services.consumers]]`: the service reads `queue` from the broker. A single-message consumer
// records a CONSUMER span "process {exchange}:{routing key}" that is a child of the message's
// context (the publisher's PRODUCER span); a batch consumer records one such span per batch, the
// root of a trace of its own, with one span link per message (and
// messaging.batch.message_count). The processing then takes `latency`, runs `calls` under the
// CONSUMER span like a route's, and fails with `error_rate` (seeded per message and delivery).
// A failed message is redelivered (republished to `queue` with its headers unchanged) up to
// `redeliveries` times, then dead-lettered to `dead_letter` ("" = dropped) with its headers.
struct Consumer {
  std::string queue;
  // Where the queue is bound: exchange `exchange` with binding key `binding_key` (topic rules:
  // `*` one word, `#` zero or more, words split on '.'). TOML `binding = "orders:created"`.
  // Both empty: the queue is bound to nothing (a dead-letter queue, fed by `dead_letter`).
  std::string exchange;
  std::string binding_key;
  uint32_t prefetch = 10;  // unacknowledged deliveries at most (at least batch.size)
  BatchSpec batch;
  LatencyModel latency;
  double error_rate = 0;
  uint32_t redeliveries = 0;
  std::string dead_letter;
  std::vector<CallStep> calls;
  SourceLocation where;

  bool IsBatch() const { return batch.size > 1; }
};

struct Service {
  std::string name;
  Protocol protocol = Protocol::kHttp;
  std::string listen = "127.0.0.1:0";               // HOST:PORT; port 0 picks a free port
  // Trace-context formats the service reads (extract), in order of preference, and writes on its
  // calls (inject). TOML `propagation` sets both; `extract` and `inject` set one side each (a
  // service reading B3 and sending W3C). Inject(): `inject` when given, else `extract`; an empty
  // `inject` writes no context at all.
  std::vector<std::string> extract = {"tracecontext"};
  std::optional<std::vector<std::string>> inject{};
  // Formats whose incoming headers the service passes on unchanged to every call it makes, next
  // to its own (a proxy forwarding a `b3` it does not understand: envoyproxy/envoy#47515). A
  // header the service's own injection writes is not overwritten by the forwarded one.
  std::vector<std::string> forward{};
  std::vector<Attribute> resource;                  // resource attributes besides service.name
  SamplingPolicy sampling;
  // Where this service's spans go instead of the scenario's exporter (same URL forms as
  // BackendConfig::export_url); empty = the scenario's.
  std::string export_url;
  // An external service: a real one at this URL ("http://host:port"), called by the topology but
  // not simulated; its spans are expected in the backend like any other. Empty = simulated.
  std::string external_url;
  // External services with an https:// (or grpcs://) URL: PEM CA bundle to verify the service
  // against ("" = the system's roots) and a client certificate and key for mutual TLS (both or
  // neither), as [backend] has them.
  std::string ca_file;
  std::string client_cert;
  std::string client_key;
  // External services: a command tracerig starts itself (`sh -c`), with the URLs of its own
  // services in the environment (TRACERIG_URL_<SERVICE>, OTEL_EXPORTER_OTLP_ENDPOINT,
  // OTEL_SERVICE_NAME), once those services are up; waited for until `external_url` answers (at
  // most `start_timeout_ns`), stopped after the run, its output kept in the report folder.
  // Empty: the user starts the service.
  std::string command;
  uint64_t start_timeout_ns = 30'000'000'000ull;
  std::vector<Route> routes;
  std::vector<Consumer> consumers;  // simulated services only
  SourceLocation where;

  bool IsExternal() const { return !external_url.empty(); }
  const std::vector<std::string>& Injects() const { return inject ? *inject : extract; }

  const Route* FindRoute(std::string_view route_name) const;
};

// Deliberate faults. "Edge" faults act on the service's outgoing calls (all of them, or only those
// to `Fault::callee`); the others act on the service's own spans.
enum class FaultKind {
  kDropContext,      // edge: no trace context headers injected
  kNewTrace,         // the service ignores incoming context and starts a new trace
  kWrongFormat,      // edge: injects `Fault::format` instead of the service's formats
  kCorrupt,          // edge: injects malformed header values (traceparent / b3 / uber-trace-id)
  kTruncateTraceId,  // edge: injects the trace id with its high 64 bits zeroed
  kUnsampledChild,   // edge: injects the sampled flag cleared
  kDropSpan,         // the service's SERVER span is never exported
  kDelayExport,      // the service's spans reach the exporter `amount_ns` late
  kClockSkew,        // the service's spans' timestamps shifted by `amount_ns` (may be negative)
  kDuplicateSpanId,  // the SERVER span reuses its parent's span id
  kOrphan,           // the SERVER span's parent id is replaced by one that never exists
  kDropTracestate,   // edge: injects no tracestate (the ids still go)
  kDropBaggage,      // edge: injects no baggage
  kStaleRetryContext,  // edge: a retry injects the first attempt's CLIENT span id as parent
  kForceSampled,     // edge: injects sampled=1 whatever the service's own decision
  kDebugIgnored,     // edge: injects the debug flag cleared (sampled stays as decided)
  kUrlencode,        // edge: writes uber-trace-id with its colons URL-encoded ("%3A")
  // Consumer faults: they act on the service's consumers (all, or only `Fault::queue`'s).
  kConsumerNewTrace,       // the consumer ignores the message's headers: a new trace per message
  kDlqDropsHeaders,        // dead-lettering loses the message's trace headers
  kRetryDuplicatesHeaders,  // a redelivered message carries each trace header twice
  kBatchFirstParentOnly,   // a batch span is parented to its first message, with no links
  kLinkMissing,            // a batch span has no link to a message (decided per message)
};
std::string_view FaultKindName(FaultKind kind);  // "drop-context", "new-trace", ...
// Every kind, in declaration order (for validation, docs and the fault matrix).
const std::vector<FaultKind>& AllFaultKinds();
// Whether the kind acts on outgoing calls (and so may name a callee).
bool IsEdgeFault(FaultKind kind);
// Whether the kind acts on the service's consumers (and so may name a queue).
bool IsConsumerFault(FaultKind kind);

// A condition on what a request brought in (`when = { sampled = false }`, `{ format = "b3" }`):
// the fault applies only to requests that match every field given.
struct FaultCondition {
  // The sampled flag of the context the service extracted; a request without a valid context
  // matches neither true nor false.
  std::optional<bool> sampled;
  // The format (one the service extracts) its context was read from; a request without a valid
  // context matches no format.
  std::string format;
  bool IsSet() const { return sampled.has_value() || !format.empty(); }
};

struct Fault {
  FaultKind kind = FaultKind::kDropContext;
  std::string service;       // the service the fault applies to
  std::string route;         // only requests to this route of `service`; empty = every route
  std::string callee;        // edge faults: only calls to this service; empty = every call
  double probability = 1.0;  // per request, decided from the scenario seed
  // Only requests whose intended start offset into the load is in [window_start_ns,
  // window_end_ns) (carried in the tracerig-offset header).
  uint64_t window_start_ns = 0;
  uint64_t window_end_ns = UINT64_MAX;
  int64_t amount_ns = 0;  // clock-skew: the shift; delay-export: the delay
  std::string format;     // wrong-format: the format injected
  std::string queue;      // consumer faults: only this consumer's queue; empty = every consumer
  FaultCondition when{};  // unset: every request
  SourceLocation where;
};

// The sampled flag the driver sends to a load entry: debug is B3's `X-B3-Flags: 1` / `b3: ...-d`
// and Jaeger's flag 0x2 (W3C traceparent has no debug flag: there it is sampled=1).
enum class EntrySampling { kSampled, kNotSampled, kDebug };

struct LoadEntry {
  std::string service;
  std::string route;
  double weight = 1.0;
  // What the driver sends, beside tracerig's ground-truth headers: the formats it injects (unset:
  // the entry service's extract formats; empty: no trace context at all, so the entry starts the
  // trace; only "baggage": no ids either), the sampled flag, and a tracestate and a baggage to start with (normalised; empty =
  // none). The driver's CLIENT span is exported only when the flag is sampled or debug.
  std::optional<std::vector<std::string>> inject{};
  EntrySampling sampled = EntrySampling::kSampled;
  std::string tracestate{};
  std::string baggage{};
  SourceLocation where{};

  // Whether the driver sends trace ids (a format other than "baggage", which carries none).
  bool SendsContext() const {
    if (!inject) return true;
    for (const std::string& format : *inject) {
      if (format != "baggage") return true;
    }
    return false;
  }
};

// How root requests are spread over time. All are open loop: request n has an intended start time
// fixed in advance (driver/schedule.h), whatever happened to earlier requests.
enum class LoadModel {
  kConstant,  // `rate` per second, evenly spaced, for `duration_ns`
  kRamp,      // rate changing linearly through `stages`, starting from `start_rate`
  kPoisson,   // exponential gaps averaging `rate` per second, for `duration_ns`
  kCount,     // exactly `requests` requests, evenly spaced at `rate` per second
  // Closed loop, for people who want it (labelled so in reports): `virtual_users` users each send
  // a request, wait for its answer, think for `think_time_ns`, and repeat for `duration_ns`.
  // Latency is then only the uncorrected kind: a closed loop cannot see coordinated omission.
  kClosed,
};
std::string_view LoadModelName(LoadModel model);  // "constant", "ramp", "poisson", "count", "closed"

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
  uint32_t virtual_users = 0;  // closed: at least one after validation
  uint64_t think_time_ns = 0;  // closed
  // Driver event-loop threads; 0 = chosen by the driver (command line --driver-threads wins).
  uint32_t threads = 0;
  // Connections per entry service per driver thread; 0 = as many as requests in flight (an open
  // loop never waits for a connection). A bound makes a stalled service queue requests.
  uint32_t connections = 0;
  std::vector<LoadEntry> entries;  // at least one after validation
};

// How many root requests `load` plans: rate x duration, the ramp's integral, or `requests`.
// Fractional for rates that do not divide evenly; infinite or NaN only for invalid loads.
double PlannedRequests(const Load& load);
// A request count for messages: "60000000" when whole, "1234.5" otherwise.
std::string FormatRequestCount(double count);

struct Header {
  std::string name;
  std::string value;  // may be a secret: never printed or written to reports
  bool operator==(const Header&) const = default;
};

// Where spans go and where the verifier reads them. Empty strings: the embedded backend.
struct BackendConfig {
  std::string export_url;  // e.g. "otlp-http://127.0.0.1:4318", "otlp-grpc://host:4317"
  std::string query_url;   // e.g. "jaeger://127.0.0.1:16686", "zipkin://", "tempo://", "jaeger-v3://"
  std::vector<Header> export_headers;  // e.g. authorization
  std::vector<Header> query_headers;   // e.g. X-Scope-OrgID
  // TLS for https:// and otlp-grpcs:// targets: CA bundle, client certificate and key (PEM files).
  std::string ca_file;
  std::string client_cert_file;
  std::string client_key_file;
  bool IsEmbedded() const { return export_url.empty() && query_url.empty(); }
};

// `[broker]`: where publishes and consumers go. An empty url: tracerig's embedded in-process broker
// (the default: no infrastructure, same semantics); "amqp://[user:password@]host:port[/vhost]":
// a RabbitMQ broker, on which tracerig declares the scenario's exchanges and queues itself.
struct BrokerConfig {
  std::string url;
  SourceLocation where;
  bool IsEmbedded() const { return url.empty(); }
};

// One entry of `[expect] attributes`: keys the spans of a service must carry, e.g.
// { service = "frontend", kind = "server", required = ["http.route"],
//   values = { "http.request.method" = "GET" } }.
struct AttributeRequirement {
  std::string service;  // empty (key absent): every simulated service
  SpanKind kind = SpanKind::kUnspecified;  // "server" or "client"; absent: any kind
  std::vector<std::string> required;  // keys that must be present, any value
  // Keys that must be present with this value, rendered as AttributeValueToString renders a span's
  // ("GET", "200", "true", "0.5"; a float 2.0 as "2"); a TOML string, integer, float or boolean in
  // the file. In the table's key order (toml++ sorts keys).
  std::vector<std::pair<std::string, std::string>> values;
  SourceLocation where;
};

// One entry of `[expect] sampling`: what the traces kept in the backend should show, whoever
// decided (the services' own head sampling, or a collector's tail sampling tracerig cannot see).
// Each entry is exactly one of the forms below; the parser rejects keys of two forms together.
struct SamplingExpectation {
  enum class Kind {
    // { service = "payment", ratio = 0.5, confidence = 0.99 }: of the requests whose expected
    // tree reaches the service, this fraction has its spans in the backend.
    kServiceRatio,
    // { errors = "always" }: every request answered with an error is kept.
    kErrors,
    // { slower_than = "500ms" }: every request slower than this (send to answer) is kept.
    kSlowerThan,
    // { ratio = 0.1, confidence = 0.99 }: of the requests neither of the two above keeps, this
    // fraction is kept (a trace counts as kept when any of its spans is found).
    kTraceRatio,
    // { traces = "whole" }: a kept trace is kept whole, never in part (tail sampling).
    kWholeTraces,
  };
  Kind kind = Kind::kServiceRatio;
  std::string service;               // kServiceRatio
  double ratio = 1.0;                // kServiceRatio, kTraceRatio: in [0, 1]
  std::optional<double> confidence;  // kServiceRatio, kTraceRatio: in (0, 1); unset = the run's
  uint64_t slower_than_ns = 0;       // kSlowerThan: > 0
  SourceLocation where;
};

struct Expectations {
  double completeness = 1.0;  // fraction of traces that must be complete
  uint64_t broken = 0;        // broken-propagation traces allowed
  // Time to queryable (from a trace's last export to the first poll that returned all of it):
  // bounds on its p99 and its maximum over complete traces; unset = not judged.
  std::optional<uint64_t> time_to_queryable_p99_ns;
  std::optional<uint64_t> time_to_queryable_max_ns;
  std::vector<AttributeRequirement> attributes;  // in file order
  std::vector<SamplingExpectation> sampling;     // in file order
};

struct Scenario {
  std::string source_name;  // the file it came from
  std::string name;
  std::string description;
  uint64_t seed = 1;
  Load load;
  BackendConfig backend;
  BrokerConfig broker;
  std::vector<Service> services;
  std::vector<Fault> faults;
  Expectations expect;

  const Service* FindService(std::string_view service_name) const;
};

}  // namespace tracerig
