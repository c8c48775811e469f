// Verdicts from the wire (context_checks.h): tracestate and baggage end to end, the edges where
// the sampled or debug flag changed, and non-canonical header forms.
#include "verifier/context_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "propagation/baggage.h"
#include "propagation/carrier.h"
#include "propagation/registry.h"
#include "propagation/w3c.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"
#include "topology/messaging.h"

namespace tracerig {
namespace {

// Bounds on the hops walked per request: a scenario with retries at every level multiplies them.
constexpr size_t kMaxHops = 2048;
constexpr size_t kMaxDepth = 64;

bool Has(const std::vector<std::string>& formats, std::string_view format) {
  return std::find(formats.begin(), formats.end(), format) != formats.end();
}

std::string Joined(const std::vector<std::string>& formats) {
  std::string text;
  for (const std::string& f : formats) text += (text.empty() ? "" : "+") + f;
  return text.empty() ? std::string("nothing") : text;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A value the wire log cut (WireLog::Bound): its end is not known.
bool Cut(std::string_view value) {
  return value.size() == WireLog::kMaxHeaderValue + 3 && value.ends_with("...");
}

struct Member {
  std::string key;
  std::string text;  // "key=value" as received (trimmed)
  bool operator==(const Member& o) const { return text == o.text; }
};

// Tracestate members, trimmed, empty ones skipped, tracerig's own left out (`has_own` says if
// it was there).
std::vector<Member> TracestateMembers(std::string_view list, bool* has_own = nullptr) {
  std::vector<Member> members;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view m = Trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (m.empty()) continue;
    const std::string_view key = Trim(m.substr(0, m.find('=')));
    if (key == kTracestateKey) {
      if (has_own != nullptr) *has_own = true;
      continue;
    }
    members.push_back(Member{std::string(key), std::string(m)});
  }
  return members;
}

std::string Text(const std::vector<Member>& members) {
  std::string text;
  for (const Member& m : members) text += (text.empty() ? "" : ",") + m.text;
  return text;
}

const Member* ByKey(const std::vector<Member>& members, std::string_view key) {
  for (const Member& m : members) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

// Whether `received` is `expected` after what W3C allows the one participant between them (the
// caller): its own member, new or updated, put at the front, the others kept in order; with 32
// members received, members dropped from the right to make room.
// `full`: the list as received had 32 members, tracerig's own counted (which a real service's
// caller puts in front, leaving room for 31 of the others).
bool AllowedTracestateChange(const std::vector<Member>& expected,
                             const std::vector<Member>& received, bool full) {
  for (size_t k = 0; k <= std::min<size_t>(1, received.size()); ++k) {
    std::vector<Member> rest;
    for (const Member& e : expected) {
      if (k == 0 || e.key != received[0].key) rest.push_back(e);
    }
    const size_t tail = received.size() - k;
    if (tail > rest.size() || (!full && tail != rest.size())) continue;
    if (std::equal(received.begin() + static_cast<std::ptrdiff_t>(k), received.end(),
                   rest.begin())) {
      return true;
    }
  }
  return false;
}

std::string Quote(std::string_view text) { return fmt::format("`{}`", text); }

std::string Listed(const std::vector<std::string>& quoted, std::string_view what) {
  return fmt::format("{} {} {}", quoted.size() == 1 ? "member" : "members", fmt::join(quoted, ", "),
                     what);
}

// The baggage members of a list, tracerig's own left out.
std::vector<BaggageMember> BaggageMembers(std::string_view list) {
  std::vector<BaggageMember> members = ParseBaggage({list});
  std::erase_if(members, [](const BaggageMember& m) { return m.key.starts_with("tracerig."); });
  return members;
}

std::string BaggageText(const BaggageMember& m) { return FormatBaggage({m}); }

// The formats whose headers in `o` carry the debug flag ("b3", "b3multi", "jaeger").
std::vector<std::string> DebugFormats(const WireObservation& o);

// Whether a receiver reading `formats` reads a debug flag that arrived in `o`.
bool ReadsDebugFrom(const WireObservation& o, const std::vector<std::string>& formats) {
  for (const std::string& f : DebugFormats(o)) {
    if (Has(formats, f)) return true;
  }
  return false;
}

// ---- The hops of one request ----

struct Hop {
  std::string hop;
  std::string service;
  std::string route;
  int caller = -1;  // index into the walk; -1: the driver
  const Service* config = nullptr;
  bool external = false;
  std::optional<WireObservation> seen;
  // A delivery of a message (its caller the publisher's hop): the consumer, whose CONSUMER span
  // stands where a SERVER span would; null for a call.
  const Consumer* consumer = nullptr;
};

// The deliveries of the message published at `call_hop` by hop `caller` (messaging.h): the
// consumer's at the hop itself, its redeliveries, and the dead-letter queue's consumer.
void AddDeliveries(const Scenario& scenario, const Call& call, const std::string& call_hop,
                   int caller, std::vector<Hop>& hops) {
  auto add = [&](const std::string& hop, const ConsumerRef& ref) {
    if (hops.size() >= kMaxHops) return;
    hops.push_back(Hop{hop, ref.service->name, "", caller, ref.service, false, std::nullopt,
                       ref.consumer});
  };
  for (const ConsumerRef& ref : ConsumersOf(scenario, call)) {
    add(call_hop, ref);
    for (uint32_t k = 1; k <= ref.consumer->redeliveries; ++k) {
      add(RedeliveryHop(call_hop, k), ref);
    }
    if (ref.consumer->dead_letter.empty()) continue;
    const ConsumerRef dead = ConsumerOfQueue(scenario, ref.consumer->dead_letter);
    if (dead.consumer != nullptr) add(DeadLetterHop(call_hop), dead);
  }
}

// Every hop the scenario's routes make possible below the entry (each retry too, each delivery
// of a published message and the consumer's calls), looked up in the log; below a simulated hop
// only when it was received. A batch consumer's calls run in the batch's own trace: not walked.
std::vector<Hop> WalkHops(const Scenario& scenario, const LoadEntry& load_entry,
                          const std::string& request_id, const WireLog& log) {
  std::vector<Hop> hops;
  hops.push_back(Hop{"0", load_entry.service, load_entry.route, -1,
                     scenario.FindService(load_entry.service), false, std::nullopt, nullptr});
  for (size_t i = 0; i < hops.size() && hops.size() < kMaxHops; ++i) {
    const Service* config = hops[i].config;
    if (config == nullptr) continue;
    hops[i].external = config->IsExternal();
    if (!hops[i].external) hops[i].seen = log.Find(request_id, hops[i].hop, hops[i].service);
    if (!hops[i].external && !hops[i].seen) continue;
    if (static_cast<size_t>(std::count(hops[i].hop.begin(), hops[i].hop.end(), '.')) >= kMaxDepth) {
      continue;
    }
    const std::vector<CallStep>* steps = nullptr;
    if (const Consumer* consumer = hops[i].consumer) {
      if (!consumer->IsBatch()) steps = &consumer->calls;
    } else if (const Route* route = config->FindRoute(hops[i].route)) {
      steps = &route->calls;
    }
    if (steps == nullptr) continue;
    size_t index = 0;
    for (const CallStep& step : *steps) {
      for (const Call& call : step.calls) {
        for (uint32_t execution = 0; execution < call.repeat; ++execution) {
          const std::string call_hop = ChildHop(hops[i].hop, index++);
          if (call.IsPublish()) {
            AddDeliveries(scenario, call, call_hop, static_cast<int>(i), hops);
            continue;
          }
          const uint32_t attempts = hops[i].external ? 1 : call.retries + 1;
          for (uint32_t attempt = 0; attempt < attempts && hops.size() < kMaxHops; ++attempt) {
            hops.push_back(Hop{attempt == 0 ? call_hop : RetryHop(call_hop, attempt), call.service,
                               call.route, static_cast<int>(i), scenario.FindService(call.service),
                               false, std::nullopt, nullptr});
          }
        }
      }
    }
  }
  return hops;
}

// The header a context was read from, quoted: the first of the receiver's formats whose header
// arrived ("`traceparent: 00-...-00`"), else every context header received.
std::string QuoteContextHeader(const WireObservation& o, const std::vector<std::string>& formats) {
  auto names = [](std::string_view format) -> std::vector<std::string_view> {
    if (format == "tracecontext") return {"traceparent"};
    if (format == "b3") return {"b3"};
    if (format == "b3multi") return {"x-b3-sampled", "x-b3-flags", "x-b3-traceid"};
    if (format == "jaeger") return {"uber-trace-id"};
    return {};
  };
  for (const std::string& format : formats) {
    for (std::string_view name : names(format)) {
      for (const auto& [n, v] : o.headers) {
        if (n == name) return fmt::format("`{}: {}`", n, v);
      }
    }
  }
  return o.DescribeHeaders();
}

bool HasHeader(const WireObservation& o, std::string_view name) {
  return std::any_of(o.headers.begin(), o.headers.end(),
                     [&](const auto& h) { return h.first == name; });
}

// Whether anything of a trace context arrived (not only tracerig's ground truth).
bool AnyContextHeader(const WireObservation& o) {
  return std::any_of(o.headers.begin(), o.headers.end(),
                     [](const auto& h) { return !h.first.starts_with("tracerig-"); });
}

class WireContextChecker {
 public:
  WireContextChecker(const Scenario& scenario, const LoadEntry& load_entry,
                     const ExpectedTree& tree, const LedgerEntry& entry, const WireLog& log)
      : scenario_(scenario),
        load_(load_entry),
        tree_(tree),
        entry_(entry),
        hops_(WalkHops(scenario, load_entry, FormatRequestId(entry.request_id), log)) {
    if (load_.inject) {
      driver_formats_ = *load_.inject;
    } else if (const Service* s = scenario.FindService(load_.service)) {
      driver_formats_ = s->extract;
    }
    extracted_.resize(hops_.size());
    Carry();
  }

  void Check(TraceVerdict& verdict) {
    for (size_t i = 0; i < hops_.size(); ++i) {
      const Hop& h = hops_[i];
      if (!h.seen) continue;
      CheckCarried(i, tracestate_, verdict);
      CheckCarried(i, baggage_, verdict);
      CheckForms(i, verdict);
      ExplainFlags(i, verdict);
    }
  }

  std::vector<size_t> Cleared() const {
    std::vector<size_t> found;
    for (size_t i = 0; i < hops_.size(); ++i) {
      if (!ClearedSampled(i) && !DebugLost(i)) continue;
      const int server = TreeServer(hops_[i]);
      if (server >= 0) found.push_back(static_cast<size_t>(server));
    }
    return found;
  }

 private:
  // What one of tracestate and baggage is expected to be at each hop.
  struct Carried {
    std::string_view kind;                         // "tracestate", "baggage": the violation kind
    std::string_view format;                       // the propagation format that carries it
    bool active = false;                           // the load entry starts with one
    std::vector<std::optional<std::string>> sent;  // per hop: what its caller should send
    std::vector<std::optional<std::string>> received;  // per hop: what it got (sent when unseen)
  };

  std::string CallerName(const Hop& h) const {
    return h.caller < 0 ? std::string(kDriverServiceName)
                        : hops_[static_cast<size_t>(h.caller)].service;
  }

  // The context a simulated hop extracted, read again from the headers it received with its own
  // formats (what the runtime passes on); null when not seen or not readable.
  const SpanContext* Extracted(size_t i) {
    const Hop& h = hops_[i];
    if (!h.seen || h.config == nullptr) return nullptr;
    if (!extracted_[i]) {
      const std::string key = Joined(h.config->extract);
      auto it = propagators_.find(key);
      if (it == propagators_.end()) {
        auto made = MakePropagator(h.config->extract);
        it = propagators_.emplace(key, made ? std::move(*made) : nullptr).first;
      }
      if (it->second == nullptr) return nullptr;
      HeaderList headers;
      for (const auto& [name, value] : h.seen->headers) headers.Add(name, value);
      extracted_[i] = it->second->Extract(headers);
    }
    return &*extracted_[i];
  }

  // What hop i's caller should send of `c`, from what the caller received.
  std::optional<std::string> ExpectedSent(size_t i, Carried& c) {
    const Hop& h = hops_[i];
    const bool tracestate = c.format == "tracecontext";
    if (h.caller < 0) {
      if (!load_.SendsContext() && tracestate) return "";
      if (!Has(driver_formats_, c.format)) return "";
      return tracestate ? load_.tracestate : load_.baggage;
    }
    const auto caller = static_cast<size_t>(h.caller);
    const Hop& from = hops_[caller];
    if (from.config == nullptr) return std::nullopt;
    const std::optional<std::string>& got = c.received[caller];
    const bool injects = Has(from.config->Injects(), c.format);
    const bool forwards = Has(from.config->forward, c.format);
    const bool extracts = Has(from.config->extract, c.format);
    std::optional<std::string> extracted;
    if (!extracts) {
      extracted = "";
    } else if (from.seen) {
      const SpanContext* context = got ? Extracted(caller) : nullptr;  // unknown when cut
      if (context != nullptr) extracted = tracestate ? context->trace_state : context->baggage;
    } else {
      extracted = got;  // real, or not seen: passed on as it should have arrived
    }
    if (injects) {
      if (!extracted) return std::nullopt;
      // Its own injection wins; with nothing of its own the forwarded header may still go.
      if (extracted->empty() && forwards && got && !got->empty()) return std::nullopt;
      return extracted;
    }
    if (forwards) return got;
    return "";
  }

  void Carry() {
    tracestate_ = Carried{kTracestateViolation, "tracecontext", !load_.tracestate.empty(), {}, {}};
    baggage_ = Carried{kBaggageViolation, "baggage", !load_.baggage.empty(), {}, {}};
    for (Carried* c : {&tracestate_, &baggage_}) {
      c->sent.resize(hops_.size());
      c->received.resize(hops_.size());
      if (!c->active) continue;
      for (size_t i = 0; i < hops_.size(); ++i) {  // callers come before their callees
        c->sent[i] = ExpectedSent(i, *c);
        const Hop& h = hops_[i];
        if (h.seen) {
          const std::string& raw = c == &tracestate_ ? h.seen->tracestate : h.seen->baggage;
          if (!Cut(raw)) c->received[i] = raw;  // else unknown
        } else {
          c->received[i] = c->sent[i];
        }
      }
    }
  }

  // The trace id hop i continued, when known (the driver's is the ledger's).
  std::optional<TraceId> TraceOf(int i) const {
    if (i < 0) return load_.SendsContext() ? std::optional<TraceId>(entry_.trace_id) : std::nullopt;
    const Hop& h = hops_[static_cast<size_t>(i)];
    if (h.seen)
      return h.seen->has_context ? std::optional<TraceId>(h.seen->trace_id) : std::nullopt;
    if (h.external) return TraceOf(h.caller);
    return std::nullopt;
  }

  void CheckCarried(size_t i, const Carried& c, TraceVerdict& verdict) {
    if (!c.active || !c.sent[i] || c.sent[i]->empty()) return;
    const Hop& h = hops_[i];
    const WireObservation& o = *h.seen;
    const std::string_view received = c.format == "tracecontext" ? o.tracestate : o.baggage;
    // Lost with the whole context, or under a restarted trace: the break is the verdict there.
    if (!AnyContextHeader(o) || Cut(received)) return;
    if (c.format == "tracecontext" && !HasHeader(o, "traceparent")) return;
    const std::optional<TraceId> continued = TraceOf(h.caller);
    if (continued && o.has_context && o.trace_id != *continued) return;
    const std::vector<std::string> problems = c.format == "tracecontext"
                                                  ? TracestateProblems(*c.sent[i], received)
                                                  : BaggageProblems(*c.sent[i], received);
    if (problems.empty()) return;
    std::string origin;
    if (h.caller < 0) {
      origin = fmt::format("the load entry's {}", c.kind);
    } else {
      const Hop& caller = hops_[static_cast<size_t>(h.caller)];
      origin = fmt::format("sent by {} at hop {}", CallerName(caller), caller.hop);
      // Into a real service nothing is seen: a drop fault on the call into it is named.
      const FaultKind drop =
          c.format == "tracecontext" ? FaultKind::kDropTracestate : FaultKind::kDropBaggage;
      for (const Fault& f : scenario_.faults) {
        if (caller.external && f.kind == drop && f.service == CallerName(caller) &&
            (f.callee.empty() || f.callee == caller.service)) {
          origin += fmt::format(", whose {} fault applies to its calls to {}", FaultKindName(drop),
                                caller.service);
          break;
        }
      }
    }
    // The caller's own drop fault on this edge, when the scenario has one: the cause, named.
    const FaultKind own_drop =
        c.format == "tracecontext" ? FaultKind::kDropTracestate : FaultKind::kDropBaggage;
    for (const Fault& f : scenario_.faults) {
      if (h.caller >= 0 && f.kind == own_drop && f.service == CallerName(h) &&
          (f.callee.empty() || f.callee == h.service)) {
        origin += fmt::format("; {} has a {} fault on its calls to {}", CallerName(h),
                              FaultKindName(own_drop), h.service);
        break;
      }
    }
    const std::string what = received.empty() ? fmt::format("no {}", c.kind)
                                              : fmt::format("{} {}", c.kind, Quote(received));
    verdict.violations.push_back(
        Violation{std::string(c.kind), h.hop, CallerName(h),
                  fmt::format("{} received {} from {} at hop {}: {} ({})", h.service, what,
                              CallerName(h), h.hop, fmt::join(problems, "; "), origin)});
  }

  void CheckForms(size_t i, TraceVerdict& verdict) {
    const Hop& h = hops_[i];
    for (const auto& [name, value] : h.seen->headers) {
      if (name == "uber-trace-id" &&
          (value.find("%3A") != std::string::npos || value.find("%3a") != std::string::npos)) {
        verdict.violations.push_back(Violation{
            std::string(kWireFormatViolation), h.hop, CallerName(h),
            fmt::format("{} received `{}: {}` URL-encoded from {} at hop {} (readers such as "
                        "rustracing_jaeger and Kamon do not decode it: jaeger-client-java#720)",
                        h.service, name, value, CallerName(h), h.hop)});
      } else if (name == "x-b3-sampled" && (value == "true" || value == "false")) {
        verdict.violations.push_back(Violation{
            std::string(kWireFormatViolation), h.hop, CallerName(h),
            fmt::format("{} received `{}: {}` from {} at hop {} (B3 senders write 1 or 0; "
                        "true/false is only to be accepted from old tracers)",
                        h.service, name, value, CallerName(h), h.hop)});
      }
    }
  }

  int TreeServer(const Hop& h) const {
    for (size_t k = 0; k < tree_.spans.size(); ++k) {
      const ExpectedSpan& e = tree_.spans[k];
      if (e.kind == KindOf(h) && !e.linked && e.hop == h.hop && e.service == h.service) {
        return static_cast<int>(k);
      }
    }
    return -1;
  }

  // The span a hop's service records on receiving: SERVER for a call, CONSUMER for a delivery.
  static SpanKind KindOf(const Hop& h) {
    return h.consumer != nullptr ? SpanKind::kConsumer : SpanKind::kServer;
  }

  static bool Missing(const TraceVerdict& verdict, const Hop& h) {
    return std::any_of(verdict.missing.begin(), verdict.missing.end(), [&](const MissingSpan& m) {
      return m.kind == KindOf(h) && m.hop == h.hop && m.service == h.service;
    });
  }

  // A batch span is a root of its own trace: its decision never follows the message's flag.
  bool ParentBased(const Hop& h) const {
    if (h.consumer != nullptr && h.consumer->IsBatch()) return false;
    return h.config != nullptr && h.config->sampling.kind == SamplingPolicy::Kind::kParentBased;
  }

  // Whether the caller of hop i recorded its own span (by what it received and its policy; the
  // expected tree when that decides), known from the wire.
  // A real caller's span is its own to record: with a verdict, only one found counts.
  bool CallerRecorded(const Hop& h, const TraceVerdict* verdict = nullptr) const {
    if (h.caller < 0) return load_.sampled != EntrySampling::kNotSampled;
    const Hop& c = hops_[static_cast<size_t>(h.caller)];
    if (c.seen && ReceivedDebugFlag(*c.seen)) return true;
    // The caller sent another trace id than it received: it started a trace of its own
    // (new-trace), deciding as a root, so the flag it received says nothing.
    if (c.seen && h.seen && c.seen->has_context && h.seen->has_context &&
        c.seen->trace_id != h.seen->trace_id) {
      return TreeServer(c) >= 0 || h.seen->sampled;
    }
    if (c.seen && c.seen->has_context && ParentBased(c)) return c.seen->sampled;
    if (c.external && verdict != nullptr && Missing(*verdict, c)) return false;
    return TreeServer(c) >= 0;
  }

  bool ClearedSampled(size_t i, const TraceVerdict* verdict = nullptr) const {
    const Hop& h = hops_[i];
    return h.seen && h.seen->has_context && !h.seen->sampled && !ReceivedDebugFlag(*h.seen) &&
           ParentBased(h) && CallerRecorded(h, verdict);
  }

  // Whether hop i should have had the driver's debug flag (its caller had it) but did not read
  // one: its caller's formats or a fault lost it, so its sampler decided instead.
  bool DebugLost(size_t i) const {
    const Hop& h = hops_[i];
    if (load_.sampled != EntrySampling::kDebug || !h.seen || h.config == nullptr) return false;
    return CallerHadDebug(h.caller) && !ReadsDebugFrom(*h.seen, h.config->extract);
  }

  // Whether the caller of hop i had the debug flag to pass on.
  bool CallerHadDebug(int caller) const {
    if (caller < 0) return load_.sampled == EntrySampling::kDebug;
    const Hop& c = hops_[static_cast<size_t>(caller)];
    // A flag it could not read is said at its own edge, not again below it.
    if (c.seen) return c.config != nullptr && ReadsDebugFrom(*c.seen, c.config->extract);
    return c.external && CallerHadDebug(c.caller);
  }

  void Explain(TraceVerdict& verdict, const std::string& sentence) {
    if (verdict.explanation.find(sentence) != std::string::npos) return;
    verdict.explanation += (verdict.explanation.empty() ? "" : "; ") + sentence;
  }

  void ExplainFlags(size_t i, TraceVerdict& verdict) {
    const Hop& h = hops_[i];
    const WireObservation& o = *h.seen;
    const std::string caller = CallerName(h);
    const std::vector<std::string> own =
        h.config != nullptr ? h.config->extract : std::vector<std::string>{};
    if (Missing(verdict, h) && ClearedSampled(i, &verdict)) {
      Explain(verdict, fmt::format("{} sent sampled=0 to {} at hop {} (received {})", caller,
                                   h.service, h.hop, QuoteContextHeader(o, own)));
    }
    if (o.has_context && o.sampled && ParentBased(h) && !CallerRecorded(h)) {
      const std::string sentence =
          fmt::format("{} sent sampled=1 to {} at hop {} but recorded no span of its own", caller,
                      h.service, h.hop);
      bool below = false;
      for (Violation& v : verdict.violations) {
        if (v.hop != h.hop && !v.hop.starts_with(h.hop + ".")) continue;
        below = true;
        if (v.hop == h.hop && v.explanation.find(sentence) == std::string::npos) {
          v.explanation += "; " + sentence;
        }
      }
      if (below) Explain(verdict, sentence);
    }
    if (load_.sampled == EntrySampling::kDebug && Missing(verdict, h) && CallerHadDebug(h.caller)) {
      if (!ReceivedDebugFlag(o)) {
        Explain(verdict,
                fmt::format("{} received no debug flag from {} at hop {} (received {}): {}",
                            h.service, caller, h.hop, QuoteContextHeader(o, own), WhyNoDebug(h)));
      } else if (!ReadsDebugFrom(o, own)) {
        Explain(verdict,
                fmt::format("{} received the debug flag from {} at hop {} ({}) but reads "
                            "only {}",
                            h.service, caller, h.hop, QuoteContextHeader(o, {}), Joined(own)));
      }
    }
  }

  // Why hop h's caller did not pass the debug flag on: the formats it injects, or a fault.
  std::string WhyNoDebug(const Hop& h) const {
    const std::string caller = CallerName(h);
    const std::vector<std::string>& formats =
        h.caller < 0 ? driver_formats_
        : hops_[static_cast<size_t>(h.caller)].config != nullptr
            ? hops_[static_cast<size_t>(h.caller)].config->Injects()
            : driver_formats_;
    const bool capable = Has(formats, "b3") || Has(formats, "b3multi") || Has(formats, "jaeger");
    if (!capable) {
      return fmt::format("{} injects {}, which cannot carry the debug flag", caller,
                         Joined(formats));
    }
    for (const Fault& f : scenario_.faults) {
      if (f.kind == FaultKind::kDebugIgnored && f.service == caller &&
          (f.callee.empty() || f.callee == h.service)) {
        return fmt::format("debug-ignored fault on {}", caller);
      }
    }
    return fmt::format("{} injects {} but dropped the flag", caller, Joined(formats));
  }

  const Scenario& scenario_;
  const LoadEntry& load_;
  const ExpectedTree& tree_;
  const LedgerEntry& entry_;
  std::vector<Hop> hops_;
  std::vector<std::string> driver_formats_;
  std::vector<std::optional<SpanContext>> extracted_;
  std::map<std::string, std::unique_ptr<Propagator>> propagators_;
  Carried tracestate_;
  Carried baggage_;
};

}  // namespace

std::vector<std::string> TracestateProblems(std::string_view expected_list,
                                            std::string_view received_list) {
  const std::vector<Member> expected = TracestateMembers(expected_list);
  bool has_own = false;
  const std::vector<Member> received = TracestateMembers(received_list, &has_own);
  const bool full = received.size() + (has_own ? 1 : 0) >= kMaxTracestateMembers;
  if (AllowedTracestateChange(expected, received, full)) return {};
  std::vector<std::string> problems;
  std::vector<std::string> dropped;
  for (const Member& e : expected) {
    if (ByKey(received, e.key) == nullptr) dropped.push_back(Quote(e.text));
  }
  if (!dropped.empty()) problems.push_back(Listed(dropped, "dropped"));
  // The leading run of new or updated members is allowed; behind it, order and values must hold.
  size_t front = 0;
  while (front < received.size() &&
         std::find(expected.begin(), expected.end(), received[front]) == expected.end()) {
    ++front;
  }
  if (front > 1) {
    std::vector<std::string> quoted;
    for (size_t k = 0; k < front; ++k) quoted.push_back(Quote(received[k].text));
    problems.push_back(Listed(quoted,
                              "put at the front (one participant adds or updates only "
                              "its own member)"));
  }
  std::vector<Member> kept;
  for (size_t k = front; k < received.size(); ++k) {
    const Member& r = received[k];
    const Member* sent = ByKey(expected, r.key);
    if (sent == nullptr) {
      problems.push_back(fmt::format("member {} added behind others (new members go to the front)",
                                     Quote(r.text)));
    } else if (sent->text != r.text) {
      problems.push_back(
          fmt::format("member {} changed to {} in place (a vendor that modifies its "
                      "member moves it to the front)",
                      Quote(sent->text), Quote(r.text)));
    } else {
      kept.push_back(r);
    }
  }
  std::vector<Member> order;
  for (const Member& e : expected) {
    if (std::find(kept.begin(), kept.end(), e) != kept.end()) order.push_back(e);
  }
  if (order != kept) {
    problems.push_back(fmt::format("members reordered: {} sent, {} received", Quote(Text(order)),
                                   Quote(Text(kept))));
  }
  if (problems.empty()) {
    problems.push_back(fmt::format("{} sent", Quote(Text(expected))));
  }
  return problems;
}

std::vector<std::string> BaggageProblems(std::string_view expected_list,
                                         std::string_view received_list) {
  const std::vector<BaggageMember> expected = BaggageMembers(expected_list);
  std::vector<BaggageMember> received = BaggageMembers(received_list);
  std::vector<std::string> dropped;
  std::vector<std::string> problems;
  std::vector<const BaggageMember*> unmatched;
  for (const BaggageMember& e : expected) {
    auto same = std::find(received.begin(), received.end(), e);
    if (same != received.end()) {
      received.erase(same);  // each member received matches one sent (keys may repeat)
      continue;
    }
    unmatched.push_back(&e);
  }
  for (const BaggageMember* e : unmatched) {
    auto other = std::find_if(received.begin(), received.end(),
                              [&](const BaggageMember& r) { return r.key == e->key; });
    if (other == received.end()) {
      dropped.push_back(Quote(BaggageText(*e)));
    } else {
      problems.push_back(fmt::format("member {} changed to {}", Quote(BaggageText(*e)),
                                     Quote(BaggageText(*other))));
      received.erase(other);
    }
  }
  if (!dropped.empty()) problems.insert(problems.begin(), Listed(dropped, "dropped"));
  return problems;
}

bool ReceivedDebugFlag(const WireObservation& o) { return !DebugFormats(o).empty(); }

namespace {

std::vector<std::string> DebugFormats(const WireObservation& o) {
  std::vector<std::string> formats;
  auto add = [&formats](std::string format) {
    if (!Has(formats, format)) formats.push_back(std::move(format));
  };
  for (const auto& [name, value] : o.headers) {
    if (name == "x-b3-flags" && Trim(value) == "1") add("b3multi");
    if (name == "b3") {
      const std::string_view v = Trim(value);
      if (v == "d") add("b3");
      // {trace}-{span}-{sampling}[-{parent}]: the third field.
      const size_t first = v.find('-');
      if (first == std::string_view::npos) continue;
      const size_t second = v.find('-', first + 1);
      if (second == std::string_view::npos) continue;
      const std::string_view sampling = v.substr(second + 1, v.find('-', second + 1) - second - 1);
      if (sampling == "d") add("b3");
    }
    if (name == "uber-trace-id") {
      std::string v(Trim(value));
      for (size_t at; (at = v.find("%3A")) != std::string::npos ||
                      (at = v.find("%3a")) != std::string::npos;) {
        v.replace(at, 3, ":");
      }
      const size_t colon = v.rfind(':');
      if (colon == std::string::npos) continue;
      const std::string flags = v.substr(colon + 1);
      if (flags.empty() || flags.size() > 2 ||
          !std::all_of(flags.begin(), flags.end(), [](char c) { return std::isxdigit(c) != 0; })) {
        continue;
      }
      if ((std::stoul(flags, nullptr, 16) & 0x2) != 0) add("jaeger");
    }
  }
  return formats;
}

}  // namespace

namespace {

// Whether the wire can say anything about this trace: the entry starts a tracestate, a baggage
// or debug; the trace already lacks spans or has violations to explain; or something in the
// scenario may write a non-canonical header (a real service, a urlencode fault, forwarding).
// Clean traces of other scenarios skip the lookups (each takes a wire-log shard lock the
// services also take on every request).
bool WireCanTell(const Scenario& scenario, const LoadEntry& load_entry,
                 const TraceVerdict& verdict) {
  if (!load_entry.tracestate.empty() || !load_entry.baggage.empty() ||
      load_entry.sampled == EntrySampling::kDebug) {
    return true;
  }
  if (verdict.status != TraceStatus::kComplete || !verdict.violations.empty()) return true;
  for (const Service& service : scenario.services) {
    if (service.IsExternal() || !service.forward.empty()) return true;
  }
  for (const Fault& fault : scenario.faults) {
    if (fault.kind == FaultKind::kUrlencode) return true;
  }
  return false;
}

}  // namespace

void CheckWireContext(const Scenario& scenario, const LoadEntry& load_entry,
                      const ExpectedTree& tree, const LedgerEntry& entry, const WireLog& wire_log,
                      TraceVerdict& verdict) {
  if (!WireCanTell(scenario, load_entry, verdict)) return;
  WireContextChecker(scenario, load_entry, tree, entry, wire_log).Check(verdict);
}

std::vector<size_t> ClearedByTheWire(const Scenario& scenario, const ExpectedTree& tree,
                                     const LedgerEntry& entry, const WireLog& wire_log) {
  if (entry.entry >= scenario.load.entries.size()) return {};
  return WireContextChecker(scenario, scenario.load.entries[entry.entry], tree, entry, wire_log)
      .Cleared();
}

}  // namespace tracerig
