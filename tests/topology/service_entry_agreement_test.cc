// The runtime and the per-request expected tree agree on what the driver sends at the root: a
// sampled, unsampled, debug or context-free request, over many seeded requests through a
// topology with every sampling policy (real loopback services).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/ledger.h"
#include "propagation/registry.h"
#include "propagation/w3c.h"
#include "tests/topology/service_runtime_test_support.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"
#include "topology/topology_runtime.h"

namespace tracerig {
namespace {

using runtime_test_support::Attr;
using runtime_test_support::kRootSpan;
using runtime_test_support::kTrace;
using runtime_test_support::Rt;
using runtime_test_support::SendWithContext;
using runtime_test_support::Seq;
using runtime_test_support::Svc;
using runtime_test_support::To;
using K = SamplingPolicy::Kind;

// front (parent-based 0.5) -> cart (ratio 0.5, called with probability 0.5), recs (always) ->
// deep (parent-based), pay (never) -> bank (parent-based). Every service reads B3 first (so a
// debug flag survives), then W3C, and writes both.
Scenario Policies() {
  Call maybe = To("cart", "GetCart");
  maybe.probability = 0.5;
  Scenario s;
  s.seed = 99;
  s.services = {
      Svc("front",
          {Rt("GET /shop", {Seq(maybe), Seq(To("recs", "Recommend")), Seq(To("pay", "Charge"))})}),
      Svc("cart", {Rt("GetCart")}),
      Svc("recs", {Rt("Recommend", {Seq(To("deep", "D"))})}),
      Svc("deep", {Rt("D")}),
      Svc("pay", {Rt("Charge", {Seq(To("bank", "Debit"))})}),
      Svc("bank", {Rt("Debit")})};
  s.services[0].sampling = {K::kParentBased, 0.5};
  s.services[1].sampling = {K::kRatio, 0.5};
  s.services[2].sampling = {K::kAlways, 1};
  s.services[4].sampling = {K::kNever, 1};
  for (Service& service : s.services) service.extract = {"b3", "tracecontext"};
  return s;
}

bool PropagatorsCarryDebug() {
  auto b3 = MakePropagator({"b3"});
  HeaderList in{{"b3", kTrace.ToHex() + "-" + kRootSpan.ToHex() + "-d"}};
  return b3.ok() && (*b3)->Extract(in).debug;
}

struct Variant {
  const char* name;
  LoadEntry entry;
  std::vector<std::pair<std::string, std::string>> headers;  // what such a driver sends
};

std::vector<Variant> Variants() {
  auto entry = [](EntrySampling sampled, bool sends) {
    LoadEntry e{"front", "GET /shop"};
    e.sampled = sampled;
    if (!sends) e.inject = std::vector<std::string>{};
    return e;
  };
  std::vector<Variant> variants = {
      {"sampled",
       entry(EntrySampling::kSampled, true),
       {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 0x01)}}},
      {"not sampled",
       entry(EntrySampling::kNotSampled, true),
       {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 0x00)}}},
      {"no context", entry(EntrySampling::kSampled, false), {}},
      {"no context, driver unsampled", entry(EntrySampling::kNotSampled, false), {}},
  };
  if (PropagatorsCarryDebug()) {
    variants.push_back({"debug",
                        entry(EntrySampling::kDebug, true),
                        {{"b3", kTrace.ToHex() + "-" + kRootSpan.ToHex() + "-d"}}});
  }
  return variants;
}

constexpr uint64_t kPerVariant = 40;

TEST(ServiceEntryAgreementTest, RuntimeAndPerRequestTreeAgreeForEveryRoot) {
  const Scenario s = Policies();
  const std::vector<Variant> variants = Variants();
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  auto started = topology.Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  for (size_t v = 0; v < variants.size(); ++v) {
    for (uint64_t i = 0; i < kPerVariant; ++i) {
      const uint64_t seq = v * 1000 + i;
      EXPECT_EQ(
          SendWithContext(*topology.EndpointOf("front"), "GET /shop", seq, variants[v].headers),
          200u);
    }
  }
  topology.Stop();
  // By request: "hop KIND service" -> the span.
  std::map<std::string, std::map<std::string, Span>> got;
  for (const Span& span : sink.spans()) {
    got[Attr(span, kRequestIdAttribute)][Attr(span, kHopAttribute) + " " +
                                         std::string(SpanKindName(span.kind)) + " " +
                                         span.service_name] = span;
  }
  size_t exported = 0;
  size_t unexported_parents = 0;
  size_t started_traces = 0;
  for (size_t v = 0; v < variants.size(); ++v) {
    SCOPED_TRACE(variants[v].name);
    for (uint64_t i = 0; i < kPerVariant; ++i) {
      const uint64_t seq = v * 1000 + i;
      const ExpectedTree tree = BuildExpectedTree(s, variants[v].entry, seq);
      const auto& spans = got[FormatRequestId(seq + 1)];
      std::set<std::string> want_keys;
      std::set<std::string> got_keys;
      for (const auto& [key, span] : spans) got_keys.insert(key);
      std::vector<std::string> keys;
      for (const ExpectedSpan& e : tree.spans) {
        keys.push_back(e.hop + " " + std::string(SpanKindName(e.kind)) + " " + e.service);
        if (e.service != kDriverServiceName) want_keys.insert(keys.back());
      }
      ASSERT_EQ(got_keys, want_keys) << "request " << seq;
      // Parents: an exported parent is the span's real parent; the driver's is kRootSpan in
      // kTrace; an unexported one is no span of the request.
      for (size_t k = 0; k < tree.spans.size(); ++k) {
        const ExpectedSpan& e = tree.spans[k];
        if (e.service == kDriverServiceName) continue;
        const Span& span = spans.at(keys[k]);
        exported++;
        if (e.starts_trace) {
          started_traces++;
          EXPECT_NE(span.trace_id, kTrace) << keys[k];
          EXPECT_FALSE(span.parent_span_id.IsValid()) << keys[k];
        } else if (e.parent_unexported) {
          unexported_parents++;
          for (const auto& [key, other] : spans) EXPECT_NE(other.span_id, span.parent_span_id);
        } else if (tree.spans[e.parent].service == kDriverServiceName) {
          EXPECT_EQ(span.parent_span_id, kRootSpan) << keys[k];
        } else {
          EXPECT_EQ(span.parent_span_id, spans.at(keys[e.parent]).span_id) << keys[k];
        }
      }
    }
  }
  // The run exercised what it is about.
  EXPECT_GT(exported, 0u);
  EXPECT_GT(unexported_parents, 0u);
  EXPECT_GT(started_traces, 0u);
}

}  // namespace
}  // namespace tracerig
