// The batch log: which batch processed which delivery, kept within its capacity (the oldest
// batches forgotten, never a wrong answer for a delivery whose batch is gone).
#include "topology/batch_log.h"

#include <gtest/gtest.h>

#include <string>

namespace tracerig {
namespace {

BatchRecord Batch(uint64_t n, std::initializer_list<std::string> request_ids) {
  BatchRecord r;
  r.service = "billing";
  r.queue = "orders";
  r.trace_id = TraceId{n + 1, n + 1};
  r.span_id = SpanId{n + 1};
  for (const std::string& id : request_ids) r.members.push_back({id, "0.0"});
  return r;
}

TEST(BatchLogTest, FindsTheBatchOfEachDelivery) {
  BatchLog log;
  log.Add(Batch(0, {"a", "b"}));
  log.Add(Batch(1, {"c"}));
  ASSERT_TRUE(log.Find("b", "0.0").has_value());
  EXPECT_EQ(log.Find("b", "0.0")->span_id, SpanId{1});
  EXPECT_EQ(log.Find("c", "0.0")->span_id, SpanId{2});
  EXPECT_FALSE(log.Find("c", "0.0d1").has_value());
  EXPECT_FALSE(log.Find("z", "0.0").has_value());
  EXPECT_EQ(log.size(), 2u);
  EXPECT_EQ(log.forgotten(), 0u);
}

TEST(BatchLogTest, ForgetsTheOldestBeyondItsCapacity) {
  BatchLog log(2);
  log.Add(Batch(0, {"a", "b"}));
  log.Add(Batch(1, {"c"}));
  log.Add(Batch(2, {"d"}));
  EXPECT_EQ(log.size(), 2u);
  EXPECT_EQ(log.forgotten(), 1u);
  EXPECT_FALSE(log.Find("a", "0.0").has_value());
  EXPECT_FALSE(log.Find("b", "0.0").has_value());
  EXPECT_EQ(log.Find("c", "0.0")->span_id, SpanId{2});
  EXPECT_EQ(log.Find("d", "0.0")->span_id, SpanId{3});
  // A delivery seen again in a later batch (a redelivery under the same hop) keeps its latest
  // batch when the earlier one is forgotten.
  log.Add(Batch(3, {"d"}));
  log.Add(Batch(4, {"e"}));
  EXPECT_EQ(log.Find("d", "0.0")->span_id, SpanId{4});
  EXPECT_FALSE(log.Find("c", "0.0").has_value());
}

}  // namespace
}  // namespace tracerig
