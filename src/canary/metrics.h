// Metrics in the Prometheus text exposition format (version 0.0.4): counters, gauges and
// histograms, each family with fixed label names declared once and at most kMaxSeriesPerFamily
// label sets, so a process that runs for days keeps bounded memory whatever it records.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tracerig {

enum class MetricType { kCounter, kGauge, kHistogram };

class MetricsRegistry {
 public:
  // Label sets a family keeps; a new one beyond is not recorded, only counted (dropped_series()).
  static constexpr size_t kMaxSeriesPerFamily = 1000;

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Declares a family; `name` is the full metric name (a counter's ends in _total), `help` one
  // line. Declaring a name twice, an invalid metric or label name, or a histogram without
  // strictly increasing finite bounds is a programming error (it aborts with the reason).
  // Histograms get the +Inf bucket on their own.
  void DeclareCounter(std::string name, std::string help, std::vector<std::string> label_names = {});
  void DeclareGauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  void DeclareHistogram(std::string name, std::string help, std::vector<double> upper_bounds,
                        std::vector<std::string> label_names = {});
  // A gauge read when rendered (no labels): in-flight counts, memory. `read` must be thread-safe.
  void DeclareGaugeFunction(std::string name, std::string help, std::function<double()> read);

  // Values of one series: `labels` are the label values in the family's declared order (a count
  // that differs, or an undeclared name, is a programming error). Thread-safe.
  void Add(std::string_view name, const std::vector<std::string>& labels, double delta = 1);
  void Set(std::string_view name, const std::vector<std::string>& labels, double value);
  void Observe(std::string_view name, const std::vector<std::string>& labels, double value);
  // Creates the series at zero, so it is exported before its first event (rate() and absent()
  // then work from the first scrape).
  void Touch(std::string_view name, const std::vector<std::string>& labels);

  // The value of one series (a histogram's: its count); 0 when it does not exist. For tests and
  // summaries.
  double Value(std::string_view name, const std::vector<std::string>& labels) const;

  // Every family, in declaration order: # HELP, # TYPE, then its series sorted by label values;
  // label values escaped (\\, \", \n), numbers as Prometheus reads them (+Inf, NaN).
  std::string Render() const;
  size_t dropped_series() const;

  struct Family;  // metrics.cc

 private:
  void Declare(std::unique_ptr<Family> family);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;       // declaration order
  std::map<std::string, Family*, std::less<>> by_name_;
  size_t dropped_series_ = 0;
};

}  // namespace tracerig
