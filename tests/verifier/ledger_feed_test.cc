// LedgerFeed: how entries are dealt to shards, what Take hands out and when it says no more will
// come, and that the pointers it hands out stay valid while it grows.
#include "verifier/ledger_feed.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tracerig {
namespace {

LedgerEntry Entry(uint64_t sequence, bool sampled = true) {
  LedgerEntry e;
  e.sequence = sequence;
  e.trace_id = TraceId{1, sequence + 1};
  e.sampled = sampled;
  e.intended_unix_nano = 1000 + sequence;
  e.start_unix_nano = 1001 + sequence;
  e.end_unix_nano = 1010 + sequence;
  return e;
}

std::vector<uint64_t> Sequences(const std::vector<const LedgerEntry*>& entries) {
  std::vector<uint64_t> out;
  for (const LedgerEntry* e : entries) out.push_back(e->sequence);
  return out;
}

TEST(LedgerFeedTest, DealsConsecutiveEntriesToEachShardInTurn) {
  LedgerFeed feed(3, 2);
  for (uint64_t i = 0; i < 9; ++i) feed.Add(Entry(i));
  std::vector<const LedgerEntry*> got;
  EXPECT_TRUE(feed.Take(0, got));
  EXPECT_EQ(Sequences(got), (std::vector<uint64_t>{0, 1, 6, 7}));
  got.clear();
  EXPECT_TRUE(feed.Take(1, got));
  EXPECT_EQ(Sequences(got), (std::vector<uint64_t>{2, 3, 8}));
  got.clear();
  EXPECT_TRUE(feed.Take(2, got));
  EXPECT_EQ(Sequences(got), (std::vector<uint64_t>{4, 5}));
  // Taken once: a second Take has nothing new.
  got.clear();
  EXPECT_TRUE(feed.Take(0, got));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(feed.sampled(), 9u);
}

TEST(LedgerFeedTest, UnsampledEntriesAreCountedNotDealt) {
  LedgerFeed feed(1);
  feed.Add(Entry(0));
  feed.Add(Entry(1, /*sampled=*/false));
  feed.Add(Entry(2));
  std::vector<const LedgerEntry*> got;
  feed.Take(0, got);
  EXPECT_EQ(Sequences(got), (std::vector<uint64_t>{0, 2}));
  EXPECT_EQ(feed.sampled(), 2u);
  EXPECT_EQ(feed.skipped_unsampled(), 1u);
  // Their times still widen the span (the backend's dependency window covers every request).
  EXPECT_EQ(feed.TimeSpan(), (std::pair<uint64_t, uint64_t>{1000, 1012}));
}

TEST(LedgerFeedTest, TakeSaysWhenNothingMoreWillCome) {
  LedgerFeed feed(2);
  EXPECT_EQ(feed.TimeSpan(), (std::pair<uint64_t, uint64_t>{0, 0}));
  feed.Add(Entry(0));
  feed.Add(Entry(1));
  feed.Close();
  feed.Add(Entry(2));  // after closing: ignored
  EXPECT_TRUE(feed.closed());
  std::vector<const LedgerEntry*> got;
  // Closed: whatever was left is handed out with the answer that no more will come.
  EXPECT_FALSE(feed.Take(1, got));
  EXPECT_EQ(Sequences(got), (std::vector<uint64_t>{1}));
  EXPECT_FALSE(feed.Take(0, got));
  EXPECT_EQ(Sequences(got), (std::vector<uint64_t>{1, 0}));
  EXPECT_EQ(feed.sampled(), 2u);
}

TEST(LedgerFeedTest, PointersStayValidAcrossChunksAndConcurrentAdds) {
  LedgerFeed feed(2, 1);
  constexpr uint64_t kPerThread = 10'000;  // several chunks
  std::vector<const LedgerEntry*> shard0;
  std::vector<const LedgerEntry*> shard1;
  std::thread a([&] {
    for (uint64_t i = 0; i < kPerThread; ++i) feed.Add(Entry(2 * i));
  });
  std::thread b([&] {
    for (uint64_t i = 0; i < kPerThread; ++i) feed.Add(Entry(2 * i + 1));
  });
  // Taking while the threads add, then once more after they are done.
  for (int k = 0; k < 100; ++k) feed.Take(0, shard0);
  a.join();
  b.join();
  feed.Close();
  EXPECT_FALSE(feed.Take(0, shard0));
  EXPECT_FALSE(feed.Take(1, shard1));
  EXPECT_EQ(shard0.size(), kPerThread);
  EXPECT_EQ(shard1.size(), kPerThread);
  std::vector<int> seen(2 * kPerThread, 0);
  for (const auto* shard : {&shard0, &shard1}) {
    for (const LedgerEntry* e : *shard) {
      ASSERT_LT(e->sequence, seen.size());
      ++seen[e->sequence];
      EXPECT_EQ(e->trace_id, (TraceId{1, e->sequence + 1}));  // what was added, intact
    }
  }
  for (int n : seen) EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace tracerig
