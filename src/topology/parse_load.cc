// The [load] section: the load model and the keys each model takes (rate, duration, stages,
// requests, virtual users...), the entry points it sends requests to, and the planned total.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/units.h"
#include "topology/parse_internal.h"
#include "topology/parse_values.h"

namespace tracerig::parse_internal {
namespace {

constexpr std::string_view kLoadKeys[] = {
    "model",  "rate",    "duration", "warmup",        "start_rate", "requests",
    "stages", "entries", "threads",  "virtual_users", "think_time", "connections"};
constexpr std::string_view kLoadEntryKeys[] = {"service", "route",      "weight", "inject",
                                               "sampled", "tracestate", "baggage"};
// The formats that carry a debug flag (W3C traceparent has none).
constexpr std::string_view kDebugFormats[] = {"b3", "b3multi", "jaeger"};

bool Has(const std::vector<std::string>& formats, std::string_view format) {
  return std::find(formats.begin(), formats.end(), format) != formats.end();
}
constexpr std::string_view kLoadStageKeys[] = {"duration", "target"};
constexpr std::string_view kLoadModels[] = {"constant", "ramp", "poisson", "count", "closed"};

}  // namespace

void ScenarioParser::ParseLoad(const toml::table& root) {
  const toml::node* node = root.get("load");
  if (node == nullptr) return;
  const toml::table* t = AsTable(*node, "load");
  if (t == nullptr) return;
  CheckKeys(*t, "[load]", kLoadKeys);
  Load& load = scenario_.load;
  // The model decides which other keys apply, so it is read first; an invalid model skips the
  // model-specific checks rather than piling guesses on top of its error.
  bool model_ok = true;
  if (const auto* n = t->get("model")) {
    auto v = AsString(*n, "model");
    model_ok = v && CheckChoice(*n, *v, "load model", kLoadModels);
    if (model_ok) {
      for (LoadModel m : {LoadModel::kConstant, LoadModel::kRamp, LoadModel::kPoisson,
                          LoadModel::kCount, LoadModel::kClosed}) {
        if (LoadModelName(m) == *v) load.model = m;
      }
    }
  }
  const std::string_view model = LoadModelName(load.model);
  const bool ramp = load.model == LoadModel::kRamp;
  const bool count = load.model == LoadModel::kCount;
  const bool closed = load.model == LoadModel::kClosed;
  // A key that the chosen model does not use is a mistake, not something to ignore.
  auto only_for = [&](std::string_view key, std::string_view owner, bool applies) {
    const auto* n = t->get(key);
    if (n == nullptr || applies || !model_ok) return false;
    Error(n->source(),
          fmt::format("\"{}\" applies only to model \"{}\", not \"{}\"", key, owner, model));
    return true;
  };
  const bool stray_rate = only_for("rate", "constant\", \"poisson\" or \"count", !ramp && !closed);
  const bool stray_duration =
      only_for("duration", "constant\", \"poisson\" or \"closed", !ramp && !count);
  const bool stray_users = only_for("virtual_users", "closed", closed);
  const bool stray_think = only_for("think_time", "closed", closed);
  const bool stray_start = only_for("start_rate", "ramp", ramp);
  const bool stray_requests = only_for("requests", "count", count);
  const bool stray_stages = only_for("stages", "ramp", ramp);
  bool planned_ok = model_ok;

  const toml::node* rate_node = stray_rate ? nullptr : t->get("rate");
  if (rate_node != nullptr) {
    if (auto v = AsPositive(*rate_node, "rate")) {
      load.rate = *v;
    } else {
      planned_ok = false;
    }
  }
  const toml::node* duration_node = stray_duration ? nullptr : t->get("duration");
  if (duration_node != nullptr) {
    if (auto v = AsDuration(*duration_node, "duration")) {
      if (*v == 0) {
        Error(duration_node->source(), "\"duration\" must be greater than 0");
        planned_ok = false;
      } else {
        load.duration_ns = *v;
      }
    } else {
      planned_ok = false;
    }
  }
  if (const auto* n = stray_start ? nullptr : t->get("start_rate")) {
    if (auto v = AsNonNegative(*n, "start_rate")) {
      load.start_rate = *v;
    } else {
      planned_ok = false;
    }
  }
  const toml::node* requests_node = nullptr;
  if (count && model_ok) {
    requests_node = Require(*t, "requests", "[load] for model \"count\"");
    if (requests_node == nullptr) planned_ok = false;
  } else if (!stray_requests) {
    requests_node = t->get("requests");
  }
  if (requests_node != nullptr) {
    const auto* i = requests_node->as_integer();
    if (i == nullptr) {
      Error(requests_node->source(),
            fmt::format("\"requests\" must be an integer, got {}", TypeName(*requests_node)));
      planned_ok = false;
    } else if (i->get() <= 0) {
      Error(requests_node->source(),
            fmt::format("\"requests\" must be greater than 0, got {}", i->get()));
      planned_ok = false;
    } else {
      load.requests = static_cast<uint64_t>(i->get());
    }
  }
  if (ramp && model_ok) {
    if (!ParseStages(*t)) planned_ok = false;
  } else if (!stray_stages && t->contains("stages")) {
    ParseStages(*t);
  }
  if (closed && model_ok) {
    if (const auto* n = Require(*t, "virtual_users", "[load] for model \"closed\"")) {
      if (auto v = AsInteger(*n, "virtual_users", 1, 100'000)) {
        load.virtual_users = static_cast<uint32_t>(*v);
      }
    }
  } else if (const auto* n = stray_users ? nullptr : t->get("virtual_users")) {
    (void)AsInteger(*n, "virtual_users", 1, 100'000);
  }
  if (const auto* n = stray_think ? nullptr : t->get("think_time")) {
    if (auto v = AsDuration(*n, "think_time")) load.think_time_ns = *v;
  }
  if (const auto* n = t->get("threads")) {
    if (auto v = AsInteger(*n, "threads", 0, 1024)) load.threads = static_cast<uint32_t>(*v);
  }
  if (const auto* n = t->get("connections")) {
    if (auto v = AsInteger(*n, "connections", 0, 1'000'000)) {
      load.connections = static_cast<uint32_t>(*v);
    }
  }
  const toml::node* warmup_node = t->get("warmup");
  const std::optional<uint64_t> warmup =
      warmup_node ? AsDuration(*warmup_node, "warmup") : std::nullopt;
  if (const auto* n = t->get("entries")) ParseLoadEntries(*n);
  if (!planned_ok) {
    load_ok_ = false;
    return;
  }

  // Derived lengths: the ramp runs for its stages, a count for its requests at its rate.
  if (ramp) {
    uint64_t total = 0;
    for (const LoadStage& s : load.stages) {
      total = s.duration_ns > std::numeric_limits<uint64_t>::max() - total
                  ? std::numeric_limits<uint64_t>::max()
                  : total + s.duration_ns;
    }
    load.duration_ns = total;
  } else if (count) {
    load.duration_ns = static_cast<uint64_t>(
        std::min(std::ceil(static_cast<double>(load.requests) * 1e9 / load.rate), 0x1p63));
  }

  const double planned = PlannedRequests(load);
  if (!(planned <= static_cast<double>(kMaxLoadRequests))) {
    if (count) {
      Error(requests_node->source(),
            fmt::format("\"requests\" ({}) is more than the limit of {} requests", load.requests,
                        kMaxLoadRequests));
    } else if (ramp) {
      Error(t->get("stages")->source(),
            fmt::format("the ramp's stages plan {} requests, more than the limit of {}",
                        FormatRequestCount(planned), kMaxLoadRequests));
    } else {
      const toml::node* at = rate_node ? rate_node : duration_node ? duration_node : t;
      Error(at->source(),
            fmt::format("rate {}/s for {} plans {} requests, more than the limit of {}", load.rate,
                        FormatDuration(load.duration_ns), FormatRequestCount(planned),
                        kMaxLoadRequests));
    }
    load_ok_ = false;
    return;
  }

  if (warmup && warmup_node) {
    if (*warmup >= load.duration_ns) {
      Error(warmup_node->source(),
            fmt::format("\"warmup\" ({}) must be shorter than the load's duration ({})",
                        FormatDuration(*warmup), FormatDuration(load.duration_ns)));
    } else {
      load.warmup_ns = *warmup;
    }
  }
}

// [[load.stages]] of a ramp; false after reporting a problem.
bool ScenarioParser::ParseStages(const toml::table& load_table) {
  const toml::node* node = load_table.get("stages");
  if (node == nullptr) {
    Error(load_table.source(), "model \"ramp\" needs at least one [[load.stages]] table");
    return false;
  }
  if (const auto* array = node->as_array(); array != nullptr && array->empty()) {
    Error(node->source(), "\"stages\" must list at least one stage");
    return false;
  }
  bool ok = true;
  const auto tables = AsTableArray(*node, "stages", "load.stages");
  if (tables.empty() || tables.size() != node->as_array()->size()) ok = false;
  for (const toml::table* st : tables) {
    CheckKeys(*st, "load stage", kLoadStageKeys);
    LoadStage stage;
    bool complete = true;
    if (const toml::node* d = Require(*st, "duration", "load stage")) {
      const auto v = AsDuration(*d, "duration");
      if (v && *v == 0) Error(d->source(), "\"duration\" must be greater than 0");
      complete = v.has_value() && *v > 0;
      stage.duration_ns = v.value_or(0);
    } else {
      complete = false;
    }
    if (const toml::node* r = Require(*st, "target", "load stage")) {
      const auto v = AsNonNegative(*r, "target");
      complete = complete && v.has_value();
      stage.target_rate = v.value_or(0);
    } else {
      complete = false;
    }
    ok = ok && complete;
    if (complete) scenario_.load.stages.push_back(stage);
  }
  return ok;
}

void ScenarioParser::ParseLoadEntries(const toml::node& n) {
  Load& load = scenario_.load;
  for (const toml::table* e : AsTableArray(n, "entries", "load.entries")) {
    CheckKeys(*e, "load entry", kLoadEntryKeys);
    LoadEntry entry;
    EntrySite site;
    bool complete = true;
    if (const auto* s = Require(*e, "service", "load entry")) {
      auto v = AsString(*s, "service");
      complete = complete && v.has_value();
      if (v) entry.service = *v;
      site.service_at = Loc(s->source());
    } else {
      complete = false;
    }
    if (const auto* r = Require(*e, "route", "load entry")) {
      auto v = AsString(*r, "route");
      complete = complete && v.has_value();
      if (v) entry.route = *v;
      site.route_at = Loc(r->source());
    } else {
      complete = false;
    }
    if (const auto* w = e->get("weight")) {
      if (auto v = AsPositive(*w, "weight")) entry.weight = *v;
    }
    entry.where = Loc(e->source());
    if (const auto* n = e->get("inject")) {
      if (auto v = ParseFormats(*n, "inject", true)) {
        entry.inject = std::move(*v);
        site.inject_at = Loc(n->source());
      }
    }
    if (const auto* n = e->get("sampled")) {
      if (auto v = ParseEntrySampled(*n)) {
        entry.sampled = *v;
        site.sampled_at = Loc(n->source());
      }
    }
    if (const auto* n = e->get("tracestate")) {
      if (auto v = AsString(*n, "tracestate")) {
        if (auto normalised = NormaliseTracestateText(*v)) {
          entry.tracestate = std::move(*normalised);
          site.tracestate_at = Loc(n->source());
        } else {
          Error(n->source(), normalised.error().message);
        }
      }
    }
    if (const auto* n = e->get("baggage")) {
      if (auto v = AsString(*n, "baggage")) {
        if (auto normalised = NormaliseBaggageText(*v)) {
          entry.baggage = std::move(*normalised);
          site.baggage_at = Loc(n->source());
        } else {
          Error(n->source(), normalised.error().message);
        }
      }
    }
    // Without trace context the driver has nothing to carry a flag, a tracestate or a baggage in.
    if (entry.inject && entry.inject->empty()) {
      for (std::string_view key : {"sampled", "tracestate", "baggage"}) {
        if (const auto* n = e->get(key)) {
          Error(n->source(), fmt::format("\"{}\" travels in the trace context, but inject = [] "
                                         "sends none",
                                         key));
        }
      }
      site.sampled_at.reset();
      site.tracestate_at.reset();
      site.baggage_at.reset();
    }
    if (complete) {
      load.entries.push_back(std::move(entry));
      entry_sites_.push_back(std::move(site));
    } else {
      entries_incomplete_ = true;
    }
  }
  // Only a missing [[load.entries]] means "use the default": an invalid one is reported above
  // and must not be silently replaced.
  entries_written_ = true;
}

// true | false | "debug".
std::optional<EntrySampling> ScenarioParser::ParseEntrySampled(const toml::node& node) {
  if (const auto* b = node.as_boolean()) {
    return b->get() ? EntrySampling::kSampled : EntrySampling::kNotSampled;
  }
  if (const auto* s = node.as_string(); s != nullptr && s->get() == "debug") {
    return EntrySampling::kDebug;
  }
  std::string got(TypeName(node));
  std::string hint;
  if (const auto* s = node.as_string()) {
    got = fmt::format("\"{}\"", s->get());
    if (s->get() == "true" || s->get() == "false") {
      hint = fmt::format(" (write {} without quotes)", s->get());
    }
  } else if (const auto* i = node.as_integer()) {
    got = std::to_string(i->get());
    if (i->get() == 0 || i->get() == 1) hint = i->get() == 1 ? " (write true)" : " (write false)";
  }
  Error(node.source(),
        fmt::format("\"sampled\" must be true, false or \"debug\", got {}{}", got, hint));
  return std::nullopt;
}

// What each entry sends against the formats it sends it in: the entry's `inject`, else what its
// service extracts. Run after the names resolved.
void ScenarioParser::CheckLoadEntries() {
  for (size_t i = 0; i < entry_sites_.size(); ++i) {
    const LoadEntry& entry = scenario_.load.entries[i];
    const EntrySite& site = entry_sites_[i];
    const Service* service = scenario_.FindService(entry.service);
    if (!entry.inject && service == nullptr) continue;  // reported as unknown
    const std::vector<std::string>& formats = entry.inject ? *entry.inject : service->extract;
    if (formats.empty()) continue;
    std::vector<std::string_view> names(formats.begin(), formats.end());
    const std::string sends = entry.inject
                                  ? fmt::format("this entry injects {}", QuotedList(names))
                                  : fmt::format(
                                        "this entry injects {} (what service \"{}\" extracts; "
                                        "\"inject\" chooses others)",
                                        QuotedList(names), entry.service);
    if (site.tracestate_at && !Has(formats, "tracecontext")) {
      Error(*site.tracestate_at,
            fmt::format("\"tracestate\" is sent only with \"tracecontext\", but {}", sends));
    }
    if (site.baggage_at && !Has(formats, "baggage")) {
      Error(*site.baggage_at,
            fmt::format("\"baggage\" is sent only with \"baggage\", but {}", sends));
    }
    const bool carries_debug = std::any_of(std::begin(kDebugFormats), std::end(kDebugFormats),
                                           [&](std::string_view f) { return Has(formats, f); });
    if (site.sampled_at && entry.sampled == EntrySampling::kDebug && !carries_debug) {
      Warn(*site.sampled_at,
           fmt::format("sampled = \"debug\" is sent as sampled=1: {}, and only \"b3\", "
                       "\"b3multi\" and \"jaeger\" carry a debug flag",
                       sends));
    }
  }
}

}  // namespace tracerig::parse_internal
