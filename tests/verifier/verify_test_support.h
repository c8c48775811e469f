// Shared by the VerifyLedger tests: a fake backend whose spans become visible at set (fake) times,
// sleepers that advance the fake clock, the fixture, and lookups into a summary.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/verifier/test_spans.h"
#include "verifier/verify.h"

namespace tracerig::verify_test_support {

inline constexpr uint64_t kMs = 1'000'000;
inline constexpr uint64_t kSec = 1'000'000'000;

// Advances the clock from any thread, for runs with several workers.
class SharedAdvancingSleeper final : public Sleeper {
 public:
  explicit SharedAdvancingSleeper(FakeClock& clock) : clock_(clock) {}
  void SleepFor(uint64_t nanos) override { clock_.Advance(nanos); }

 private:
  FakeClock& clock_;
};

class AdvancingSleeper final : public Sleeper {
 public:
  explicit AdvancingSleeper(FakeClock& clock) : clock_(clock) {}
  void SleepFor(uint64_t nanos) override {
    clock_.Advance(nanos);
    slept_ += nanos;
    ++sleeps_;
  }
  uint64_t slept() const { return slept_; }
  int sleeps() const { return sleeps_; }

 private:
  FakeClock& clock_;
  uint64_t slept_ = 0;
  int sleeps_ = 0;
};

struct SearchCall {
  std::string service;
  std::string key;
  std::string value;
  uint64_t start_us;
  uint64_t end_us;
};

// Holds spans that become queryable at a monotonic time, and answers like Jaeger would.
class FakeBackend final : public BackendClient {
 public:
  explicit FakeBackend(const Clock& clock) : clock_(clock) {}

  void Add(std::vector<Span> spans, uint64_t visible_at_ns = 0) {
    for (Span& s : spans) arrivals_.push_back({visible_at_ns, std::move(s)});
  }
  int failures_to_inject = 0;  // the next N calls fail; -1: every call fails

  std::string Describe() const override { return "fake backend"; }

  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    ++get_calls;
    if (get_calls == fail_get_call) return MakeError("connection reset mid-batch");
    if (Fail()) return MakeError("connection refused");
    std::vector<Span> spans;
    for (const Span& s : Visible()) {
      if (s.trace_id == id) spans.push_back(s);
    }
    if (spans.empty()) return std::optional<std::vector<Span>>{};
    return std::optional<std::vector<Span>>{spans};
  }

  // Batches of up to batch_limit ids (1: no GetTraces calls). A batch fails as a whole: either
  // by failures_to_inject, or, with loop_in_batches, when one of the GetTrace calls the default
  // implementation makes for it fails.
  size_t batch_limit = 1;
  bool loop_in_batches = false;
  int fail_get_call = 0;  // this GetTrace call (1-based) fails; 0: none
  std::vector<size_t> batch_sizes;
  size_t MaxTracesPerRequest() const override { return batch_limit; }
  Result<std::vector<TraceFetch>> GetTraces(std::span<const TraceId> ids) override {
    batch_sizes.push_back(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (std::find(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(i), ids[i]) !=
          ids.begin() + static_cast<std::ptrdiff_t>(i)) {
        return MakeError("the same id twice in one batch");
      }
    }
    if (loop_in_batches) return BackendClient::GetTraces(ids);
    if (Fail()) return MakeError("connection reset");
    std::vector<TraceFetch> out;
    for (TraceId id : ids) {
      std::vector<Span> spans;
      for (const Span& s : Visible()) {
        if (s.trace_id == id) spans.push_back(s);
      }
      out.push_back(spans.empty() ? TraceFetch{} : TraceFetch{std::move(spans)});
    }
    return out;
  }

  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start_us,
                                      uint64_t end_us) override {
    searches.push_back(
        SearchCall{std::string(service), std::string(key), std::string(value), start_us, end_us});
    if (Fail()) return MakeError("search timed out");
    auto matches = [&](const Span& s) {
      const AttributeValue* v = s.FindAttribute(key);
      return v != nullptr && AttributeValueToString(*v) == value;
    };
    std::vector<Span> visible = Visible();
    std::vector<TraceId> traces;  // traces with a matching span of `service`
    for (const Span& s : visible) {
      if (s.service_name == service && matches(s)) traces.push_back(s.trace_id);
    }
    std::vector<Span> found;
    for (const Span& s : visible) {
      if (matches(s) && std::find(traces.begin(), traces.end(), s.trace_id) != traces.end()) {
        found.push_back(s);
      }
    }
    return found;
  }

  Result<std::optional<std::vector<DependencyLink>>> GetDependencies(uint64_t start_us,
                                                                      uint64_t end_us) override {
    dependency_windows.emplace_back(start_us, end_us);
    if (dependencies_fail) return MakeError("dependencies: connection reset");
    return dependencies;
  }

  Result<std::optional<BackendStoreStats>> GetStoreStats() override {
    ++store_stats_calls;
    return store_stats;
  }
  std::optional<BackendStoreStats> store_stats;  // nullopt: not served
  int store_stats_calls = 0;

  int get_calls = 0;
  std::vector<SearchCall> searches;
  std::optional<std::vector<DependencyLink>> dependencies;  // nullopt: not served
  bool dependencies_fail = false;
  std::vector<std::pair<uint64_t, uint64_t>> dependency_windows;

 private:
  bool Fail() {
    if (failures_to_inject == 0) return false;
    if (failures_to_inject > 0) --failures_to_inject;
    return true;
  }
  std::vector<Span> Visible() const {
    std::vector<Span> out;
    for (const auto& [at, span] : arrivals_) {
      if (clock_.NowMonotonicNano() >= at) out.push_back(span);
    }
    return out;
  }

  const Clock& clock_;
  std::vector<std::pair<uint64_t, Span>> arrivals_;
};

class VerifyLedgerTest : public ::testing::Test {
 protected:
  LedgerEntry AddEntry() {
    LedgerEntry e;
    e.sequence = ledger_.size();
    e.trace_id = TraceId{0x1, 0x1000 + e.sequence};
    e.root_span_id = SpanId{0x100};
    e.request_id = 0x500 + e.sequence;
    e.intended_unix_nano = clock_.NowUnixNano();
    e.start_unix_nano = e.intended_unix_nano + kMs;
    e.end_unix_nano = e.start_unix_nano + 20 * kMs;
    ledger_.push_back(e);
    return e;
  }
  // Every expected span of the entry, under its trace id.
  std::vector<Span> Spans(const LedgerEntry& e) {
    return verifier_testing::AllSpans(tree_, e.trace_id, e.request_id);
  }
  Result<VerificationSummary> Run() {
    return VerifyLedger(scenario_, ledger_, backend_, options_, clock_, sleeper_,
                        [this](size_t done, size_t total) { progress_.emplace_back(done, total); });
  }

  Scenario scenario_ = verifier_testing::QuickstartScenario();
  ExpectedTree tree_ = verifier_testing::QuickstartTree();
  Ledger ledger_;
  FakeClock clock_;
  AdvancingSleeper sleeper_{clock_};
  FakeBackend backend_{clock_};
  VerifyOptions options_;
  std::vector<std::pair<size_t, size_t>> progress_;
};

inline const SamplingVerdict* SamplingOf(const VerificationSummary& summary,
                                         std::string_view service) {
  for (const SamplingVerdict& v : summary.sampling) {
    if (v.service == service) return &v;
  }
  return nullptr;
}

inline const EdgeComparison* EdgeOf(const VerificationSummary& summary, std::string_view caller,
                                    std::string_view callee) {
  for (const EdgeComparison& e : summary.graph.edges) {
    if (e.caller == caller && e.callee == callee) return &e;
  }
  return nullptr;
}

}  // namespace tracerig::verify_test_support
