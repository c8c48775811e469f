// Messaging in scenarios: publish calls (`{ publish = "orders", routing_key = "created" }`),
// [[services.consumers]] with their bindings, batches and dead-letter queues; then, once every
// service is read, where each publish goes (exactly one consumer) and which queues get nothing.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <iterator>

#include "broker/topic.h"
#include "core/text.h"
#include "topology/messaging.h"
#include "topology/parse_internal.h"
#include "topology/parse_values.h"

namespace tracerig::parse_internal {
namespace {

constexpr std::string_view kPublishKeys[] = {"publish", "routing_key", "probability", "repeat",
                                             "request_bytes"};
// Call keys that have no meaning for a publish, and why.
struct NotWithPublish {
  std::string_view key;
  std::string_view why;
};
constexpr std::string_view kRoutedByBinding =
    "a publish goes to an exchange, and the broker routes it to the queue whose binding matches "
    "(write the consumer's \"binding\" to match it instead)";
constexpr std::string_view kRedelivered =
    "a publish is not retried; a consumer redelivers a message it failed (its \"redeliveries\")";
constexpr NotWithPublish kNotWithPublish[] = {
    {"service", kRoutedByBinding},
    {"route", kRoutedByBinding},
    {"timeout", "a publish does not wait for its consumer, so there is nothing to time out"},
    {"retries", kRedelivered},
    {"retry_backoff", kRedelivered},
};
constexpr std::string_view kConsumerKeys[] = {"queue",        "binding",     "prefetch",
                                              "batch",        "latency",     "error_rate",
                                              "redeliveries", "dead_letter", "calls"};
constexpr std::string_view kBatchKeys[] = {"size", "wait"};
// AMQP short strings: exchange, queue and routing key names are at most 255 bytes.
constexpr size_t kMaxAmqpName = 255;
constexpr int64_t kMaxPrefetch = 65535;  // AMQP basic.qos prefetch-count is 16 bits
constexpr int64_t kMaxBatch = 10000;

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// Why `name` cannot be an exchange or queue name (`what` is "exchange" or "queue"), or "".
std::string NameProblem(std::string_view name, std::string_view what) {
  if (name.find(':') != std::string_view::npos && what == "exchange") {
    return fmt::format(
        "exchange name \"{}\" must not contain ':' (a destination is written "
        "\"exchange:routing key\")",
        name);
  }
  if (name.size() > kMaxAmqpName) {
    return fmt::format("{} name \"{}\" is longer than the {} bytes AMQP allows", what, name,
                       kMaxAmqpName);
  }
  if (!std::all_of(name.begin(), name.end(), IsNameChar)) {
    return fmt::format("invalid {} name \"{}\" (use letters, digits, '-', '_' and '.')", what,
                       name);
  }
  if (name.starts_with("amq.")) {
    return fmt::format(
        "{} name \"{}\" is reserved: RabbitMQ keeps names starting with \"amq.\" "
        "for itself",
        what, name);
  }
  return "";
}

// The queues of a service's consumers, for suggestions.
std::vector<std::string_view> QueuesOf(const Service& service) {
  std::vector<std::string_view> queues;
  for (const Consumer& c : service.consumers) queues.push_back(c.queue);
  return queues;
}

std::string Binding(const Consumer& c) { return c.exchange + ":" + c.binding_key; }

}  // namespace

bool ScenarioParser::CheckExchangeName(const toml::node& node, std::string_view name,
                                       std::string_view key) {
  if (name.empty()) {
    Error(node.source(), fmt::format("\"{}\" must name an exchange, got an empty string", key));
    return false;
  }
  if (std::string problem = NameProblem(name, "exchange"); !problem.empty()) {
    Error(node.source(), problem);
    return false;
  }
  return true;
}

bool ScenarioParser::CheckQueueName(const toml::node& node, std::string_view name,
                                    std::string_view key) {
  if (name.empty()) {
    Error(node.source(), fmt::format("\"{}\" must name a queue, got an empty string", key));
    return false;
  }
  if (std::string problem = NameProblem(name, "queue"); !problem.empty()) {
    Error(node.source(), problem);
    return false;
  }
  return true;
}

// A call with "publish" (or a stray "routing_key"). Its site is kept whenever the exchange and
// routing key are readable, so that the second pass routes it even when an option is wrong.
std::optional<Call> ScenarioParser::ParsePublish(const toml::table& t, const CallOwner& owner,
                                                 const Service& caller) {
  const toml::node* p = t.get("publish");
  if (p == nullptr) {
    Error(t.get("routing_key")->source(),
          "\"routing_key\" needs \"publish\" (the exchange the message goes to), as in "
          "{ publish = \"orders\", routing_key = \"created\" }");
    calls_incomplete_ = true;
    return std::nullopt;
  }
  if (caller.IsExternal()) {
    Error(p->source(), fmt::format("\"publish\" is not allowed on a call of external service "
                                   "\"{}\": tracerig cannot observe a real service's messages "
                                   "(declare only its calls to simulated services)",
                                   caller.name));
    calls_incomplete_ = true;
    return std::nullopt;
  }
  std::vector<std::string_view> known(std::begin(kPublishKeys), std::end(kPublishKeys));
  for (const NotWithPublish& n : kNotWithPublish) known.push_back(n.key);
  bool ok = CheckKeys(t, "publish call", known);
  for (const NotWithPublish& n : kNotWithPublish) {
    if (const toml::node* v = t.get(n.key)) {
      Error(v->source(), fmt::format("\"{}\" does not go with \"publish\": {}", n.key, n.why));
      ok = false;
    }
  }
  Call call;
  call.where = Loc(t.source());
  auto exchange = AsString(*p, "publish");
  if (exchange && !CheckExchangeName(*p, *exchange, "publish")) exchange.reset();
  std::optional<std::string> routing_key = std::string();
  if (const toml::node* n = t.get("routing_key")) {
    routing_key = AsString(*n, "routing_key");
    if (routing_key && routing_key->find_first_of("*#") != std::string::npos) {
      Error(n->source(), fmt::format("routing_key \"{}\" has a wildcard: a publish names one key "
                                     "(wildcards go in a consumer's \"binding\")",
                                     *routing_key));
      routing_key.reset();
    } else if (routing_key && routing_key->size() > kMaxAmqpName) {
      Error(n->source(), fmt::format("routing_key \"{}\" is longer than the {} bytes AMQP allows",
                                     *routing_key, kMaxAmqpName));
      routing_key.reset();
    }
  }
  if (const auto* n = t.get("probability")) {
    auto v = AsFraction(*n, "probability");
    if (v && *v == 0) {
      Error(n->source(), "probability 0 means the publish never happens; remove it");
      v.reset();
    }
    ok = ok && v.has_value();
    call.probability = v.value_or(1.0);
  }
  if (const auto* n = t.get("repeat")) {
    auto v = AsInteger(*n, "repeat", 1, 1000);
    ok = ok && v.has_value();
    call.repeat = static_cast<uint32_t>(v.value_or(1));
  }
  if (const auto* n = t.get("request_bytes")) {
    auto v = AsSize(*n, "request_bytes");
    ok = ok && v.has_value();
    call.request_bytes = v.value_or(0);
  }
  if (!exchange || !routing_key) {
    consumers_incomplete_ = true;
    return std::nullopt;
  }
  call.publish = *exchange;
  call.routing_key = *routing_key;
  publish_sites_.push_back(PublishSite{owner, *exchange, *routing_key, call.where});
  if (!ok) return std::nullopt;
  return call;
}

void ScenarioParser::ParseConsumers(const ServiceBody& body, size_t service_index,
                                    Service& service) {
  const toml::node* node = body.get("consumers");
  const auto tables = AsTableArray(*node, "consumers", "services.consumers");
  if (tables.empty()) {
    if (node->is_array()) {
      Error(node->source(), "\"consumers\" must list at least one consumer (or leave it out)");
    }
    consumers_incomplete_ = true;
    return;
  }
  for (const toml::table* t : tables) {
    const size_t consumer_index = service.consumers.size();
    if (auto consumer = ParseConsumer(*t, service_index, consumer_index, service)) {
      service.consumers.push_back(std::move(*consumer));
    }
  }
}

// One [[services.consumers]] table. Its calls are parsed as a route's, owned by the consumer.
std::optional<Consumer> ScenarioParser::ParseConsumer(const toml::table& t, size_t service_index,
                                                      size_t consumer_index,
                                                      const Service& service) {
  CheckKeys(t, "consumer", kConsumerKeys);
  Consumer consumer;
  consumer.where = Loc(t.source());
  ConsumerSite site{service_index, consumer_index, consumer.where,
                    std::nullopt,  std::nullopt,   std::nullopt};
  const size_t errors_before = diagnostics_.size();  // of the parts that decide routing
  if (const auto* n = Require(t, "queue", "consumer")) {
    auto v = AsString(*n, "queue");
    if (v && CheckQueueName(*n, *v, "queue")) {
      consumer.queue = *v;
      consumer.where = Loc(n->source());  // so messages about the consumer point at its queue
      site.queue_at = consumer.where;
      auto [it, inserted] = queue_at_.emplace(*v, site.queue_at);
      if (!inserted) {
        const SourceLocation& first = it->second;
        Error(n->source(),
              fmt::format("duplicate queue \"{}\" (first consumed at {}): each queue has one "
                          "consumer",
                          *v,
                          first.file == site.queue_at.file ? fmt::format("line {}", first.line)
                                                           : first.ToString()));
      }
    }
  }
  if (const auto* n = t.get("binding")) {
    if (ParseBinding(*n, consumer)) site.binding_at = Loc(n->source());
  }
  if (const auto* n = t.get("dead_letter")) {
    auto v = AsString(*n, "dead_letter");
    if (v && CheckQueueName(*n, *v, "dead_letter")) {
      if (*v == consumer.queue) {
        Error(n->source(), fmt::format("\"dead_letter\" \"{}\" is the consumer's own queue: a "
                                       "dead-lettered message would come straight back (name "
                                       "another queue)",
                                       *v));
      } else {
        consumer.dead_letter = *v;
        site.dead_letter_at = Loc(n->source());
      }
    }
  }
  if (diagnostics_.size() != errors_before) consumers_incomplete_ = true;

  bool batch_ok = true;
  if (const auto* n = t.get("batch")) batch_ok = ParseBatch(*n, consumer);
  if (const auto* n = t.get("prefetch")) {
    if (auto v = AsInteger(*n, "prefetch", 1, kMaxPrefetch)) {
      consumer.prefetch = static_cast<uint32_t>(*v);
      if (batch_ok && consumer.prefetch < consumer.batch.size) {
        Error(n->source(),
              fmt::format("\"prefetch\" ({}) must be at least the batch size ({}): the broker "
                          "would never deliver a full batch",
                          consumer.prefetch, consumer.batch.size));
      }
    }
  } else {
    consumer.prefetch = std::max(consumer.prefetch, consumer.batch.size);
  }
  if (const auto* n = t.get("latency")) {
    if (auto latency = ParseLatency(*n)) consumer.latency = *latency;
  }
  if (const auto* n = t.get("error_rate")) {
    if (auto v = AsFraction(*n, "error_rate")) consumer.error_rate = *v;
  }
  if (const auto* n = t.get("redeliveries")) {
    if (auto v = AsInteger(*n, "redeliveries", 0, 100)) {
      consumer.redeliveries = static_cast<uint32_t>(*v);
      site.redeliveries_at = Loc(n->source());
    }
  }
  if (const auto* n = t.get("calls")) {
    consumer.calls = ParseCalls(*n, CallOwner{service_index, 0, consumer_index}, service);
  }
  consumer_sites_.push_back(site);
  return consumer;
}

// binding = "exchange:binding key": the exchange as publishes name it, then a topic pattern whose
// '.'-separated words are literal, "*" (one word) or "#" (zero or more words).
bool ScenarioParser::ParseBinding(const toml::node& node, Consumer& consumer) {
  auto v = AsString(node, "binding");
  if (!v) return false;
  const size_t colon = v->find(':');
  if (colon == std::string::npos) {
    Error(node.source(), fmt::format("binding \"{}\" must be \"exchange:binding key\", as in "
                                     "\"{}:order.*\"",
                                     *v, v->empty() ? "orders" : *v));
    return false;
  }
  const std::string exchange = v->substr(0, colon);
  const std::string key = v->substr(colon + 1);
  if (exchange.empty()) {
    Error(node.source(), fmt::format("binding \"{}\" names no exchange before ':'", *v));
    return false;
  }
  if (std::string problem = NameProblem(exchange, "exchange"); !problem.empty()) {
    Error(node.source(), fmt::format("binding \"{}\": {}", *v, problem));
    return false;
  }
  if (key.size() > kMaxAmqpName) {
    Error(node.source(), fmt::format("binding key of \"{}\" is longer than the {} bytes AMQP "
                                     "allows",
                                     *v, kMaxAmqpName));
    return false;
  }
  for (size_t start = 0; start <= key.size();) {
    const size_t dot = std::min(key.find('.', start), key.size());
    const std::string_view word = std::string_view(key).substr(start, dot - start);
    start = dot + 1;
    if (word.find_first_of("*#") == std::string_view::npos || word == "*" || word == "#") {
      continue;
    }
    Error(node.source(), fmt::format("binding key \"{}\" in \"{}\": '*' and '#' stand for whole "
                                     "words between dots, as in \"order.*\" (\"{}\" is neither)",
                                     key, *v, word));
    return false;
  }
  consumer.exchange = exchange;
  consumer.binding_key = key;
  return true;
}

// batch = { size = N, wait = "50ms" }: `wait` is required when size > 1.
bool ScenarioParser::ParseBatch(const toml::node& node, Consumer& consumer) {
  const toml::table* t = node.as_table();
  if (t == nullptr) {
    Error(node.source(), fmt::format("\"batch\" must be a table such as {{ size = 10, wait = "
                                     "\"50ms\" }}, got {}",
                                     TypeName(node)));
    return false;
  }
  CheckKeys(*t, "batch", kBatchKeys);
  const toml::node* size_node = Require(*t, "size", "batch");
  if (size_node == nullptr) return false;
  auto size = AsInteger(*size_node, "size", 1, kMaxBatch);
  if (!size) return false;
  consumer.batch.size = static_cast<uint32_t>(*size);
  if (const toml::node* n = t->get("wait")) {
    auto wait = AsPositiveDuration(*n, "wait");
    if (!wait) return false;
    consumer.batch.wait_ns = *wait;
  } else if (*size > 1) {
    Error(t->source(), fmt::format("missing required key \"wait\" in batch of size {} (how long "
                                   "a batch waits for more messages after its first)",
                                   *size));
    return false;
  }
  return true;
}

// Every publish reaches exactly one consumer, as the broker will route it. Checked only when every
// publish and consumer was read: a broken binding is most likely the one meant, and is reported.
void ScenarioParser::CheckMessaging() {
  if (consumers_incomplete_) return;
  for (const PublishSite& p : publish_sites_) {
    Call call;
    call.publish = p.exchange;
    call.routing_key = p.routing_key;
    const std::vector<ConsumerRef> reached = ConsumersOf(scenario_, call);
    if (reached.size() == 1) continue;
    if (reached.empty()) {
      std::vector<std::string> bindings;
      for (const Service& s : scenario_.services) {
        for (const Consumer& c : s.consumers) {
          if (!c.exchange.empty()) {
            bindings.push_back(fmt::format("\"{}\" (queue \"{}\")", Binding(c), c.queue));
          }
        }
      }
      Error(p.where,
            fmt::format("publish to {} reaches no queue: no consumer's binding matches it ({})",
                        call.Destination(),
                        bindings.empty()
                            ? fmt::format("no queue has a binding; add a [[services.consumers]] "
                                          "with binding = \"{}\"",
                                          call.Destination())
                            : fmt::format("bindings: {}", fmt::join(bindings, ", "))));
      continue;
    }
    std::vector<std::string> queues;
    for (const ConsumerRef& r : reached) {
      queues.push_back(fmt::format("\"{}\" (binding \"{}\", service \"{}\")", r.consumer->queue,
                                   Binding(*r.consumer), r.service->name));
    }
    Error(p.where, fmt::format("publish to {} reaches {} queues: {}; fan-out to several queues "
                               "is not supported yet (make one binding match it)",
                               call.Destination(), queues.size(), fmt::join(queues, ", ")));
  }
  CheckDeadLetterConsumers();
}

// A dead-lettered message is processed once by the dead-letter queue's consumer (hop H + "q"):
// redelivering it or dead-lettering it again has no hop of its own yet, so neither is accepted.
void ScenarioParser::CheckDeadLetterConsumers() {
  for (const ConsumerSite& site : consumer_sites_) {
    const Consumer& c = scenario_.services[site.service].consumers[site.consumer];
    if (c.redeliveries == 0 && c.dead_letter.empty()) continue;
    const Consumer* source = nullptr;  // the first consumer dead-lettering to c's queue
    for (const Service& s : scenario_.services) {
      for (const Consumer& other : s.consumers) {
        if (source == nullptr && &other != &c && other.dead_letter == c.queue) source = &other;
      }
    }
    if (source == nullptr) continue;
    auto error = [&](const SourceLocation& at, std::string_view key) {
      Error(at, fmt::format("\"{}\" on the consumer of queue \"{}\", which reads the dead-letter "
                            "queue \"{}\" of queue \"{}\": a dead-lettered message is processed "
                            "once; \"redeliveries\" and \"dead_letter\" are not supported there "
                            "yet (remove \"{}\")",
                            key, c.queue, c.queue, source->queue, key));
    };
    if (c.redeliveries > 0) error(site.redeliveries_at.value_or(c.where), "redeliveries");
    // A chain of dead letters that comes back to c is a cycle, reported as one by CheckCycles.
    bool cycle = false;
    std::string_view next = c.dead_letter;
    for (size_t steps = 0; !next.empty() && !cycle && steps <= consumer_sites_.size(); ++steps) {
      cycle = next == c.queue;
      const ConsumerRef reader = ConsumerOfQueue(scenario_, next);
      next = reader.consumer != nullptr ? std::string_view(reader.consumer->dead_letter) : "";
    }
    if (!c.dead_letter.empty() && !cycle) {
      error(site.dead_letter_at.value_or(c.where), "dead_letter");
    }
  }
}

// Queues that would receive nothing, and dead-letter queues nobody reads.
void ScenarioParser::WarnMessagingUnused() {
  if (consumers_incomplete_ || calls_incomplete_) return;
  std::vector<std::string_view> dead_letters;
  for (const Service& s : scenario_.services) {
    for (const Consumer& c : s.consumers) {
      if (!c.dead_letter.empty()) dead_letters.push_back(c.dead_letter);
    }
  }
  auto is_dead_letter = [&](std::string_view queue) {
    return std::find(dead_letters.begin(), dead_letters.end(), queue) != dead_letters.end();
  };
  for (const ConsumerSite& site : consumer_sites_) {
    const Service& s = scenario_.services[site.service];
    const Consumer& c = s.consumers[site.consumer];
    if (site.dead_letter_at && ConsumerOfQueue(scenario_, c.dead_letter).consumer == nullptr) {
      Warn(*site.dead_letter_at,
           fmt::format("no consumer reads dead-letter queue \"{}\": messages dead-lettered there "
                       "are dropped (add a [[services.consumers]] with queue = \"{}\")",
                       c.dead_letter, c.dead_letter));
    }
    if (c.batch.size == 1 && c.batch.wait_ns != 0) {
      Warn(c.where, fmt::format("batch \"wait\" of queue \"{}\" has no effect: its batch size is "
                                "1, so each message is processed on its own",
                                c.queue));
    }
    if (is_dead_letter(c.queue)) continue;
    if (c.exchange.empty()) {
      Warn(site.queue_at, fmt::format("queue \"{}\" receives nothing: it has no \"binding\" and "
                                      "no consumer dead-letters to it",
                                      c.queue));
      continue;
    }
    const bool reached =
        std::any_of(publish_sites_.begin(), publish_sites_.end(), [&](const PublishSite& p) {
          return p.exchange == c.exchange && TopicMatches(c.binding_key, p.routing_key);
        });
    if (!reached) {
      Warn(*site.binding_at,
           fmt::format("queue \"{}\" receives nothing: no publish in the scenario matches its "
                       "binding \"{}\"",
                       c.queue, Binding(c)));
    }
  }
  if (!scenario_.broker.url.empty() && !UsesBroker(scenario_)) {
    Warn(scenario_.broker.where,
         "[broker] has no effect: the scenario neither publishes nor "
         "consumes messages");
  }
}

// A consumer fault must be able to act on a consumer of its service (only `queue`'s, if given).
void ScenarioParser::CheckConsumerFault(const Fault& f, const FaultSite& site,
                                        const Service& service) {
  const std::string_view kind = FaultKindName(f.kind);
  if (service.consumers.empty()) {
    std::vector<std::string_view> consuming;
    for (const Service& s : scenario_.services) {
      if (!s.consumers.empty()) consuming.push_back(s.name);
    }
    Error(f.where,
          fmt::format("\"{}\" acts on consumers, but service \"{}\" has none ({})", kind, f.service,
                      consuming.empty()
                          ? std::string("add [[services.consumers]] to it")
                          : fmt::format("services with consumers: {}", QuotedList(consuming))));
    return;
  }
  std::vector<const Consumer*> targets;
  for (const Consumer& c : service.consumers) {
    if (f.queue.empty() || c.queue == f.queue) targets.push_back(&c);
  }
  if (targets.empty()) {
    if (!site.queue_at) return;  // an invalid queue name is reported already
    const ConsumerRef other = ConsumerOfQueue(scenario_, f.queue);
    Error(*site.queue_at,
          fmt::format("service \"{}\" consumes no queue \"{}\"{}", f.service, f.queue,
                      other.consumer != nullptr
                          ? fmt::format(" (service \"{}\" consumes it)", other.service->name)
                          : DidYouMean(f.queue, QueuesOf(service))));
    return;
  }
  const std::string who = f.queue.empty()
                              ? fmt::format("no consumer of service \"{}\"", f.service)
                              : fmt::format("the consumer of queue \"{}\" does not", f.queue);
  auto any = [&](auto&& pred) { return std::any_of(targets.begin(), targets.end(), pred); };
  auto never_fails = [&](std::string_view with) {
    return f.queue.empty()
               ? fmt::format(
                     "no consumer of service \"{}\" with {} ever fails a "
                     "message",
                     f.service, with)
               : fmt::format("the consumer of queue \"{}\" never fails a message", f.queue);
  };
  switch (f.kind) {
    case FaultKind::kBatchFirstParentOnly:
    case FaultKind::kLinkMissing:
      if (!any([](const Consumer* c) { return c->IsBatch(); })) {
        Error(f.where, fmt::format("\"{}\" acts on batches, but {} batch{} (give it batch = "
                                   "{{ size = 10, wait = \"50ms\" }})",
                                   kind, who, f.queue.empty() ? "es" : ""));
      }
      return;
    case FaultKind::kDlqDropsHeaders:
      if (!any([](const Consumer* c) { return !c->dead_letter.empty(); })) {
        Error(f.where, fmt::format("\"{}\" acts on dead-lettered messages, but {} {} a "
                                   "\"dead_letter\" queue",
                                   kind, who, f.queue.empty() ? "has" : "have"));
      } else if (!any([](const Consumer* c) {
                   return !c->dead_letter.empty() && c->error_rate > 0;
                 })) {
        Error(f.where, fmt::format("\"{}\" acts on dead-lettered messages, but {} (error_rate is "
                                   "0), so none is dead-lettered",
                                   kind, never_fails("a \"dead_letter\"")));
      }
      return;
    case FaultKind::kRetryDuplicatesHeaders:
      if (!any([](const Consumer* c) { return c->redeliveries > 0; })) {
        Error(f.where, fmt::format("\"{}\" acts on redelivered messages, but {} {} "
                                   "\"redeliveries\" (add redeliveries = 1 or more)",
                                   kind, who, f.queue.empty() ? "has" : "have"));
      } else if (!any([](const Consumer* c) { return c->redeliveries > 0 && c->error_rate > 0; })) {
        Error(f.where, fmt::format("\"{}\" acts on redelivered messages, but {} (error_rate is "
                                   "0), so none is redelivered",
                                   kind, never_fails("\"redeliveries\"")));
      } else if (std::find(service.extract.begin(), service.extract.end(), "tracecontext") ==
                 service.extract.end()) {
        // Readers of b3, b3multi and jaeger take the first of duplicated headers: the message's
        // own context, so the appended duplicate changes nothing they see.
        Error(f.where,
              fmt::format("\"{}\" needs a consumer that reads tracecontext: service \"{}\" "
                          "extracts {}, and a reader of those takes the first of duplicated "
                          "headers, the message's own context, so the duplicate changes nothing "
                          "(add \"tracecontext\" to its extract)",
                          kind, f.service,
                          service.extract.empty()
                              ? std::string("nothing")
                              : QuotedList(std::vector<std::string_view>(service.extract.begin(),
                                                                         service.extract.end()))));
      }
      return;
    default:
      return;
  }
}

}  // namespace tracerig::parse_internal
