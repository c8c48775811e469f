// What the scenario parser's files share: the ScenarioParser class, whose member functions are
// defined across parse_*.cc by the part of the file format they read, and the records the first
// pass keeps for the second. The file and its includes are read first (parse_resolve.cc); then
// one pass reads each table, checking keys, types and ranges, and a second resolves names across
// the scenario. Both only collect diagnostics, so one `tracerig validate` shows every problem.
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/span.h"
#include "topology/parse.h"
#include "topology/scenario.h"

namespace tracerig::parse_internal {

using Keys = std::span<const std::string_view>;

inline bool Contains(Keys keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Read by [backend] and by a service's own "export".
// The TLS forms are the ones cli/backend_plan.cc reads: otlp-https, otlp-grpcs, zipkin+https...
inline constexpr std::string_view kExportSchemes[] = {
    "otlp-http",  "otlp-http-json",  "otlp-grpc",  "zipkin",
    "otlp-https", "otlp-https-json", "otlp-grpcs", "zipkin+https"};
// Read by "propagation", "extract", "inject" and "forward" lists and by "wrong-format" faults.
inline constexpr std::string_view kPropagations[] = {"tracecontext", "baggage", "b3", "b3multi",
                                                     "jaeger"};

// "table", "integer", ... for messages.
std::string_view TypeName(const toml::node& node);
// A static attribute value, or nullopt for tables, arrays and dates.
std::optional<AttributeValue> StaticValue(const toml::node& value);

// A service's keys: its own, then its template's (all but "name"), so a service overrides the
// template key by key by key, and a template-provided value keeps the template's location.
struct ServiceBody {
  const toml::table* own = nullptr;
  const toml::table* base = nullptr;  // the template, if any
  const toml::node* get(std::string_view key) const {
    if (const toml::node* n = own->get(key)) return n;
    if (base != nullptr && key != "name") return base->get(key);
    return nullptr;
  }
};

// Who makes a call: a route of a service, or one of its consumers (indices into
// Scenario::services and Service::routes / Service::consumers).
struct CallOwner {
  size_t service = 0;
  size_t route = 0;                // unused when `consumer` is set
  std::optional<size_t> consumer;  // set: the caller is this consumer of `service`
};

// What the first pass remembers about a name written in the file, for the second pass.
struct CallSite {
  size_t service = 0;  // the caller, as indices into Scenario::services / Service::routes
  size_t route = 0;    // unused when `consumer` is set
  std::optional<size_t> consumer;  // set: the call is one of this consumer's calls
  std::string callee_service;
  std::string callee_route;
  SourceLocation where;  // the call's table
  SourceLocation service_at;
  SourceLocation route_at;
};

// A publish call (`{ publish = "orders", routing_key = "created" }`), for the routing checks of
// the second pass.
struct PublishSite {
  CallOwner owner;
  std::string exchange;
  std::string routing_key;
  SourceLocation where;  // the call's table
};

// Where a consumer's parts are written, for the second pass (indices as in CallOwner).
struct ConsumerSite {
  size_t service = 0;
  size_t consumer = 0;
  SourceLocation queue_at;
  std::optional<SourceLocation> binding_at;
  std::optional<SourceLocation> dead_letter_at;
  std::optional<SourceLocation> redeliveries_at;  // written and valid
};

// Where an entry's parts are written; the optional ones are set when the key is present and valid.
struct EntrySite {
  SourceLocation service_at;
  SourceLocation route_at;
  std::optional<SourceLocation> inject_at;
  std::optional<SourceLocation> sampled_at;
  std::optional<SourceLocation> tracestate_at;
  std::optional<SourceLocation> baggage_at;
};

// A service's formats as the tables below it left them ([defaults], then its template): each
// table replaces only the sides it writes ("propagation" both, "extract" or "inject" one).
struct FormatSides {
  std::vector<std::string> extract = {"tracecontext"};
  std::optional<std::vector<std::string>> inject;
  std::vector<std::string> forward;
  std::vector<SourceLocation> forward_at;  // where each `forward` format is written
};

// Where each written part of a fault is, for messages of the second pass, and which parts were
// read: a fault with an invalid part is still checked on the parts that are valid.
struct FaultSite {
  SourceLocation service_at;
  std::optional<SourceLocation> route_at;
  std::optional<SourceLocation> callee_at;
  std::optional<SourceLocation> format_at;       // set when the format is valid
  std::optional<SourceLocation> window_at;       // set when the window is valid
  std::optional<SourceLocation> when_format_at;  // set when `when` names a valid format
  std::optional<SourceLocation> queue_at;        // set when `queue` is a valid name
  bool kind_ok = true;
  bool route_ok = true;
  bool callee_ok = true;
};

// A service named by an [expect] entry; `who` says which kind of entry ("sampling entry").
struct ServiceReference {
  std::string who;
  std::string service;
  SourceLocation at;
};

// One parsed document: the top-level file or an included one.
struct Document {
  std::string path;
  toml::table root;
};

class ScenarioParser {
 public:
  ScenarioParser(std::string_view source_name, const ParseEnvironment& environment);
  ParseResult Run(std::string_view text);

 private:
  // parse.cc: the [scenario] table and the order of files for sorting diagnostics.
  size_t FileOrder(const std::string& file) const;
  void ParseScenarioTable(const toml::table& root);

  // parse_resolve.cc: included files, templates, defaults; then names across the scenario.
  bool LoadDocument(const std::string& path, std::string_view text,
                    std::vector<std::string>& stack);
  void ParseTemplates(const toml::table& root);
  void ParseDefaults(const toml::table& root);
  std::vector<std::string_view> ServiceNames() const;
  static std::vector<std::string_view> RouteNames(const Service& service);
  bool CheckTarget(std::string_view prefix, std::string_view service, std::string_view route,
                   const SourceLocation& service_at, const SourceLocation& route_at);
  void ResolveNames();
  void CheckReachable();
  void CheckCycles();
  // "a R", or "b queue \"orders.created\"" for a consumer, as cycle messages name a node.
  std::string OwnerLabel(size_t service, size_t route, std::optional<size_t> consumer) const;

  // parse_toml.cc: locations, diagnostics, and typed reads of one value (nullopt/nullptr after
  // reporting a wrong type or range).
  SourceLocation Loc(const toml::source_region& region) const;
  void Error(SourceLocation where, std::string message);
  void Error(const toml::source_region& region, std::string message);
  bool CheckKeys(const toml::table& table, std::string_view what, Keys allowed);
  const toml::node* Require(const toml::table& table, std::string_view key, std::string_view what);
  std::optional<std::string> AsString(const toml::node& node, std::string_view key);
  std::optional<std::string> AsNonEmptyString(const toml::node& node, std::string_view key);
  std::optional<double> AsNumber(const toml::node& node, std::string_view key);
  std::optional<double> AsPositive(const toml::node& node, std::string_view key);
  std::optional<double> AsNonNegative(const toml::node& node, std::string_view key);
  std::optional<double> AsFraction(const toml::node& node, std::string_view key);
  std::optional<uint64_t> AsNonNegativeInteger(const toml::node& node, std::string_view key);
  std::optional<uint64_t> AsInteger(const toml::node& node, std::string_view key, int64_t min,
                                    int64_t max);
  std::optional<uint64_t> AsDuration(const toml::node& node, std::string_view key);
  std::optional<uint64_t> AsPositiveDuration(const toml::node& node, std::string_view key);
  std::optional<uint64_t> AsSize(const toml::node& node, std::string_view key);
  const toml::table* AsTable(const toml::node& node, std::string_view key);
  std::vector<const toml::table*> AsTableArray(const toml::node& node, std::string_view key,
                                               std::string_view header);
  bool CheckChoice(const toml::node& node, std::string_view value, std::string_view what,
                   Keys supported, Keys not_yet = {});

  // parse_load.cc: [load].
  void ParseLoad(const toml::table& root);
  bool ParseStages(const toml::table& load_table);
  void ParseLoadEntries(const toml::node& n);
  std::optional<EntrySampling> ParseEntrySampled(const toml::node& node);
  void CheckLoadEntries();

  // parse_backend.cc: [backend].
  bool CheckBackendUrl(const toml::node& node, const std::string& url, std::string_view what,
                       Keys schemes);
  std::vector<Header> ParseHeaders(const toml::node& node, std::string_view key);
  void ParseBackend(const toml::table& root);

  // parse_services.cc: [[services]], their routes and calls.
  std::optional<Protocol> ParseProtocol(const toml::node& node);
  std::optional<SamplingPolicy> ParseSampling(const toml::node& node);
  // A format list under `key` ("propagation", "extract", "inject", "forward"); an empty list is
  // an error unless `may_be_empty`.
  std::optional<std::vector<std::string>> ParseFormats(const toml::node& node, std::string_view key,
                                                       bool may_be_empty);
  void ReadFormatKeys(const toml::table& t, FormatSides& sides, bool simulated);
  void CheckForward(const Service& service, const FormatSides& sides);
  void ParseServices(const toml::table& root);
  Service ParseService(const ServiceBody& body);
  void NotForExternal(const toml::node& node, std::string_view key, std::string_view service);
  Route ParseRoute(const toml::table& t, size_t service_index, size_t route_index,
                   const Service& service);
  std::optional<int> ParseErrorStatus(const toml::node& node, Protocol protocol);
  std::optional<LatencyModel> ParseLatency(const toml::node& node);
  std::vector<CallStep> ParseCalls(const toml::node& node, const CallOwner& owner,
                                   const Service& caller);
  std::optional<Call> ParseCall(const toml::table& t, const CallOwner& owner,
                                const Service& caller);

  // parse_consumers.cc: publish calls, [[services.consumers]], and where messages go.
  std::optional<Call> ParsePublish(const toml::table& t, const CallOwner& owner,
                                   const Service& caller);
  bool CheckExchangeName(const toml::node& node, std::string_view name, std::string_view what);
  bool CheckQueueName(const toml::node& node, std::string_view name, std::string_view key);
  void ParseConsumers(const ServiceBody& body, size_t service_index, Service& service);
  std::optional<Consumer> ParseConsumer(const toml::table& t, size_t service_index,
                                        size_t consumer_index, const Service& service);
  bool ParseBinding(const toml::node& node, Consumer& consumer);
  bool ParseBatch(const toml::node& node, Consumer& consumer);
  void CheckMessaging();
  void CheckDeadLetterConsumers();
  void WarnMessagingUnused();

  // parse_broker.cc: [broker].
  void ParseBroker(const toml::table& root);

  // parse_external.cc: keys only external services take, their routes' names and calls.
  void ParseExternalOnlyKeys(const ServiceBody& body, Service& service,
                             std::string_view url_scheme);
  void CheckExternalRouteName(const toml::node& node, std::string_view route,
                              const Service& service);
  bool CheckExternalCallKeys(const toml::table& t, std::string_view service);
  void CheckExternalCallers();

  // parse_attributes.cc: resource, route and event attributes, and route events.
  std::vector<Attribute> ParseStaticAttributes(const toml::table& t, std::string_view what);
  bool CheckAttributeKey(const toml::key& key, std::string_view what);
  void BadAttributeValue(std::string_view k, const toml::node& value, std::string_view what);
  void ParseRouteAttributes(const toml::table& t, Route& route);
  std::optional<AttributeGenerator> ParseGenerator(std::string_view attribute,
                                                   const toml::table& t);
  std::vector<EventSpec> ParseEvents(const toml::node& node);

  // parse_faults.cc: [[faults]], and each fault against the services it names.
  void ParseFaults(const toml::table& root);
  static std::string EdgeFaultList();
  static std::string ConsumerFaultList();
  bool ParseWindow(const toml::node& node, Fault& fault);
  bool ParseAmount(const toml::node& node, FaultKind kind, Fault& fault);
  std::optional<std::string> ParseFormatName(const toml::node& node, std::string_view key);
  void ParseWhen(const toml::node& node, Fault& fault, FaultSite& site);
  void CheckFaultCanAct(const Fault& fault, const Service& service, const std::string& who);
  void CheckConsumerFault(const Fault& fault, const FaultSite& site, const Service& service);
  void CheckFaults();

  // parse_warnings.cc: settings that have no effect.
  void Warn(SourceLocation where, std::string message);
  void WarnEntrySamplingUnused();

  // parse_expect.cc: [expect], and the services its entries name.
  void ParseExpect(const toml::table& root);
  std::optional<std::string> ExpectedService(const toml::node& node, std::string_view who);
  std::optional<AttributeRequirement> ParseAttributeRequirement(const toml::table& t);
  std::optional<std::vector<std::string>> ParseRequiredKeys(const toml::node& node);
  std::optional<std::vector<std::pair<std::string, std::string>>> ParseExpectedValues(
      const toml::node& node);
  std::optional<SamplingExpectation> ParseSamplingExpectation(
      const toml::table& t, std::map<std::string, int, std::less<>>& ratio_lines);
  void CheckExpectedServices();

  // State of one run, shared by the passes.
  std::string source_name_;
  ParseEnvironment environment_;
  std::deque<Document> documents_;  // stable addresses: the tables are read by pointer
  std::map<std::string, size_t, std::less<>> file_order_;  // for sorting diagnostics
  Scenario scenario_;
  std::vector<Diagnostic> diagnostics_;
  std::vector<Diagnostic> warnings_;
  std::optional<Protocol> default_protocol_;
  FormatSides default_formats_;
  std::optional<SamplingPolicy> default_sampling_;
  SourceLocation default_sampling_at_;
  std::map<size_t, SourceLocation> sampling_at_;  // service index -> its sampling as written
  std::map<std::string, std::pair<const toml::table*, SourceLocation>, std::less<>> templates_;
  std::map<std::string, SourceLocation, std::less<>> service_lines_;  // name -> first definition
  std::map<std::string, SourceLocation, std::less<>> service_at_;
  std::map<std::string, std::string, std::less<>> listen_owner_;
  std::vector<CallSite> call_sites_;
  std::vector<PublishSite> publish_sites_;
  std::vector<ConsumerSite> consumer_sites_;
  std::map<std::string, SourceLocation, std::less<>> queue_at_;  // queue -> its first consumer
  std::vector<EntrySite> entry_sites_;  // parallel to scenario_.load.entries
  std::vector<FaultSite> fault_sites_;  // parallel to scenario_.faults
  std::vector<ServiceReference> expect_services_;
  bool entries_written_ = false;
  bool entries_incomplete_ = false;  // a load entry was dropped after an error
  bool calls_incomplete_ = false;    // a call whose callee is not known was dropped after an error
  bool consumers_incomplete_ = false;  // a consumer, binding or publish was dropped after an error
  bool names_resolved_ = true;         // every call and load entry names an existing route
  bool services_written_ = false;
  bool load_ok_ = true;  // the load's duration is known (the default's, or as written)
};

}  // namespace tracerig::parse_internal
