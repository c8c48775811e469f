// What the driver sends per load entry (LoadEntry::inject, sampled, tracestate, baggage), checked
// on real loopback HTTP and gRPC servers: one row per combination of formats and sampled flag
// (debug included), tracestate and baggage passed through, `inject = []` sending the ground truth
// only, the ledger's sampled flag and whether the root CLIENT span is exported.
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/span_sink.h"
#include "driver/load_driver.h"
#include "driver/schedule.h"
#include "propagation/baggage.h"
#include "tests/driver/grpc_loopback_server.h"
#include "tests/support/loopback_server.h"
#include "topology/ground_truth.h"
#include "topology/service_target.h"

namespace tracerig {
namespace {

using test_support::CaptureServer;
using test_support::GrpcAnswer;
using test_support::GrpcLoopbackServer;

constexpr uint64_t kMillisecond = 1'000'000;
constexpr uint64_t kRequests = 4;

// Every header a trace-context format writes: whatever a row does not expect must be absent.
const std::vector<std::string> kContextHeaders = {
    "traceparent",   "tracestate",   "b3",         "x-b3-traceid",
    "x-b3-spanid",   "x-b3-sampled", "x-b3-flags", "x-b3-parentspanid",
    "uber-trace-id", "baggage",
};
const std::vector<std::string_view> kGroundTruthHeaders = {kRequestIdHeader, kSequenceHeader,
                                                           kHopHeader, kOffsetHeader};

using Formats = std::optional<std::vector<std::string>>;

struct EntryCase {
  std::string name;
  std::vector<std::string> service_extract;  // the entry service's formats
  Formats inject;                            // LoadEntry::inject
  EntrySampling sampled;
  std::string tracestate;
  std::string baggage;
  // Header -> value, with {T} for the ledger's trace id and {S} for its root span id (hex).
  std::map<std::string, std::string> expected;
};

void PrintTo(const EntryCase& c, std::ostream* os) { *os << c.name; }

std::string Fill(std::string text, const LedgerEntry& e) {
  for (auto [key, value] : {std::pair<std::string, std::string>{"{T}", e.trace_id.ToHex()},
                            {"{S}", e.root_span_id.ToHex()}}) {
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key)) {
      text.replace(at, key.size(), value);
    }
  }
  return text;
}

std::vector<EntryCase> EntryCases() {
  using S = EntrySampling;
  const std::vector<std::string> w3c = {"tracecontext"};
  const std::string tp = "00-{T}-{S}-";
  const std::string b3 = "{T}-{S}-";
  const std::string uber = "{T}:{S}:0:";
  return {
      // Unset inject: the entry service's extract formats.
      {"DefaultIsServiceFormatsSampled",
       w3c,
       std::nullopt,
       S::kSampled,
       "",
       "",
       {{"traceparent", tp + "01"}}},
      {"DefaultFollowsServiceB3Multi",
       {"b3multi"},
       std::nullopt,
       S::kSampled,
       "",
       "",
       {{"x-b3-traceid", "{T}"}, {"x-b3-spanid", "{S}"}, {"x-b3-sampled", "1"}}},
      {"DefaultFormatsWithDebug",
       {"jaeger"},
       std::nullopt,
       S::kDebug,
       "",
       "",
       {{"uber-trace-id", uber + "3"}}},
      {"InjectOverridesServiceFormats",
       {"b3multi"},
       Formats{w3c},
       S::kSampled,
       "",
       "",
       {{"traceparent", tp + "01"}}},
      // W3C: no debug flag, debug goes as sampled.
      {"W3cNotSampled", w3c, Formats{w3c}, S::kNotSampled, "", "", {{"traceparent", tp + "00"}}},
      {"W3cDebugIsSampled", w3c, Formats{w3c}, S::kDebug, "", "", {{"traceparent", tp + "01"}}},
      // B3 single.
      {"B3Sampled", w3c, Formats{{"b3"}}, S::kSampled, "", "", {{"b3", b3 + "1"}}},
      {"B3NotSampled", w3c, Formats{{"b3"}}, S::kNotSampled, "", "", {{"b3", b3 + "0"}}},
      {"B3Debug", w3c, Formats{{"b3"}}, S::kDebug, "", "", {{"b3", b3 + "d"}}},
      // B3 multi: debug is X-B3-Flags: 1 without X-B3-Sampled.
      {"B3MultiSampled",
       w3c,
       Formats{{"b3multi"}},
       S::kSampled,
       "",
       "",
       {{"x-b3-traceid", "{T}"}, {"x-b3-spanid", "{S}"}, {"x-b3-sampled", "1"}}},
      {"B3MultiNotSampled",
       w3c,
       Formats{{"b3multi"}},
       S::kNotSampled,
       "",
       "",
       {{"x-b3-traceid", "{T}"}, {"x-b3-spanid", "{S}"}, {"x-b3-sampled", "0"}}},
      {"B3MultiDebug",
       w3c,
       Formats{{"b3multi"}},
       S::kDebug,
       "",
       "",
       {{"x-b3-traceid", "{T}"}, {"x-b3-spanid", "{S}"}, {"x-b3-flags", "1"}}},
      // Jaeger: debug is flags 0x3.
      {"JaegerSampled",
       w3c,
       Formats{{"jaeger"}},
       S::kSampled,
       "",
       "",
       {{"uber-trace-id", uber + "1"}}},
      {"JaegerNotSampled",
       w3c,
       Formats{{"jaeger"}},
       S::kNotSampled,
       "",
       "",
       {{"uber-trace-id", uber + "0"}}},
      {"JaegerDebug", w3c, Formats{{"jaeger"}}, S::kDebug, "", "", {{"uber-trace-id", uber + "3"}}},
      // Several formats at once.
      {"AllFormatsDebug",
       w3c,
       Formats{{"tracecontext", "b3", "b3multi", "jaeger"}},
       S::kDebug,
       "",
       "",
       {{"traceparent", tp + "01"},
        {"b3", b3 + "d"},
        {"x-b3-traceid", "{T}"},
        {"x-b3-spanid", "{S}"},
        {"x-b3-flags", "1"},
        {"uber-trace-id", uber + "3"}}},
      {"AllFormatsNotSampled",
       w3c,
       Formats{{"jaeger", "b3", "tracecontext"}},
       S::kNotSampled,
       "",
       "",
       {{"traceparent", tp + "00"}, {"b3", b3 + "0"}, {"uber-trace-id", uber + "0"}}},
      // tracestate and baggage to start with: sent by the formats that carry them.
      {"TracestatePassedThrough",
       w3c,
       Formats{w3c},
       S::kSampled,
       "rojo=00f067aa0ba902b7,congo=t61",
       "",
       {{"traceparent", tp + "01"}, {"tracestate", "rojo=00f067aa0ba902b7,congo=t61"}}},
      {"TracestateWithUnsampledFlag",
       w3c,
       Formats{w3c},
       S::kNotSampled,
       "vendor=x",
       "",
       {{"traceparent", tp + "00"}, {"tracestate", "vendor=x"}}},
      {"TracestateNeedsTracecontext",
       w3c,
       Formats{{"b3"}},
       S::kSampled,
       "vendor=x",
       "",
       {{"b3", b3 + "1"}}},
      {"BaggagePassedThrough",
       w3c,
       Formats{{"tracecontext", "baggage"}},
       S::kSampled,
       "",
       "user=alice,tier=gold;prop=1",
       {{"traceparent", tp + "01"}, {"baggage", "user=alice,tier=gold;prop=1"}}},
      {"BaggageWithoutIdsFormats",
       w3c,
       Formats{{"baggage"}},
       S::kSampled,
       "",
       "user=alice",
       {{"baggage", "user=alice"}}},
      {"BaggageNeedsBaggageFormat",
       w3c,
       Formats{{"jaeger"}},
       S::kSampled,
       "",
       "user=alice",
       {{"uber-trace-id", uber + "1"}}},
      {"TracestateAndBaggageWithB3Debug",
       w3c,
       Formats{{"b3", "tracecontext", "baggage"}},
       S::kDebug,
       "vendor=x",
       "k=v",
       {{"b3", b3 + "d"},
        {"traceparent", tp + "01"},
        {"tracestate", "vendor=x"},
        {"baggage", "k=v"}}},
      // inject = []: no trace context at all (the entry starts the trace), the ground truth still.
      {"NoContextSampled", w3c, Formats{std::vector<std::string>{}}, S::kSampled, "", "", {}},
      {"NoContextNotSampled", w3c, Formats{std::vector<std::string>{}}, S::kNotSampled, "", "", {}},
      {"NoContextDebug", w3c, Formats{std::vector<std::string>{}}, S::kDebug, "", "", {}},
      {"NoContextIgnoresTracestateAndBaggage",
       w3c,
       Formats{std::vector<std::string>{}},
       S::kSampled,
       "vendor=x",
       "k=v",
       {}},
  };
}

Scenario OneEntry(const EntryCase& c, Protocol protocol) {
  Scenario scenario;
  scenario.name = "entry-context-test";
  Service service;
  service.name = "svc";
  service.protocol = protocol;
  service.extract = c.service_extract;
  scenario.services.push_back(service);
  scenario.load.model = LoadModel::kCount;
  scenario.load.requests = kRequests;
  scenario.load.rate = 1000;
  scenario.load.duration_ns = kRequests * kMillisecond;
  LoadEntry entry{"svc", protocol == Protocol::kGrpc ? "GetStock" : "GET /hello", 1.0};
  entry.inject = c.inject;
  entry.sampled = c.sampled;
  entry.tracestate = c.tracestate;
  entry.baggage = c.baggage;
  scenario.load.entries = {entry};
  return scenario;
}

DriverResult Drive(const Scenario& scenario, std::vector<ServiceTarget> targets, SpanSink& sink,
                   uint64_t first_sequence = 0) {
  auto schedule = MakeSchedule(scenario.load, 1);
  EXPECT_TRUE(schedule) << schedule.error().message;
  DriverOptions options;
  options.threads = 2;
  options.id_seed = 17;
  options.first_sequence = first_sequence;
  LoadDriver driver(scenario, std::move(targets), std::move(*schedule), sink,
                    SystemClock::Instance(), options);
  std::atomic<bool> stop{false};
  return driver.Run(stop);
}

// The ledger says what was sent; the sink holds the root spans, exported only when sampled.
void ExpectLedgerAndRootSpans(const EntryCase& c, const DriverResult& result,
                              const InMemorySpanSink& sink) {
  const bool sampled = c.sampled != EntrySampling::kNotSampled;
  ASSERT_EQ(result.ledger.size(), kRequests);
  for (const LedgerEntry& e : result.ledger) {
    EXPECT_EQ(e.outcome, RequestOutcome::kOk);
    EXPECT_EQ(e.sampled, sampled) << "request " << e.sequence;
  }
  const std::vector<Span> spans = sink.spans();
  ASSERT_EQ(spans.size(), sampled ? kRequests : 0u);
  std::map<std::string, const LedgerEntry*> by_trace;
  for (const LedgerEntry& e : result.ledger) by_trace[e.trace_id.ToHex()] = &e;
  for (const Span& root : spans) {
    EXPECT_EQ(root.kind, SpanKind::kClient);
    EXPECT_EQ(root.flags, 0x01u);
    ASSERT_TRUE(by_trace.count(root.trace_id.ToHex())) << root.trace_id.ToHex();
    EXPECT_EQ(root.span_id, by_trace[root.trace_id.ToHex()]->root_span_id);
  }
}

// What one request carried, header name (lowercase) -> every value.
using Received = std::map<std::string, std::vector<std::string>>;

void ExpectHeaders(const EntryCase& c, const LedgerEntry& e, const Received& got) {
  for (std::string_view name : kGroundTruthHeaders) {
    auto it = got.find(std::string(name));
    EXPECT_TRUE(it != got.end() && it->second.size() == 1) << "ground truth " << name;
  }
  EXPECT_EQ(got.at(std::string(kSequenceHeader)).front(), std::to_string(e.sequence));
  EXPECT_EQ(got.at(std::string(kRequestIdHeader)).front(), FormatRequestId(e.request_id));
  for (const std::string& name : kContextHeaders) {
    auto want = c.expected.find(name);
    auto it = got.find(name);
    if (want == c.expected.end()) {
      EXPECT_TRUE(it == got.end()) << name << " sent: " << it->second.front();
      continue;
    }
    ASSERT_TRUE(it != got.end()) << name << " missing";
    EXPECT_EQ(it->second, std::vector<std::string>{Fill(want->second, e)}) << name;
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

class HttpEntryContextTest : public testing::TestWithParam<EntryCase> {};

TEST_P(HttpEntryContextTest, SendsWhatTheEntrySays) {
  const EntryCase& c = GetParam();
  CaptureServer server;
  const Scenario scenario = OneEntry(c, Protocol::kHttp);
  InMemorySpanSink sink;
  const DriverResult result = Drive(scenario, {server.endpoint()}, sink);
  ExpectLedgerAndRootSpans(c, result, sink);
  const std::vector<HttpRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), kRequests);
  for (const HttpRequest& r : requests) {
    Received got;
    for (const auto& field : r) {
      const beast::string_view name = field.name_string();
      got[Lower(std::string_view(name.data(), name.size()))].emplace_back(field.value());
    }
    const uint64_t seq = std::stoull(got[std::string(kSequenceHeader)].at(0));
    ASSERT_LT(seq, result.ledger.size());
    SCOPED_TRACE("request " + std::to_string(seq));
    ExpectHeaders(c, result.ledger[seq], got);
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, HttpEntryContextTest, testing::ValuesIn(EntryCases()),
                         [](const auto& info) { return info.param.name; });

// Load in rounds (`tracerig canary`): each round numbers its requests on from the last, so the
// ids, the ground truth sent and the ledger never repeat a request of an earlier round.
TEST(RoundsOfLoadTest, FirstSequenceNumbersTheRequestsOnWithFreshIds) {
  const EntryCase c = EntryCases().front();
  CaptureServer server;
  const Scenario scenario = OneEntry(c, Protocol::kHttp);
  InMemorySpanSink sink;
  const DriverResult first = Drive(scenario, {server.endpoint()}, sink);
  const DriverResult second = Drive(scenario, {server.endpoint()}, sink, kRequests);
  ASSERT_EQ(first.ledger.size(), kRequests);
  ASSERT_EQ(second.ledger.size(), kRequests);
  std::set<std::string> trace_ids;
  std::set<uint64_t> request_ids;
  for (size_t i = 0; i < kRequests; ++i) {
    EXPECT_EQ(first.ledger[i].sequence, i);
    EXPECT_EQ(second.ledger[i].sequence, kRequests + i);
  }
  for (const DriverResult* r : {&first, &second}) {
    for (const LedgerEntry& e : r->ledger) {
      trace_ids.insert(e.trace_id.ToHex());
      request_ids.insert(e.request_id);
    }
  }
  EXPECT_EQ(trace_ids.size(), 2 * kRequests);
  EXPECT_EQ(request_ids.size(), 2 * kRequests);
  std::set<std::string> sequences_sent;
  for (const HttpRequest& r : server.requests()) {
    sequences_sent.insert(std::string(r[std::string(kSequenceHeader)]));
  }
  EXPECT_EQ(sequences_sent.size(), 2 * kRequests);
  EXPECT_TRUE(sequences_sent.count(std::to_string(2 * kRequests - 1)));
}

class GrpcEntryContextTest : public testing::TestWithParam<EntryCase> {};

TEST_P(GrpcEntryContextTest, SendsWhatTheEntrySays) {
  const EntryCase& c = GetParam();
  GrpcLoopbackServer server(GrpcAnswer::kOk);
  const Scenario scenario = OneEntry(c, Protocol::kGrpc);
  InMemorySpanSink sink;
  const DriverResult result = Drive(scenario, {server.endpoint()}, sink);
  ExpectLedgerAndRootSpans(c, result, sink);
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), kRequests);
  for (const auto& [seq, inbound] : seen) {
    SCOPED_TRACE("call " + seq);
    EXPECT_EQ(inbound.route, "GetStock");
    Received got;
    for (const auto& [key, value] : inbound.metadata) got[key].push_back(value);
    const uint64_t n = std::stoull(seq);
    ASSERT_LT(n, result.ledger.size());
    ExpectHeaders(c, result.ledger[n], got);
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, GrpcEntryContextTest, testing::ValuesIn(EntryCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// External entries: tracerig's ground truth is merged into what the entry starts with.

Scenario ExternalEntry(const std::string& url, Formats inject, EntrySampling sampled,
                       std::string tracestate, std::string baggage) {
  EntryCase c{"",      {"tracecontext"},      std::move(inject),
              sampled, std::move(tracestate), std::move(baggage),
              {}};
  Scenario scenario = OneEntry(c, Protocol::kHttp);
  scenario.services[0].external_url = url;
  return scenario;
}

std::vector<ServiceTarget> TargetsOf(const Scenario& scenario) {
  auto targets = ResolveEntryTargets(scenario, [](std::string_view service) {
    ADD_FAILURE() << "asked for the bound endpoint of " << service;
    return std::optional<tcp::endpoint>();
  });
  EXPECT_TRUE(targets) << (targets ? "" : targets.error().message);
  return targets ? std::move(*targets) : std::vector<ServiceTarget>{};
}

std::string Header(const HttpRequest& request, std::string_view name) {
  auto it = request.find(beast::string_view(name.data(), name.size()));
  return it == request.end() ? "<missing>" : std::string(it->value());
}

std::map<std::string, std::string> BaggageOf(const HttpRequest& request) {
  std::map<std::string, std::string> members;
  for (const BaggageMember& m : ParseBaggage({Header(request, kBaggageHeader)})) {
    members[m.key] = m.value;
  }
  return members;
}

TEST(ExternalEntryContextTest, GroundTruthMergedIntoTheEntrysTracestateAndBaggage) {
  CaptureServer server;
  const Scenario scenario = ExternalEntry(server.url(), Formats{{"tracecontext"}},
                                          EntrySampling::kDebug, "vendor=x,other=y", "user=alice");
  InMemorySpanSink sink;
  const DriverResult result = Drive(scenario, TargetsOf(scenario), sink);
  ASSERT_EQ(result.ok, kRequests);
  EXPECT_EQ(sink.size(), kRequests);
  const std::vector<HttpRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), kRequests);
  for (const HttpRequest& r : requests) {
    const std::string request_id = Header(r, kRequestIdHeader);
    const LedgerEntry& e = result.ledger.at(std::stoull(Header(r, kSequenceHeader)));
    EXPECT_TRUE(e.sampled);
    EXPECT_EQ(Header(r, "traceparent"), Fill("00-{T}-{S}-01", e));
    EXPECT_EQ(Header(r, "tracestate"), "tracerig=" + request_id + ",vendor=x,other=y");
    const auto baggage = BaggageOf(r);
    EXPECT_EQ(baggage.size(), 5u) << Header(r, kBaggageHeader);
    EXPECT_EQ(baggage.at("user"), "alice");
    EXPECT_EQ(baggage.at(std::string(kRequestIdBaggageKey)), request_id);
  }
}

TEST(ExternalEntryContextTest, NoContextStillSendsTheGroundTruthBaggage) {
  CaptureServer server;
  const Scenario scenario = ExternalEntry(server.url(), Formats{std::vector<std::string>{}},
                                          EntrySampling::kSampled, "vendor=x", "");
  InMemorySpanSink sink;
  const DriverResult result = Drive(scenario, TargetsOf(scenario), sink);
  ASSERT_EQ(result.ok, kRequests);
  EXPECT_EQ(sink.size(), kRequests);
  for (const HttpRequest& r : server.requests()) {
    for (const std::string& name : kContextHeaders) {
      if (name != "baggage") {
        EXPECT_EQ(Header(r, name), "<missing>") << name;
      }
    }
    const auto baggage = BaggageOf(r);
    EXPECT_EQ(baggage.size(), 4u) << Header(r, kBaggageHeader);
    EXPECT_EQ(baggage.at(std::string(kRequestIdBaggageKey)), Header(r, kRequestIdHeader));
  }
}

TEST(ExternalEntryContextTest, NotSampledKeepsTheGroundTruthAndExportsNoRootSpan) {
  CaptureServer server;
  const Scenario scenario =
      ExternalEntry(server.url(), std::nullopt, EntrySampling::kNotSampled, "", "");
  InMemorySpanSink sink;
  const DriverResult result = Drive(scenario, TargetsOf(scenario), sink);
  ASSERT_EQ(result.ok, kRequests);
  EXPECT_EQ(sink.size(), 0u);
  for (const HttpRequest& r : server.requests()) {
    const LedgerEntry& e = result.ledger.at(std::stoull(Header(r, kSequenceHeader)));
    EXPECT_FALSE(e.sampled);
    EXPECT_EQ(Header(r, "traceparent"), Fill("00-{T}-{S}-00", e));
    EXPECT_EQ(Header(r, "tracestate"), "tracerig=" + Header(r, kRequestIdHeader));
    EXPECT_EQ(BaggageOf(r).size(), 4u);
  }
}

}  // namespace
}  // namespace tracerig
