// WireLog: what is kept (bounds, the first half and the recent ring), Find of the latest arrival,
// FromExternal, picking propagation headers from each carrier, and DescribeHeaders' text.
#include "topology/wire_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "net/beast_carrier.h"
#include "propagation/metadata_carrier.h"

namespace tracerig {
namespace {

WireObservation Obs(std::string request_id, std::string hop, std::string service = "payment") {
  WireObservation o;
  o.service = std::move(service);
  o.route = "POST /pay";
  o.request_id = std::move(request_id);
  o.hop = std::move(hop);
  o.source = GroundTruthSource::kHeaders;
  return o;
}

TEST(WireLogTest, KeepsEveryFieldOfAnObservation) {
  WireLog log(16);
  WireObservation o = Obs("00000000000000aa", "0.1");
  o.external_caller = "legacy";
  o.headers = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
               {"tracerig-request-id", "00000000000000aa"}};
  o.has_context = true;
  o.trace_id = TraceId{0x4bf92f3577b34da6ull, 0xa3ce929d0e0e4736ull};
  o.parent_span_id = SpanId{0x00f067aa0ba902b7ull};
  o.sampled = true;
  o.tracestate = "vendor=1";
  o.baggage = "k=v";
  o.received_unix_nano = 42;
  log.Record(o);
  auto found = log.Find("00000000000000aa", "0.1", "payment");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->service, "payment");
  EXPECT_EQ(found->route, "POST /pay");
  EXPECT_EQ(found->external_caller, "legacy");
  EXPECT_EQ(found->source, GroundTruthSource::kHeaders);
  EXPECT_EQ(found->headers, o.headers);
  EXPECT_TRUE(found->has_context);
  EXPECT_EQ(found->trace_id, o.trace_id);
  EXPECT_EQ(found->parent_span_id, o.parent_span_id);
  EXPECT_TRUE(found->sampled);
  EXPECT_EQ(found->tracestate, "vendor=1");
  EXPECT_EQ(found->baggage, "k=v");
  EXPECT_EQ(found->received_unix_nano, 42u);
  // Every part of the key counts.
  EXPECT_FALSE(log.Find("00000000000000aa", "0.1", "checkout"));
  EXPECT_FALSE(log.Find("00000000000000aa", "0.2", "payment"));
  EXPECT_FALSE(log.Find("00000000000000ab", "0.1", "payment"));
  EXPECT_FALSE(log.Find("", "", "payment"));
}

TEST(WireLogTest, BoundsValuesNamesAndHeaderCount) {
  WireLog log(16);
  WireObservation o = Obs("00000000000000aa", "0");
  const std::string long_value(WireLog::kMaxHeaderValue + 50, 'v');
  const std::string long_name = "uberctx-" + std::string(100, 'k');
  o.headers.push_back({"baggage", long_value});
  o.headers.push_back({long_name, "x"});
  for (size_t i = 0; i < WireLog::kMaxHeaders + 5; ++i) {
    o.headers.push_back({"x-b3-flags", std::to_string(i)});
  }
  o.tracestate = long_value;
  log.Record(o);
  auto found = log.Find("00000000000000aa", "0", "payment");
  ASSERT_TRUE(found);
  ASSERT_EQ(found->headers.size(), WireLog::kMaxHeaders);
  EXPECT_EQ(found->headers[0].second, WireLog::Bound(long_value));
  EXPECT_EQ(found->headers[0].second.size(), WireLog::kMaxHeaderValue + 3);
  EXPECT_EQ(found->headers[0].second.substr(WireLog::kMaxHeaderValue), "...");
  EXPECT_EQ(found->headers[1].first, long_name.substr(0, WireLog::kMaxHeaderName));
  EXPECT_EQ(found->headers.back().second, std::to_string(WireLog::kMaxHeaders - 3));
  EXPECT_EQ(found->tracestate, WireLog::Bound(long_value));
  EXPECT_EQ(WireLog::Bound("short"), "short");
}

// Capacity 4: the first two observations stay for good, the last two are a ring.
TEST(WireLogTest, KeepsTheFirstHalfAndARingOfTheMostRecent) {
  WireLog log(4);
  for (int i = 0; i < 7; ++i) log.Record(Obs("000000000000000" + std::to_string(i), "0"));
  EXPECT_EQ(log.size(), 4u);
  EXPECT_EQ(log.forgotten(), 3u);
  EXPECT_EQ(log.capacity(), 4u);
  for (int i : {0, 1, 5, 6}) {
    EXPECT_TRUE(log.Find("000000000000000" + std::to_string(i), "0", "payment")) << i;
  }
  for (int i : {2, 3, 4}) {
    EXPECT_FALSE(log.Find("000000000000000" + std::to_string(i), "0", "payment")) << i;
  }
}

TEST(WireLogTest, CapacityZeroAndOneKeepNothingAndTheLatest) {
  WireLog none(0);
  none.Record(Obs("00000000000000aa", "0"));
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.forgotten(), 1u);
  EXPECT_FALSE(none.Find("00000000000000aa", "0", "payment"));

  WireLog one(1);
  one.Record(Obs("00000000000000aa", "0"));
  one.Record(Obs("00000000000000bb", "0"));
  EXPECT_EQ(one.size(), 1u);
  EXPECT_FALSE(one.Find("00000000000000aa", "0", "payment"));
  EXPECT_TRUE(one.Find("00000000000000bb", "0", "payment"));
}

// The same hop received twice (a resent request): Find answers the latest, in either half, and
// still answers it after older copies are forgotten.
TEST(WireLogTest, FindAnswersTheLatestArrival) {
  WireLog log(4);
  auto with = [](std::string value) {
    WireObservation o = Obs("00000000000000aa", "0.1");
    o.headers = {{"b3", std::move(value)}};
    return o;
  };
  log.Record(with("first"));
  log.Record(with("second"));  // both in the first half
  EXPECT_EQ(log.Find("00000000000000aa", "0.1", "payment")->headers[0].second, "second");
  log.Record(with("third"));  // in the ring
  EXPECT_EQ(log.Find("00000000000000aa", "0.1", "payment")->headers[0].second, "third");
  log.Record(Obs("00000000000000bb", "0"));
  log.Record(Obs("00000000000000cc", "0"));  // "third" is forgotten; "second" is still kept...
  EXPECT_EQ(log.forgotten(), 1u);
  // ... but Find does not fall back to an older copy: it answered "third" before, never "second".
  EXPECT_FALSE(log.Find("00000000000000aa", "0.1", "payment"));
  // A newer copy of an evicted key is found again.
  log.Record(with("fourth"));
  EXPECT_EQ(log.Find("00000000000000aa", "0.1", "payment")->headers[0].second, "fourth");
}

TEST(WireLogTest, FromExternalListsWhatAServiceReceivedBelowItOldestFirst) {
  WireLog log(16);
  for (uint64_t t : {30u, 10u, 20u}) {
    WireObservation o = Obs("", "", "inventory");
    o.external_caller = "legacy";
    o.source = GroundTruthSource::kNone;
    o.received_unix_nano = t;
    log.Record(o);
  }
  WireObservation other = Obs("00000000000000aa", "0.0");
  other.external_caller = "another";
  log.Record(other);
  log.Record(Obs("00000000000000bb", "0.0"));
  const std::vector<WireObservation> below = log.FromExternal("legacy");
  ASSERT_EQ(below.size(), 3u);
  EXPECT_EQ(below[0].received_unix_nano, 10u);
  EXPECT_EQ(below[1].received_unix_nano, 20u);
  EXPECT_EQ(below[2].received_unix_nano, 30u);
  EXPECT_EQ(below[0].service, "inventory");
  EXPECT_TRUE(log.FromExternal("nobody").empty());
  // Observations without a request id are kept (for FromExternal) but never found by key.
  EXPECT_EQ(log.size(), 5u);
}

// Large logs are sharded; the bound still holds (per shard, so within the shard count's
// rounding) and keyed observations recorded from several threads are found.
TEST(WireLogTest, ShardedLogStaysBoundedUnderConcurrentRecording) {
  constexpr size_t kCapacity = 8192;
  WireLog log(kCapacity);
  auto record = [&log](int thread) {
    for (int i = 0; i < 10'000; ++i) {
      char id[17];
      std::snprintf(id, sizeof id, "%08x%08x", thread, i);
      log.Record(Obs(id, "0"));
      WireObservation anonymous = Obs("", "");
      log.Record(anonymous);
    }
  };
  log.Record(Obs("eeeeeeeeeeeeeeee", "0"));
  std::thread a(record, 1);
  std::thread b(record, 2);
  a.join();
  b.join();
  EXPECT_LE(log.size(), kCapacity + 16);
  EXPECT_GE(log.size(), kCapacity / 2);
  EXPECT_EQ(log.size() + log.forgotten(), 40'001u);
  // The first observation is kept for good, and the latest is found.
  EXPECT_TRUE(log.Find("eeeeeeeeeeeeeeee", "0", "payment"));
  log.Record(Obs("ffffffffffffffff", "0"));
  EXPECT_TRUE(log.Find("ffffffffffffffff", "0", "payment"));
}

TEST(WireLogTest, IsPropagationHeader) {
  for (const char* name : {"traceparent", "tracestate", "baggage", "b3", "x-b3-traceid",
                           "x-b3-sampled", "uber-trace-id", "uberctx-user", "jaeger-debug-id",
                           "jaeger-baggage", "tracerig-request-id", "tracerig-hop"}) {
    EXPECT_TRUE(WireLog::IsPropagationHeader(name)) << name;
  }
  for (const char* name :
       {"host", "user-agent", "content-length", "b3x", "x-b3", "traceparents", "Traceparent", ""}) {
    EXPECT_FALSE(WireLog::IsPropagationHeader(name)) << name;
  }
}

TEST(PropagationHeadersTest, PicksLowercasedPropagationHeadersFromAHeaderList) {
  HeaderList list{{"Host", "payment"},     {"TraceParent", "00-aa-bb-01"},
                  {"X-B3-TraceId", "abc"}, {"content-type", "text/plain"},
                  {"tracestate", "a=1"},   {"tracestate", "b=2"}};
  const PropagationHeaders picked(list);
  ASSERT_EQ(picked.fields().size(), 4u);
  EXPECT_EQ(picked.fields()[0].first, "traceparent");
  EXPECT_EQ(picked.fields()[0].second, "00-aa-bb-01");
  EXPECT_EQ(picked.fields()[1].first, "x-b3-traceid");
  EXPECT_EQ(picked.fields()[2].second, "a=1");
  EXPECT_EQ(picked.fields()[3].second, "b=2");  // repeats kept, in order

  HeaderList many;
  for (size_t i = 0; i < WireLog::kMaxHeaders + 3; ++i) many.Add("uberctx-k", std::to_string(i));
  EXPECT_EQ(PropagationHeaders(many).fields().size(), WireLog::kMaxHeaders);
}

TEST(PropagationHeadersTest, EnumeratesBeastHeadersAndGrpcMetadata) {
  http::request<http::string_body> request;
  request.set(http::field::host, "payment");
  request.set("B3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
  request.insert("baggage", "k=v");
  const PropagationHeaders from_beast(BeastHeaderReader<true>(request.base()));
  ASSERT_EQ(from_beast.fields().size(), 2u);
  EXPECT_EQ(from_beast.fields()[0].first, "b3");
  EXPECT_EQ(from_beast.fields()[0].second, "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
  EXPECT_EQ(from_beast.fields()[1].first, "baggage");

  const MetadataPairs metadata = {
      {"traceparent", "00-aa-bb-01"}, {"grpc-accept-encoding", "gzip"}, {"tracerig-hop", "0.1"}};
  const PropagationHeaders from_grpc(MetadataReader{metadata});
  ASSERT_EQ(from_grpc.fields().size(), 2u);
  EXPECT_EQ(from_grpc.fields()[0].first, "traceparent");
  EXPECT_EQ(from_grpc.fields()[1].first, "tracerig-hop");
  EXPECT_EQ(from_grpc.fields()[1].second, "0.1");
}

TEST(DescribeHeadersTest, Table) {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  struct Row {
    Headers headers;
    std::vector<std::string> expected_formats;
    std::string text;
  };
  const std::vector<Row> rows = {
      {{}, {}, "no trace context headers"},
      {{}, {"tracecontext"}, "no trace context headers (no traceparent)"},
      {{}, {"tracecontext", "baggage"}, "no trace context headers (no traceparent)"},
      {{}, {"b3", "jaeger"}, "no trace context headers (no b3, no uber-trace-id)"},
      // tracerig's own headers are no trace context.
      {{{"tracerig-request-id", "00000000000000aa"}, {"tracerig-hop", "0.1"}},
       {"tracecontext"},
       "no trace context headers (no traceparent)"},
      {{{"b3", "80f1-e457-1"}}, {"tracecontext"}, "`b3: 80f1-e457-1` and no traceparent"},
      {{{"b3", "80f1-e457-1"}}, {}, "`b3: 80f1-e457-1`"},
      {{{"b3", "80f1-e457-1"}}, {"b3"}, "`b3: 80f1-e457-1`"},
      {{{"traceparent", "00-aa-bb-01"}, {"tracestate", "v=1"}},
       {"tracecontext", "baggage"},
       "`traceparent: 00-aa-bb-01`, `tracestate: v=1`"},
      {{{"x-b3-traceid", "aa"}, {"x-b3-spanid", "bb"}},
       {"tracecontext", "b3multi", "jaeger"},
       "`x-b3-traceid: aa`, `x-b3-spanid: bb` and no traceparent, no uber-trace-id"},
      {{{"baggage", "k=v"}}, {"tracecontext"}, "`baggage: k=v` and no traceparent"},
      // A format listed twice is said absent once.
      {{}, {"b3", "b3"}, "no trace context headers (no b3)"},
      {{}, {"unknown-format"}, "no trace context headers"},
  };
  for (const Row& row : rows) {
    WireObservation o;
    o.headers = row.headers;
    EXPECT_EQ(o.DescribeHeaders(row.expected_formats), row.text);
  }
}

TEST(WireLogTest, GroundTruthSourceNames) {
  EXPECT_EQ(GroundTruthSourceName(GroundTruthSource::kHeaders), "headers");
  EXPECT_EQ(GroundTruthSourceName(GroundTruthSource::kBaggage), "baggage");
  EXPECT_EQ(GroundTruthSourceName(GroundTruthSource::kSingleInFlight), "single request in flight");
  EXPECT_EQ(GroundTruthSourceName(GroundTruthSource::kNone), "none");
}

}  // namespace
}  // namespace tracerig
