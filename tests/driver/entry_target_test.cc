// The pure parts of external entry targets: which routes name a full gRPC method, and the ground
// truth as baggage members.
#include "topology/service_target.h"

#include <gtest/gtest.h>

#include "propagation/baggage.h"
#include "topology/external_in_flight.h"

namespace tracerig {
namespace {

TEST(EntryTargetTest, FullGrpcMethods) {
  struct Case {
    std::string_view route;
    std::optional<GrpcMethodName> want;
  };
  const Case cases[] = {
      {"shop.v1.Cart/GetCart", GrpcMethodName{"/shop.v1.Cart/GetCart", "shop.v1.Cart", "GetCart"}},
      {"/shop.v1.Cart/GetCart", GrpcMethodName{"/shop.v1.Cart/GetCart", "shop.v1.Cart", "GetCart"}},
      {"Cart/Get", GrpcMethodName{"/Cart/Get", "Cart", "Get"}},
      {"GetCart", std::nullopt},  // a plain route name: SimService/Call
      {"/GetCart", std::nullopt},
      {"shop.v1.Cart/", std::nullopt},
      {"/shop.v1.Cart", std::nullopt},
      {"a/b/c", std::nullopt},
      {"GET /checkout", std::nullopt},
      {"", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.route));
    const auto got = FullGrpcMethod(c.route);
    ASSERT_EQ(got.has_value(), c.want.has_value());
    if (!got) continue;
    EXPECT_EQ(got->path, c.want->path);
    EXPECT_EQ(got->service, c.want->service);
    EXPECT_EQ(got->method, c.want->method);
  }
}

// What the driver sends into an external entry (hop 0), with no baggage of its own.
TEST(EntryTargetTest, GroundTruthBaggageIsValidBaggage) {
  const std::string baggage = WithGroundTruthBaggage({}, "00f067aa0ba902b7", "42", "0", "1500000");
  EXPECT_EQ(baggage,
            "tracerig.request_id=00f067aa0ba902b7,tracerig.seq=42,tracerig.hop=0,"
            "tracerig.offset=1500000");
  EXPECT_EQ(NormaliseBaggage({baggage}), baggage);  // nothing dropped or re-encoded
}

}  // namespace
}  // namespace tracerig
