// FormatProgressLine: the exact text of the live progress line, one row per kind of run state.
#include "driver/progress.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tracerig {
namespace {

DriverProgress OpenLoop() {
  DriverProgress p;
  p.elapsed_ns = 3'000'000'000;
  p.total_ns = 10'000'000'000;
  p.scheduled = 600;
  p.sent = 600;
  p.completed = 596;
  p.errors = 0;
  p.in_flight = 4;
  p.current_rate = 199.84;
  p.target_rate = 200;
  p.p99_ns = 12'500'000;
  p.threads = 2;
  return p;
}

struct Row {
  std::string name;
  DriverProgress progress;
  uint64_t spans_exported;
  uint64_t spans_dropped;
  std::string want;
};

std::vector<Row> Rows() {
  std::vector<Row> rows;
  rows.push_back({"open loop on schedule", OpenLoop(), 1800, 0,
                  "load   3.0s/10s  rate 199.8/s (target 200.0/s)  sent 600  in flight 4  queued 0  "
                  "errors 0  p99 12.5ms  spans exported 1800  dropped 0"});
  {
    // A stalled service with bounded connections: sending falls behind the target, requests queue.
    DriverProgress p = OpenLoop();
    p.elapsed_ns = 1'550'000'000;
    p.sent = 208;
    p.queued = 102;
    p.current_rate = 0;
    p.p99_ns = 1'100'000'000;
    p.errors = 3;
    rows.push_back({"stalled and queueing", p, 620, 7,
                    "load   1.6s/10s  rate 0.0/s (target 200.0/s)  sent 208  in flight 4  queued 102  "
                    "errors 3  p99 1.1s  spans exported 620  dropped 7"});
  }
  {
    DriverProgress p = OpenLoop();
    p.elapsed_ns = 40'000'000;
    p.sent = 8;
    p.completed = 0;
    p.p99_ns = 0;
    rows.push_back({"nothing completed yet", p, 0, 0,
                    "load   0.0s/10s  rate 199.8/s (target 200.0/s)  sent 8  in flight 4  queued 0  "
                    "errors 0  p99 -  spans exported 0  dropped 0"});
  }
  {
    DriverProgress p = OpenLoop();
    p.closed_loop = true;
    p.virtual_users = 8;
    p.target_rate = 0;
    p.current_rate = 5321.04;
    p.p99_ns = 850'000;
    rows.push_back({"closed loop", p, 12, 0,
                    "load   3.0s/10s  rate 5321.0/s (closed loop, 8 users)  sent 600  in flight 4  "
                    "queued 0  errors 0  p99 850µs  spans exported 12  dropped 0"});
  }
  {
    DriverProgress p = OpenLoop();
    p.closed_loop = true;
    p.virtual_users = 1;
    rows.push_back({"closed loop, one user", p, 0, 0,
                    "load   3.0s/10s  rate 199.8/s (closed loop, 1 user)  sent 600  in flight 4  "
                    "queued 0  errors 0  p99 12.5ms  spans exported 0  dropped 0"});
  }
  {
    DriverProgress p = OpenLoop();
    p.elapsed_ns = 3'599'900'000'000;
    p.total_ns = 3'600'000'000'000;
    p.sent = 720'000'000;
    p.current_rate = 200'000;
    p.target_rate = 200'000;
    rows.push_back({"an hour at 200k/s", p, 2'880'000'000, 0,
                    "load 3599.9s/3600s  rate 200000.0/s (target 200000.0/s)  sent 720000000  "
                    "in flight 4  queued 0  errors 0  p99 12.5ms  spans exported 2880000000  "
                    "dropped 0"});
  }
  return rows;
}

TEST(FormatProgressLineTest, Table) {
  for (const Row& row : Rows()) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(FormatProgressLine(row.progress, row.spans_exported, row.spans_dropped), row.want);
  }
}

}  // namespace
}  // namespace tracerig
