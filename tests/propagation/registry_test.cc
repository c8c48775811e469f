// MakePropagator: format names as scenarios spell them, and the exact errors for bad lists.
#include "propagation/registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "propagation/b3.h"
#include "propagation/b3multi.h"
#include "propagation/baggage.h"
#include "propagation/composite.h"
#include "propagation/jaeger.h"
#include "propagation/w3c.h"

namespace tracerig {
namespace {

constexpr std::string_view kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(RegistryTest, KnownFormats) {
  EXPECT_EQ(KnownPropagationFormats(),
            (std::vector<std::string_view>{"tracecontext", "baggage", "b3", "b3multi", "jaeger"}));
}

TEST(RegistryTest, TracecontextIsTheW3cPropagator) {
  auto propagator = MakePropagator({"tracecontext"});
  ASSERT_TRUE(propagator.ok()) << propagator.error().message;
  ASSERT_NE(propagator->get(), nullptr);
  EXPECT_NE(dynamic_cast<const W3cTraceContextPropagator*>(propagator->get()), nullptr);

  HeaderList in{{"traceparent", std::string(kTraceparent)}};
  const SpanContext context = (*propagator)->Extract(in);
  ASSERT_TRUE(context.IsValid());
  HeaderList out;
  (*propagator)->Inject(context, out);
  EXPECT_EQ(out.fields(), in.fields());
}

struct SingleFormatCase {
  std::string name;
  bool (*is_expected_type)(const Propagator*);
  HeaderList headers;  // what the format itself injects for kContext
};

template <typename P>
bool Is(const Propagator* p) {
  return dynamic_cast<const P*>(p) != nullptr;
}

const SpanContext kContext{TraceId{0x4bf92f3577b34da6ull, 0xa3ce929d0e0e4736ull},
                           SpanId{0x00f067aa0ba902b7ull}, 0x01, "", "k=1"};

class RegistrySingleFormatTest : public testing::TestWithParam<SingleFormatCase> {};

TEST_P(RegistrySingleFormatTest, GivesThatFormatsPropagator) {
  const SingleFormatCase& c = GetParam();
  auto propagator = MakePropagator({c.name});
  ASSERT_TRUE(propagator.ok()) << propagator.error().message;
  EXPECT_TRUE(c.is_expected_type(propagator->get()));
  HeaderList out;
  (*propagator)->Inject(kContext, out);
  EXPECT_EQ(out.fields(), c.headers.fields());
}

INSTANTIATE_TEST_SUITE_P(
    Rows, RegistrySingleFormatTest,
    testing::Values(SingleFormatCase{"tracecontext",
                                     &Is<W3cTraceContextPropagator>,
                                     {{"traceparent", std::string(kTraceparent)}}},
                    SingleFormatCase{"baggage", &Is<BaggagePropagator>, {{"baggage", "k=1"}}},
                    SingleFormatCase{
                        "b3",
                        &Is<B3SinglePropagator>,
                        {{"b3", "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"}}},
                    SingleFormatCase{"b3multi",
                                     &Is<B3MultiPropagator>,
                                     {{"x-b3-traceid", "4bf92f3577b34da6a3ce929d0e0e4736"},
                                      {"x-b3-spanid", "00f067aa0ba902b7"},
                                      {"x-b3-sampled", "1"}}},
                    SingleFormatCase{"jaeger",
                                     &Is<JaegerPropagator>,
                                     {{"uber-trace-id",
                                       "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1"}}}),
    [](const auto& info) { return info.param.name; });

// Both B3 forms present with different ids: the single header wins whichever is listed first.
const HeaderList kBothB3Forms{{"x-b3-traceid", "0000000000000000000000000000000a"},
                              {"x-b3-spanid", "000000000000000a"},
                              {"b3", "0000000000000000000000000000000b-000000000000000b-1"}};

TEST(RegistryTest, B3SinglePreferredOverMultiInEitherOrder) {
  for (const auto& formats : std::vector<std::vector<std::string>>{
           {"b3", "b3multi"}, {"b3multi", "b3"}, {"b3multi", "jaeger", "b3"}}) {
    auto propagator = MakePropagator(formats);
    ASSERT_TRUE(propagator.ok()) << propagator.error().message;
    const SpanContext context = (*propagator)->Extract(kBothB3Forms);
    ASSERT_TRUE(context.IsValid());
    EXPECT_EQ(context.span_id, SpanId{0xb}) << formats.front();
  }
  // Only the multi form present: b3multi still reads it.
  auto propagator = MakePropagator({"b3multi", "b3"});
  ASSERT_TRUE(propagator.ok());
  const HeaderList multi_only{{"x-b3-traceid", "0000000000000000000000000000000a"},
                              {"x-b3-spanid", "000000000000000a"}};
  EXPECT_EQ((*propagator)->Extract(multi_only).span_id, SpanId{0xa});
}

TEST(RegistryTest, OtherFormatsKeepListedOrder) {
  // tracecontext listed before b3: its (different) ids win.
  const HeaderList headers{{"b3", "0000000000000000000000000000000b-000000000000000b-1"},
                           {"traceparent", std::string(kTraceparent)}};
  auto w3c_first = MakePropagator({"tracecontext", "b3"});
  auto b3_first = MakePropagator({"b3", "tracecontext"});
  ASSERT_TRUE(w3c_first.ok() && b3_first.ok());
  EXPECT_EQ((*w3c_first)->Extract(headers).span_id, SpanId{0x00f067aa0ba902b7ull});
  EXPECT_EQ((*b3_first)->Extract(headers).span_id, SpanId{0xb});
}

TEST(RegistryTest, AllFormatsTogetherMergeBaggageAndInjectEveryHeader) {
  auto propagator = MakePropagator({"tracecontext", "baggage", "b3", "b3multi", "jaeger"});
  ASSERT_TRUE(propagator.ok()) << propagator.error().message;
  const HeaderList in{{"uber-trace-id", "a:b:0:1"}, {"baggage", "user=alice"}};
  const SpanContext context = (*propagator)->Extract(in);
  ASSERT_TRUE(context.IsValid());
  EXPECT_EQ(context.trace_id, (TraceId{0, 0xa}));
  EXPECT_EQ(context.span_id, SpanId{0xb});
  EXPECT_EQ(context.baggage, "user=alice");
  HeaderList out;
  (*propagator)->Inject(context, out);
  std::vector<std::string> names;
  for (const auto& field : out.fields()) names.push_back(field.first);
  EXPECT_EQ(names, (std::vector<std::string>{"traceparent", "baggage", "b3", "x-b3-traceid",
                                             "x-b3-spanid", "x-b3-sampled", "uber-trace-id"}));
}

TEST(RegistryTest, EmptyListPropagatesNothing) {
  auto propagator = MakePropagator({});
  ASSERT_TRUE(propagator.ok()) << propagator.error().message;
  const HeaderList in{{"traceparent", std::string(kTraceparent)}};
  EXPECT_FALSE((*propagator)->Extract(in).IsValid());
  HeaderList out;
  (*propagator)->Inject({TraceId{0, 1}, SpanId{2}, 0x01, ""}, out);
  EXPECT_TRUE(out.fields().empty());
}

struct ErrorCase {
  std::string name;
  std::vector<std::string> formats;
  std::string message;
};

const std::string kKnown = "tracecontext, baggage, b3, b3multi, jaeger";

class RegistryErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(RegistryErrorTest, ExactMessage) {
  const ErrorCase& c = GetParam();
  auto propagator = MakePropagator(c.formats);
  ASSERT_FALSE(propagator.ok());
  EXPECT_EQ(propagator.error().message, c.message);
}

INSTANTIATE_TEST_SUITE_P(
    Rows, RegistryErrorTest,
    testing::Values(
        ErrorCase{"Unknown", {"xyz"}, "unknown propagation format \"xyz\" (known: " + kKnown + ")"},
        ErrorCase{"UnknownAfterKnown",
                  {"tracecontext", "b3", "xray"},
                  "unknown propagation format \"xray\" (known: " + kKnown + ")"},
        ErrorCase{"NamesAreCaseSensitive",
                  {"TraceContext"},
                  "unknown propagation format \"TraceContext\" (known: " + kKnown + ")"},
        ErrorCase{"B3UppercaseIsUnknown",
                  {"B3"},
                  "unknown propagation format \"B3\" (known: " + kKnown + ")"},
        ErrorCase{"Empty", {""}, "unknown propagation format \"\" (known: " + kKnown + ")"},
        ErrorCase{"ListedTwice",
                  {"tracecontext", "tracecontext"},
                  "propagation format \"tracecontext\" is listed twice"},
        ErrorCase{
            "B3ListedTwice", {"b3", "b3multi", "b3"}, "propagation format \"b3\" is listed twice"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace tracerig
