// MakePropagator: format names as scenarios spell them, and the exact errors for bad lists.
#include "propagation/registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "propagation/composite.h"
#include "propagation/w3c.h"

namespace tracerig {
namespace {

constexpr std::string_view kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(RegistryTest, KnownFormats) {
  EXPECT_EQ(KnownPropagationFormats(), (std::vector<std::string_view>{"tracecontext"}));
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
        ErrorCase{"Unknown", {"xyz"}, "unknown propagation format \"xyz\" (known: tracecontext)"},
        ErrorCase{"UnknownAfterKnown",
                  {"tracecontext", "b3"},
                  "unknown propagation format \"b3\" (known: tracecontext)"},
        ErrorCase{"NamesAreCaseSensitive",
                  {"TraceContext"},
                  "unknown propagation format \"TraceContext\" (known: tracecontext)"},
        ErrorCase{"Empty", {""}, "unknown propagation format \"\" (known: tracecontext)"},
        ErrorCase{"ListedTwice",
                  {"tracecontext", "tracecontext"},
                  "propagation format \"tracecontext\" is listed twice"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace tracerig
