// The scenario model's lookups and names.
#include "topology/scenario.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

TEST(ScenarioTest, FindServiceAndRoute) {
  Scenario s;
  s.services.resize(2);
  s.services[0].name = "cart";
  s.services[1].name = "payment";
  s.services[1].routes.resize(2);
  s.services[1].routes[0].name = "Charge";
  s.services[1].routes[1].name = "Refund";

  ASSERT_NE(s.FindService("payment"), nullptr);
  EXPECT_EQ(s.FindService("payment"), &s.services[1]);
  EXPECT_EQ(s.FindService("pay"), nullptr);
  EXPECT_EQ(s.FindService(""), nullptr);
  EXPECT_EQ(s.services[1].FindRoute("Refund"), &s.services[1].routes[1]);
  EXPECT_EQ(s.services[1].FindRoute("refund"), nullptr);
  EXPECT_EQ(s.services[0].FindRoute("Charge"), nullptr);
}

TEST(ScenarioTest, SourceLocationToString) {
  EXPECT_EQ((SourceLocation{"scenarios/shop.toml", 14, 9}).ToString(), "scenarios/shop.toml:14:9");
  EXPECT_EQ((SourceLocation{"shop.toml", 0, 0}).ToString(), "shop.toml");
}

TEST(ScenarioTest, FaultKindName) {
  EXPECT_EQ(FaultKindName(FaultKind::kDropContext), "drop-context");
}

}  // namespace
}  // namespace tracerig
