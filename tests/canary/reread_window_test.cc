// The re-read window on a fake clock: one trace per interval per age, due in order, bounded.
#include "canary/reread_window.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace tracerig {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;
constexpr uint64_t kT0 = 1'700'000'000ull * kSecond;

LedgerEntry EntryEndingAt(uint64_t sequence, uint64_t end_unix_nano) {
  LedgerEntry e;
  e.sequence = sequence;
  e.end_unix_nano = end_unix_nano;
  return e;
}

std::vector<uint64_t> Sequences(const std::vector<RereadWindow::Due>& due) {
  std::vector<uint64_t> out;
  for (const auto& d : due) out.push_back(d.entry.sequence);
  return out;
}

TEST(RereadWindowTest, KeepsAtMostOneTracePerIntervalPerAge) {
  RereadWindow window({60 * kSecond}, 10 * kSecond);
  // One trace a second for 30 s: only those offered 10 s apart are kept.
  for (uint64_t s = 0; s < 30; ++s)
    window.Offer(EntryEndingAt(s, kT0 + s * kSecond), kT0 + s * kSecond);
  EXPECT_EQ(window.size(), 3u);
  const auto due = window.TakeDue(kT0 + 200 * kSecond);
  EXPECT_EQ(Sequences(due), (std::vector<uint64_t>{0, 10, 20}));
  EXPECT_EQ(window.size(), 0u);
}

TEST(RereadWindowTest, EachAgeKeepsItsOwnSampleAndIsDueAtTheRequestsEndPlusTheAge) {
  RereadWindow window({60 * kSecond, 900 * kSecond}, 10 * kSecond);
  window.Offer(EntryEndingAt(1, kT0), kT0 + 2 * kSecond);
  ASSERT_EQ(window.size(), 2u);
  EXPECT_EQ(window.NextDueNs(), kT0 + 60 * kSecond);
  EXPECT_TRUE(window.TakeDue(kT0 + 60 * kSecond - 1).empty());
  auto first = window.TakeDue(kT0 + 60 * kSecond);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].age, 0u);
  EXPECT_EQ(first[0].entry.sequence, 1u);
  EXPECT_EQ(window.NextDueNs(), kT0 + 900 * kSecond);
  auto second = window.TakeDue(kT0 + 1000 * kSecond);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].age, 1u);
  EXPECT_EQ(window.NextDueNs(), 0u);
}

TEST(RereadWindowTest, DueTracesComeEarliestFirst) {
  RereadWindow window({60 * kSecond, 120 * kSecond}, kSecond);
  window.Offer(EntryEndingAt(1, kT0 + 30 * kSecond), kT0 + 30 * kSecond);
  window.Offer(EntryEndingAt(2, kT0 + 40 * kSecond), kT0 + 40 * kSecond);
  // Due: 1@90s, 2@100s, 1@150s, 2@160s.
  const auto due = window.TakeDue(kT0 + 1000 * kSecond);
  ASSERT_EQ(due.size(), 4u);
  EXPECT_EQ(Sequences(due), (std::vector<uint64_t>{1, 2, 1, 2}));
  EXPECT_EQ(due[0].age, 0u);
  EXPECT_EQ(due[2].age, 1u);
}

TEST(RereadWindowTest, StaysBoundedWhenNothingIsTaken) {
  RereadWindow window({24 * 3600 * kSecond}, kSecond, /*max_entries=*/100);
  for (uint64_t s = 0; s < 1000; ++s)
    window.Offer(EntryEndingAt(s, kT0 + s * kSecond), kT0 + s * kSecond);
  EXPECT_EQ(window.size(), 100u);
  EXPECT_EQ(window.refused(), 900u);
}

TEST(RereadWindowTest, SizeIsBoundedByAgeOverIntervalInSteadyState) {
  // One trace per second for two hours, taken as due: the 1m age holds about 60 / 10 entries.
  RereadWindow window({60 * kSecond}, 10 * kSecond);
  size_t taken = 0;
  size_t largest = 0;
  for (uint64_t s = 0; s < 7200; ++s) {
    const uint64_t now = kT0 + s * kSecond;
    window.Offer(EntryEndingAt(s, now), now);
    taken += window.TakeDue(now).size();
    largest = std::max(largest, window.size());
  }
  EXPECT_LE(largest, 7u);
  EXPECT_GE(taken, 700u);
}

}  // namespace
}  // namespace tracerig
