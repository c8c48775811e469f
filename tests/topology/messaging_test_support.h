// Shared by the messaging runtime tests: scenarios with publishes and consumers built in C++, and
// a runtime on a FakeBroker (fake_broker.h) whose spans are polled with a deadline.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "tests/topology/fake_broker.h"
#include "tests/topology/service_runtime_test_support.h"
#include "topology/topology_runtime.h"

namespace tracerig::messaging_test_support {

using runtime_test_support::Attr;

inline Call Pub(std::string exchange, std::string routing_key) {
  Call c;
  c.publish = std::move(exchange);
  c.routing_key = std::move(routing_key);
  return c;
}

// `binding` "exchange:key"; "" = an unbound queue (a dead-letter queue).
inline Consumer Cons(std::string queue, std::string_view binding,
                     std::vector<CallStep> calls = {}) {
  Consumer c;
  c.queue = std::move(queue);
  if (!binding.empty()) {
    const size_t colon = binding.find(':');
    c.exchange = std::string(binding.substr(0, colon));
    c.binding_key = std::string(binding.substr(colon + 1));
  }
  c.calls = std::move(calls);
  return c;
}

// orders (GET /order) publishes to orders:created; fulfilment consumes queue "fulfil" and calls
// ship (Ship). Tests add to it.
inline Scenario OrderPipeline() {
  using runtime_test_support::Rt;
  using runtime_test_support::Seq;
  using runtime_test_support::Svc;
  using runtime_test_support::To;
  Scenario s;
  s.seed = 7;
  s.services = {Svc("orders", {Rt("GET /order", {Seq(Pub("orders", "created"))})}),
                Svc("fulfilment", {}), Svc("ship", {Rt("Ship")})};
  s.services[1].consumers = {Cons("fulfil", "orders:created", {Seq(To("ship", "Ship"))})};
  return s;
}

// An InMemorySpanSink that first shows each span to `on_submit` (when set before Start), on the
// recording service's thread.
class HookedSink final : public SpanSink {
 public:
  std::function<void(const Span&)> on_submit;
  void Submit(Span span) override {
    if (on_submit) on_submit(span);
    spans_.Submit(std::move(span));
  }
  std::vector<Span> spans() const { return spans_.spans(); }

 private:
  InMemorySpanSink spans_;
};

// A runtime on a FakeBroker, for one test.
class MessagingRig {
 public:
  // `fake`: on `broker` below; otherwise on the broker the scenario names (MakeBroker).
  explicit MessagingRig(Scenario scenario, bool fake = true)
      : scenario_(std::move(scenario)), fake_(fake) {}
  ~MessagingRig() { Stop(); }

  test_support::FakeBroker broker;

  Status Start() {
    TopologyOptions options;
    if (fake_) options.broker = &broker;
    runtime_ =
        std::make_unique<TopologyRuntime>(scenario_, sink_, SystemClock::Instance(), options);
    return runtime_->Start();
  }
  // Sends request `seq` to `service`'s `route` as the driver does; returns the status.
  unsigned Send(std::string_view service, std::string_view route, uint64_t seq) {
    return runtime_test_support::SendRoot(*runtime_->EndpointOf(service), route, seq);
  }
  // Polls the recorded spans until `done` holds or 10 s pass; false on the deadline.
  bool WaitFor(const std::function<bool(const std::vector<Span>&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done(sink_.spans())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return done(sink_.spans());
  }
  bool WaitForSpans(size_t count) {
    return WaitFor([count](const std::vector<Span>& spans) { return spans.size() >= count; });
  }
  void Stop() {
    if (runtime_) runtime_->Stop();
  }
  std::vector<Span> spans() const { return sink_.spans(); }
  TopologyRuntime& runtime() { return *runtime_; }
  // Called with every span as it is recorded; set before Start.
  void OnSubmit(std::function<void(const Span&)> hook) { sink_.on_submit = std::move(hook); }
  const Scenario& scenario() const { return scenario_; }

 private:
  Scenario scenario_;
  bool fake_ = true;
  HookedSink sink_;
  std::unique_ptr<TopologyRuntime> runtime_;
};

inline const Span* Find(const std::vector<Span>& spans, std::string_view service, SpanKind kind,
                        std::string_view hop) {
  return runtime_test_support::Find(spans, service, kind, hop);
}

inline std::string HeaderOf(const OutgoingMessage& message, std::string_view name) {
  for (const MessageHeader& h : message.headers) {
    if (h.name == name) return h.value;
  }
  return "<absent>";
}

inline size_t CountHeader(const OutgoingMessage& message, std::string_view name) {
  size_t n = 0;
  for (const MessageHeader& h : message.headers) n += h.name == name ? 1 : 0;
  return n;
}

inline std::string LinkAttr(const SpanLink& link, std::string_view key) {
  for (const Attribute& a : link.attributes) {
    if (a.key == key) return AttributeValueToString(a.value);
  }
  return "";
}

}  // namespace tracerig::messaging_test_support
