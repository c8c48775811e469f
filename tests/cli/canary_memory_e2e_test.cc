// A bounded soak of `tracerig canary` at 50 requests/s against its embedded backend: after a
// warm-up (the store fills to its --max-spans bound, the 30 s re-read window and the wire log sized
// to a round and --queryable-within of traces fill), the process' resident memory stays flat. 2 minutes by default; TRACERIG_CANARY_SOAK_SECONDS lengthens it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "tests/cli/tracerig_process.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using tracerig::testing::TracerigProcess;
using Clock = std::chrono::steady_clock;

constexpr int kDefaultSoakSeconds = 120;
constexpr double kWarmUpShare = 0.4;  // of the run, before memory must be flat
// Growth allowed over the second half of the run: this share of the RSS after the warm-up, plus
// a constant. A process whose memory is flat grows well under 0.5 MiB a minute here (a `tracerig
// backend` with its store full: ~3 KiB/s); a leak of 1 KiB per trace (50 KiB/s) grows 3 MiB a
// minute and fails.
constexpr double kAllowedGrowthShare = 0.02;
constexpr double kAllowedGrowthMiB = 2;
// 16,000 spans are 2,000 quickstart traces (8 spans each): 40 s at 50 requests/s, within the
// warm-up, and more than the 30 s the re-reads need kept.
constexpr const char* kMaxSpans = "16000";

int SoakSeconds() {
  const char* text = std::getenv("TRACERIG_CANARY_SOAK_SECONDS");
  if (text == nullptr || *text == '\0') return kDefaultSoakSeconds;
  const int seconds = std::atoi(text);
  return seconds > kDefaultSoakSeconds ? seconds : kDefaultSoakSeconds;  // lengthens only
}

// VmRSS of `pid` in KiB, from /proc/PID/status; nullopt once the process is gone.
std::optional<double> ResidentKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
  }
  return std::nullopt;
}

struct RssSample {
  double seconds;  // since the canary started
  double kib;
};

// Least-squares slope of RSS over time, in KiB/s.
double SlopeKiBPerSecond(const std::vector<RssSample>& samples) {
  double mean_t = 0;
  double mean_r = 0;
  for (const RssSample& s : samples) {
    mean_t += s.seconds;
    mean_r += s.kib;
  }
  mean_t /= static_cast<double>(samples.size());
  mean_r /= static_cast<double>(samples.size());
  double covariance = 0;
  double variance = 0;
  for (const RssSample& s : samples) {
    covariance += (s.seconds - mean_t) * (s.kib - mean_r);
    variance += (s.seconds - mean_t) * (s.seconds - mean_t);
  }
  return variance == 0 ? 0 : covariance / variance;
}

// The sum of every sample of `family` on a Prometheus text page (its labelled series included).
double SumOf(const std::string& page, const std::string& family) {
  double sum = 0;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(family, 0) != 0) continue;
    const char next = line.size() > family.size() ? line[family.size()] : '\0';
    if (next != ' ' && next != '{') continue;  // another family with this prefix
    sum += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return sum;
}

TEST(CanaryMemoryE2eTest, ResidentMemoryStaysFlatAfterTheWarmUp) {
  const int soak_seconds = SoakSeconds();
  const fs::path dir = tracerig::test_support::MakeScratchDir("tracerig-canary-soak");
  ASSERT_FALSE(dir.empty());
  TracerigProcess canary(
      {"canary", "scenarios/quickstart.toml", "--rate", "50", "--round", "5s", "--reread", "30s",
       "--queryable-within", "10s",
       "--max-spans", kMaxSpans, "--metrics-listen", "127.0.0.1:0"},
      dir / "canary.log");
  ASSERT_TRUE(canary.started());
  const auto started = Clock::now();
  const auto metrics_at = canary.WaitForOutput(
      std::regex(R"(tracerig: metrics at http://127\.0\.0\.1:(\d+)/metrics)"), seconds(30));
  ASSERT_TRUE(metrics_at) << "the canary did not print its metrics address:\n" << canary.Output();
  const auto metrics_port = static_cast<uint16_t>(std::stoi((*metrics_at)[1]));

  // One sample every 2 s until the soak time is up.
  std::vector<RssSample> samples;
  const auto end = started + seconds(soak_seconds);
  for (auto next = Clock::now(); next < end; next += seconds(2)) {
    while (Clock::now() < next) std::this_thread::sleep_for(milliseconds(50));
    const auto kib = ResidentKiB(canary.pid());
    ASSERT_TRUE(kib.has_value() && canary.Alive()) << "the canary exited during the soak:\n"
                                                   << canary.Output();
    samples.push_back({std::chrono::duration<double>(Clock::now() - started).count(), *kib});
  }

  tracerig::BlockingHttpClient client("127.0.0.1", metrics_port);
  auto page = client.Get("/metrics");
  ASSERT_TRUE(page.ok()) << page.error().message;
  const double written = SumOf(page->body, "tracerig_canary_traces_written_total");
  const double checks = SumOf(page->body, "tracerig_canary_checks_total");
  const double failures = SumOf(page->body, "tracerig_canary_check_failures_total");

  std::vector<RssSample> late;
  for (const RssSample& s : samples) {
    if (s.seconds >= kWarmUpShare * soak_seconds) late.push_back(s);
  }
  ASSERT_GE(late.size(), 5u) << "too few samples after the warm-up";
  const double slope = SlopeKiBPerSecond(late);
  const double growth_mib = slope * (soak_seconds / 2.0) / 1024;
  const double warm_mib = late.front().kib / 1024;
  const double bound_mib = kAllowedGrowthShare * warm_mib + kAllowedGrowthMiB;
  double peak_kib = 0;
  for (const RssSample& s : samples) peak_kib = std::max(peak_kib, s.kib);
  std::printf(
      "[ soak ] %d s at 50 req/s: %.0f traces written, %.0f checks, %.0f failed; RSS %.1f MiB "
      "after %.0f s of warm-up, %.1f MiB at the end, peak %.1f MiB; fitted growth %.1f KiB/s = "
      "%.1f MiB over the second half (bound %.1f MiB)\n",
      soak_seconds, written, checks, failures, warm_mib, late.front().seconds,
      samples.back().kib / 1024, peak_kib / 1024, slope, growth_mib, bound_mib);
  std::string trajectory;
  for (size_t i = 0; i < samples.size(); i += std::max<size_t>(1, samples.size() / 12)) {
    char point[48];
    std::snprintf(point, sizeof point, " %.0fs:%.1f", samples[i].seconds, samples[i].kib / 1024);
    trajectory += point;
  }
  std::printf("[ soak ] RSS MiB over time:%s\n", trajectory.c_str());
  char verdict[160];
  std::snprintf(verdict, sizeof verdict,
                "resident memory grows after the warm-up: %.1f MiB over %d s (bound %.1f MiB)",
                growth_mib, soak_seconds / 2, bound_mib);
  EXPECT_LE(growth_mib, bound_mib) << verdict;
  // The load really ran: most of the planned traces were written.
  EXPECT_GE(written, 0.8 * 50 * soak_seconds) << page->body;
  EXPECT_GT(checks, 0) << page->body;

  canary.Signal(SIGTERM);
  const auto exit_code = canary.WaitForExit(seconds(30));
  ASSERT_TRUE(exit_code.has_value()) << "no exit within 30 s of SIGTERM:\n" << canary.Output();
  EXPECT_EQ(*exit_code, 0) << canary.Output();
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
