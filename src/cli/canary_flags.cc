// Parsing the canary loop's flags.
#include "cli/canary_flags.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "canary/reread_window.h"
#include "core/text.h"
#include "core/units.h"
#include "driver/schedule.h"

namespace tracerig {
namespace {

// The duration flag `name` (default `fallback`), above 0.
Result<uint64_t> PositiveDuration(const ParsedFlags& flags, std::string_view name,
                                  uint64_t fallback, std::string_view like) {
  auto text = flags.Get(name);
  if (!text) return fallback;
  auto ns = ParseDuration(*text);
  if (!ns || *ns == 0) {
    return MakeError(
        fmt::format("--{} \"{}\" is not a duration above 0, like {}", name, *text, like));
  }
  return *ns;
}

}  // namespace

Result<std::vector<RereadAge>> ParseRereadAges(const std::string& text) {
  std::vector<RereadAge> ages;
  if (TrimSpaceAndTab(text) == "none") return ages;
  std::string_view rest = text;
  for (;;) {
    const size_t comma = rest.find(',');
    const std::string item(TrimSpaceAndTab(rest.substr(0, comma)));
    auto ns = ParseDuration(item);
    if (item.empty() || !ns || *ns == 0) {
      return MakeError(fmt::format(
          "--reread \"{}\": \"{}\" is not a duration above 0 (give ages like 1m,15m,1h,24h, or "
          "none)",
          text, item));
    }
    for (const RereadAge& a : ages) {
      if (a.ns == *ns) {
        return MakeError(
            fmt::format("--reread \"{}\": age {} is given twice (as {})", text, item, a.label));
      }
    }
    ages.push_back({item, *ns});
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::sort(ages.begin(), ages.end(),
            [](const RereadAge& a, const RereadAge& b) { return a.ns < b.ns; });
  return ages;
}

Result<CanaryOptions> ParseCanaryOptions(const ParsedFlags& flags) {
  CanaryOptions o;
  o.once = flags.Has("once");
  o.search = !flags.Has("no-search");
  if (auto r = flags.Get("rate")) {
    char* end = nullptr;
    o.rate = std::strtod(r->c_str(), &end);
    if (r->empty() || *end != '\0' || !std::isfinite(o.rate) || o.rate <= 0) {
      return MakeError(
          fmt::format("--rate \"{}\" must be a number of requests per second above "
                      "0, like 1 or 0.5",
                      *r));
    }
  }
  auto round = PositiveDuration(flags, "round", o.round_ns, "10s");
  if (!round) return round.error();
  o.round_ns = *round;
  if (ConstantRateSchedule(o.rate, o.round_ns).size() == 0) {
    return MakeError(
        fmt::format("--rate {} for --round {} writes no request in a round: raise "
                    "either so that rate x round is at least 1",
                    flags.Get("rate").value_or("1"), FormatDuration(o.round_ns)));
  }
  auto within = PositiveDuration(flags, "queryable-within", o.queryable_within_ns, "30s");
  if (!within) return within.error();
  o.queryable_within_ns = *within;
  auto every = PositiveDuration(flags, "reread-every", o.reread_every_ns, "10s");
  if (!every) return every.error();
  o.reread_every_ns = *every;
  const auto reread = flags.Get("reread");
  if (reread || !o.once) {
    auto ages = ParseRereadAges(reread.value_or(kDefaultRereadAges));
    if (!ages) return ages.error();
    o.reread = std::move(*ages);
  }
  // What the re-read window holds at most: one trace per interval per age, each until its age.
  uint64_t kept = 0;
  for (const RereadAge& a : o.reread) kept += a.ns / o.reread_every_ns + 1;
  if (kept > RereadWindow::kDefaultMaxEntries) {
    return MakeError(fmt::format(
        "--reread-every {} keeps up to {} traces for re-reading at ages {}; at most {}: read "
        "fewer again (a longer --reread-every)",
        FormatDuration(o.reread_every_ns), kept, flags.Get("reread").value_or(kDefaultRereadAges),
        RereadWindow::kDefaultMaxEntries));
  }
  return o;
}

}  // namespace tracerig
