// MetricsRegistry: families of counters, gauges and histograms under one mutex (metrics are
// recorded a few times per trace, far from any hot path), rendered in the Prometheus text
// exposition format 0.0.4.
#include "canary/metrics.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace tracerig {

namespace {

struct Series {
  double value = 0;               // counter, gauge
  std::vector<uint64_t> buckets;  // histogram: observations per bound (not cumulative), +Inf last
  double sum = 0;
  uint64_t count = 0;
};

[[noreturn]] void Misuse(std::string_view name, std::string_view what) {
  std::fprintf(stderr, "tracerig: metric %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
               static_cast<int>(what.size()), what.data());
  std::abort();
}

bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

bool IsValidName(std::string_view name, bool colon) {
  if (name.empty() || !IsNameStart(name[0], colon)) return false;
  for (char c : name) {
    if (!IsNameStart(c, colon) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// As Prometheus (Go's strconv) reads and writes numbers: shortest round trip, +Inf, -Inf, NaN.
std::string FormatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

void AppendEscaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// {a="x",b="y"} plus an optional le="..." last; nothing when there are no labels at all.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, const std::string* le) {
  if (names.empty() && le == nullptr) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    AppendEscaped(out, values[i], true);
    out += '"';
  }
  if (le != nullptr) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

}  // namespace

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;                         // histograms, without +Inf
  std::function<double()> read;                       // gauge functions
  std::map<std::vector<std::string>, Series> series;  // sorted by label values
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

namespace {

void CheckDeclaration(const std::string& name, MetricType type,
                      const std::vector<std::string>& label_names,
                      const std::vector<double>& bounds) {
  if (!IsValidName(name, true)) {
    Misuse(name, "invalid metric name (want [a-zA-Z_:][a-zA-Z0-9_:]*)");
  }
  if (type == MetricType::kCounter && !name.ends_with("_total")) {
    Misuse(name, "a counter's name must end in _total");
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsValidName(label, false)) {
      Misuse(name, fmt::format("invalid label name \"{}\" (want [a-zA-Z_][a-zA-Z0-9_]*)", label));
    }
    if (label.starts_with("__")) {
      Misuse(name, fmt::format("label name \"{}\" starts with __ (reserved)", label));
    }
    if (type == MetricType::kHistogram && label == "le") {
      Misuse(name, "a histogram cannot have a label \"le\" (its buckets use it)");
    }
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == label) Misuse(name, fmt::format("label \"{}\" declared twice", label));
    }
  }
  if (type == MetricType::kHistogram) {
    if (bounds.empty()) Misuse(name, "a histogram needs at least one finite bucket bound");
    for (size_t i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i])) Misuse(name, "histogram bucket bounds must be finite");
      if (i > 0 && !(bounds[i] > bounds[i - 1])) {
        Misuse(name, "histogram bucket bounds must increase strictly");
      }
    }
  }
}

}  // namespace

// Checks a family, gives one without labels its single series (so it exists from the start;
// a gauge function has none: it is read when rendered) and registers it.
void MetricsRegistry::Declare(std::unique_ptr<Family> family) {
  CheckDeclaration(family->name, family->type, family->label_names, family->bounds);
  std::lock_guard lock(mu_);
  if (by_name_.contains(family->name)) Misuse(family->name, "declared twice");
  if (family->label_names.empty() && !family->read) {
    Series& series = family->series.emplace().first->second;
    if (family->type == MetricType::kHistogram) series.buckets.assign(family->bounds.size() + 1, 0);
  }
  by_name_.emplace(family->name, family.get());
  families_.push_back(std::move(family));
}

namespace {

std::unique_ptr<MetricsRegistry::Family> NewFamily(MetricType type, std::string name,
                                                   std::string help,
                                                   std::vector<std::string> label_names) {
  auto family = std::make_unique<MetricsRegistry::Family>();
  family->type = type;
  family->name = std::move(name);
  family->help = std::move(help);
  family->label_names = std::move(label_names);
  return family;
}

}  // namespace

void MetricsRegistry::DeclareCounter(std::string name, std::string help,
                                     std::vector<std::string> label_names) {
  Declare(NewFamily(MetricType::kCounter, std::move(name), std::move(help),
                    std::move(label_names)));
}

void MetricsRegistry::DeclareGauge(std::string name, std::string help,
                                   std::vector<std::string> label_names) {
  Declare(
      NewFamily(MetricType::kGauge, std::move(name), std::move(help), std::move(label_names)));
}

void MetricsRegistry::DeclareHistogram(std::string name, std::string help,
                                       std::vector<double> upper_bounds,
                                       std::vector<std::string> label_names) {
  auto family = NewFamily(MetricType::kHistogram, std::move(name), std::move(help),
                          std::move(label_names));
  family->bounds = std::move(upper_bounds);
  Declare(std::move(family));
}

void MetricsRegistry::DeclareGaugeFunction(std::string name, std::string help,
                                           std::function<double()> read) {
  auto family = NewFamily(MetricType::kGauge, std::move(name), std::move(help), {});
  if (!read) Misuse(family->name, "a gauge function needs a function to read");
  family->read = std::move(read);
  Declare(std::move(family));
}

namespace {

// The family's series for `labels`, created at zero when there is room; nullptr when the family
// is full, counted in `dropped`.
Series* FindOrCreate(MetricsRegistry::Family& family, const std::vector<std::string>& labels,
                     size_t max_series, size_t& dropped) {
  if (labels.size() != family.label_names.size()) {
    Misuse(family.name, fmt::format("{} label values given, {} label names declared", labels.size(),
                                    family.label_names.size()));
  }
  auto it = family.series.find(labels);
  if (it != family.series.end()) return &it->second;
  if (family.series.size() >= max_series) {
    ++dropped;
    return nullptr;
  }
  Series& series = family.series[labels];
  if (family.type == MetricType::kHistogram) series.buckets.assign(family.bounds.size() + 1, 0);
  return &series;
}

// The declared family that `name` records into; misuse aborts.
MetricsRegistry::Family& Recordable(
    const std::map<std::string, MetricsRegistry::Family*, std::less<>>& by_name,
    std::string_view name) {
  auto found = by_name.find(name);
  if (found == by_name.end()) Misuse(name, "not declared");
  if (found->second->read) Misuse(name, "a gauge function is read, not recorded into");
  return *found->second;
}

}  // namespace

void MetricsRegistry::Add(std::string_view name, const std::vector<std::string>& labels,
                          double delta) {
  std::lock_guard lock(mu_);
  Family& family = Recordable(by_name_, name);
  if (family.type == MetricType::kHistogram) Misuse(name, "Add on a histogram (use Observe)");
  if (family.type == MetricType::kCounter && !(delta >= 0)) {
    Misuse(name, fmt::format("a counter cannot go down (Add {})", delta));
  }
  Series* series = FindOrCreate(family, labels, kMaxSeriesPerFamily, dropped_series_);
  if (series == nullptr) return;
  series->value += delta;
}

void MetricsRegistry::Set(std::string_view name, const std::vector<std::string>& labels,
                          double value) {
  std::lock_guard lock(mu_);
  Family& family = Recordable(by_name_, name);
  if (family.type != MetricType::kGauge) Misuse(name, "Set on a metric that is not a gauge");
  Series* series = FindOrCreate(family, labels, kMaxSeriesPerFamily, dropped_series_);
  if (series == nullptr) return;
  series->value = value;
}

void MetricsRegistry::Observe(std::string_view name, const std::vector<std::string>& labels,
                              double value) {
  std::lock_guard lock(mu_);
  Family& family = Recordable(by_name_, name);
  if (family.type != MetricType::kHistogram) {
    Misuse(name, "Observe on a metric that is not a histogram");
  }
  Series* series = FindOrCreate(family, labels, kMaxSeriesPerFamily, dropped_series_);
  if (series == nullptr) return;
  // The first bucket whose bound is >= value (Prometheus buckets are "less than or equal");
  // NaN lands in +Inf only.
  size_t bucket = 0;
  while (bucket < family.bounds.size() && !(value <= family.bounds[bucket])) ++bucket;
  ++series->buckets[bucket];
  series->sum += value;
  ++series->count;
}

void MetricsRegistry::Touch(std::string_view name, const std::vector<std::string>& labels) {
  std::lock_guard lock(mu_);
  FindOrCreate(Recordable(by_name_, name), labels, kMaxSeriesPerFamily, dropped_series_);
}

double MetricsRegistry::Value(std::string_view name, const std::vector<std::string>& labels) const {
  std::lock_guard lock(mu_);
  auto found = by_name_.find(name);
  if (found == by_name_.end()) return 0;
  const Family& family = *found->second;
  if (family.read) return labels.empty() ? family.read() : 0;
  auto it = family.series.find(labels);
  if (it == family.series.end()) return 0;
  if (family.type == MetricType::kHistogram) return static_cast<double>(it->second.count);
  return it->second.value;
}

std::string MetricsRegistry::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& owned : families_) {
    const Family& family = *owned;
    if (family.series.empty() && !family.read) continue;  // nothing recorded yet: as Go's client
    out += "# HELP ";
    out += family.name;
    out += ' ';
    AppendEscaped(out, family.help, false);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += TypeName(family.type);
    out += '\n';
    if (family.read) {
      out += family.name;
      out += ' ';
      out += FormatNumber(family.read());
      out += '\n';
      continue;
    }
    for (const auto& [labels, series] : family.series) {
      if (family.type != MetricType::kHistogram) {
        out += family.name;
        AppendLabels(out, family.label_names, labels, nullptr);
        out += ' ';
        out += FormatNumber(series.value);
        out += '\n';
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= family.bounds.size(); ++i) {
        cumulative += series.buckets[i];
        const std::string le = i < family.bounds.size() ? FormatNumber(family.bounds[i]) : "+Inf";
        out += family.name;
        out += "_bucket";
        AppendLabels(out, family.label_names, labels, &le);
        out += fmt::format(" {}\n", cumulative);
      }
      out += family.name;
      out += "_sum";
      AppendLabels(out, family.label_names, labels, nullptr);
      out += ' ';
      out += FormatNumber(series.sum);
      out += '\n';
      out += family.name;
      out += "_count";
      AppendLabels(out, family.label_names, labels, nullptr);
      out += fmt::format(" {}\n", series.count);
    }
  }
  return out;
}

size_t MetricsRegistry::dropped_series() const {
  std::lock_guard lock(mu_);
  return dropped_series_;
}

}  // namespace tracerig
