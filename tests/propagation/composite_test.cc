// CompositePropagator: the first format with a valid context wins on extraction; injection writes
// every format. A fake format keeps these tests independent of W3C parsing details.
#include "propagation/composite.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "propagation/baggage.h"
#include "propagation/w3c.h"

namespace tracerig {
namespace {

// Reads and writes "<header>: <span id hex>" with a fixed trace id; no header means no context.
class FakePropagator final : public Propagator {
 public:
  explicit FakePropagator(std::string header) : header_(std::move(header)) {}

  SpanContext Extract(const HeaderReader& carrier) const override {
    std::vector<std::string_view> values;
    carrier.GetAll(header_, values);
    if (values.empty()) return {};
    std::optional<SpanId> span = SpanId::FromHex(values.front());
    if (!span) return {};
    return SpanContext{TraceId{0, 1}, *span, 0x01, header_};
  }
  void Inject(const SpanContext& context, HeaderWriter& carrier) const override {
    carrier.Set(header_, context.span_id.ToHex());
  }

 private:
  std::string header_;
};

CompositePropagator MakeComposite(std::vector<std::string> headers) {
  std::vector<std::unique_ptr<Propagator>> propagators;
  for (auto& header : headers) propagators.push_back(std::make_unique<FakePropagator>(header));
  return CompositePropagator(std::move(propagators));
}

TEST(CompositePropagatorTest, FirstValidContextInOrderWins) {
  const CompositePropagator composite = MakeComposite({"x-a", "x-b"});
  const HeaderList headers{{"x-b", "bb"}, {"x-a", "aa"}};
  const SpanContext context = composite.Extract(headers);
  ASSERT_TRUE(context.IsValid());
  EXPECT_EQ(context.span_id, SpanId{0xaa});
  EXPECT_EQ(context.trace_state, "x-a");
}

TEST(CompositePropagatorTest, FallsThroughInvalidContexts) {
  const CompositePropagator composite = MakeComposite({"x-a", "x-b"});
  // x-a is present but invalid (not hex): the next format is tried.
  const HeaderList headers{{"x-a", "not hex"}, {"x-b", "bb"}};
  const SpanContext context = composite.Extract(headers);
  ASSERT_TRUE(context.IsValid());
  EXPECT_EQ(context.span_id, SpanId{0xbb});
  EXPECT_EQ(context.trace_state, "x-b");
}

TEST(CompositePropagatorTest, NoValidContextGivesInvalid) {
  const CompositePropagator composite = MakeComposite({"x-a", "x-b"});
  EXPECT_FALSE(composite.Extract(HeaderList{{"x-c", "cc"}}).IsValid());
}

TEST(CompositePropagatorTest, InjectsEveryFormat) {
  const CompositePropagator composite = MakeComposite({"x-a", "x-b"});
  HeaderList headers;
  composite.Inject({TraceId{0, 1}, SpanId{0x42}, 0x01, ""}, headers);
  EXPECT_EQ(headers.fields(), (std::vector<std::pair<std::string, std::string>>{
                                  {"x-a", "0000000000000042"}, {"x-b", "0000000000000042"}}));
}

TEST(CompositePropagatorTest, WithW3cExtractsTraceparentBeforeFake) {
  std::vector<std::unique_ptr<Propagator>> propagators;
  propagators.push_back(std::make_unique<W3cTraceContextPropagator>());
  propagators.push_back(std::make_unique<FakePropagator>("x-a"));
  const CompositePropagator composite(std::move(propagators));
  const HeaderList headers{
      {"x-a", "aa"}, {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  EXPECT_EQ(composite.Extract(headers).span_id, SpanId{0x00f067aa0ba902b7ull});
  // A restarted W3C trace (duplicate traceparent) falls back to the next format.
  const HeaderList duplicated{
      {"x-a", "aa"},
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  EXPECT_EQ(composite.Extract(duplicated).span_id, SpanId{0xaa});
}

// Carries "<header>: <baggage>" and no ids, like the baggage format.
class FakeBaggagePropagator final : public Propagator {
 public:
  explicit FakeBaggagePropagator(std::string header) : header_(std::move(header)) {}

  SpanContext Extract(const HeaderReader& carrier) const override {
    std::vector<std::string_view> values;
    carrier.GetAll(header_, values);
    SpanContext context;
    if (!values.empty()) context.baggage = std::string(values.front());
    return context;
  }
  void Inject(const SpanContext& context, HeaderWriter& carrier) const override {
    if (!context.baggage.empty()) carrier.Set(header_, context.baggage);
  }

 private:
  std::string header_;
};

struct MergeCase {
  std::string name;
  std::vector<std::string> order;  // "x-a"/"x-b" carry ids, "bag1"/"bag2" carry baggage
  HeaderList headers;
  bool valid;
  uint64_t span = 0;
  std::string baggage;
};

class CompositeMergeTest : public testing::TestWithParam<MergeCase> {};

TEST_P(CompositeMergeTest, IdsFromFirstValidFormatBaggageFromFirstNonEmpty) {
  const MergeCase& c = GetParam();
  std::vector<std::unique_ptr<Propagator>> propagators;
  for (const std::string& name : c.order) {
    if (name.starts_with("bag")) {
      propagators.push_back(std::make_unique<FakeBaggagePropagator>(name));
    } else {
      propagators.push_back(std::make_unique<FakePropagator>(name));
    }
  }
  const SpanContext context = CompositePropagator(std::move(propagators)).Extract(c.headers);
  ASSERT_EQ(context.IsValid(), c.valid);
  if (c.valid) {
    EXPECT_EQ(context.span_id, SpanId{c.span});
    EXPECT_EQ(context.trace_state, c.span == 0xaa ? "x-a" : "x-b");  // which format won
  }
  EXPECT_EQ(context.baggage, c.baggage);
}

INSTANTIATE_TEST_SUITE_P(
    Rows, CompositeMergeTest,
    testing::Values(
        MergeCase{"BaggageAfterIds",
                  {"x-a", "bag1"},
                  {{"x-a", "aa"}, {"bag1", "k=1"}},
                  true,
                  0xaa,
                  "k=1"},
        MergeCase{"BaggageBeforeIds",
                  {"bag1", "x-a"},
                  {{"x-a", "aa"}, {"bag1", "k=1"}},
                  true,
                  0xaa,
                  "k=1"},
        MergeCase{"BaggageBetweenIdFormats",
                  {"x-a", "bag1", "x-b"},
                  {{"x-b", "bb"}, {"bag1", "k=1"}},
                  true,
                  0xbb,
                  "k=1"},
        MergeCase{"FirstValidIdsStillWin",
                  {"bag1", "x-a", "x-b"},
                  {{"x-b", "bb"}, {"x-a", "aa"}, {"bag1", "k=1"}},
                  true,
                  0xaa,
                  "k=1"},
        MergeCase{"BaggageWithoutIds", {"x-a", "bag1"}, {{"bag1", "k=1"}}, false, 0, "k=1"},
        MergeCase{"BaggageWithInvalidIds",
                  {"x-a", "bag1"},
                  {{"x-a", "not hex"}, {"bag1", "k=1"}},
                  false,
                  0,
                  "k=1"},
        MergeCase{"IdsWithoutBaggage", {"x-a", "bag1"}, {{"x-a", "aa"}}, true, 0xaa, ""},
        MergeCase{"FirstNonEmptyBaggageWins",
                  {"bag1", "bag2", "x-a"},
                  {{"bag2", "two=2"}, {"bag1", "one=1"}, {"x-a", "aa"}},
                  true,
                  0xaa,
                  "one=1"},
        MergeCase{"EmptyBaggageFallsThrough",
                  {"bag1", "bag2", "x-a"},
                  {{"bag2", "two=2"}, {"x-a", "aa"}},
                  true,
                  0xaa,
                  "two=2"},
        MergeCase{"Nothing", {"x-a", "bag1"}, {{"x-c", "cc"}}, false, 0, ""}),
    [](const auto& info) { return info.param.name; });

TEST(CompositePropagatorTest, W3cWithBaggageInjectsBothEvenWhenOnlyBaggageIsValid) {
  std::vector<std::unique_ptr<Propagator>> propagators;
  propagators.push_back(std::make_unique<W3cTraceContextPropagator>());
  propagators.push_back(std::make_unique<BaggagePropagator>());
  const CompositePropagator composite(std::move(propagators));
  const HeaderList in{{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                      {"baggage", "k=1"}};
  SpanContext context = composite.Extract(in);
  ASSERT_TRUE(context.IsValid());
  EXPECT_EQ(context.baggage, "k=1");
  HeaderList out;
  composite.Inject(context, out);
  EXPECT_EQ(out.fields(), in.fields());

  HeaderList baggage_only;
  composite.Inject({TraceId{}, SpanId{}, 0, "", "k=1"}, baggage_only);
  EXPECT_EQ(baggage_only.fields(),
            (std::vector<std::pair<std::string, std::string>>{{"baggage", "k=1"}}));
}

TEST(CompositePropagatorTest, NullEntriesAreIgnored) {
  std::vector<std::unique_ptr<Propagator>> propagators;
  propagators.push_back(nullptr);
  propagators.push_back(std::make_unique<FakePropagator>("x-a"));
  propagators.push_back(nullptr);
  const CompositePropagator composite(std::move(propagators));
  EXPECT_EQ(composite.size(), 1u);
  EXPECT_TRUE(composite.Extract(HeaderList{{"x-a", "aa"}}).IsValid());
}

TEST(CompositePropagatorTest, EmptyPropagatesNothing) {
  const CompositePropagator composite({});
  HeaderList headers{{"x-a", "aa"}};
  EXPECT_FALSE(composite.Extract(headers).IsValid());
  composite.Inject({TraceId{0, 1}, SpanId{0x42}, 0x01, ""}, headers);
  EXPECT_EQ(headers.fields().size(), 1u);
}

}  // namespace
}  // namespace tracerig
