// A small in-memory Broker for the runtime's messaging tests: topic routing (broker/topic.h),
// per-queue FIFO, prefetch, ack, and put-back on Stop, with every accepted message kept for the
// tests to read. Deliveries are handed over inline (the runtime posts them to its own loop), so
// everything is synchronous and deterministic. It can be told to refuse publishes or to be
// unreachable.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/topic.h"

namespace tracerig::test_support {

class FakeBroker final : public Broker {
 public:
  bool unreachable = false;     // Declare fails (kUnavailable)
  bool refuse_publish = false;  // every Publish fails

  std::string Describe() const override { return "fake broker"; }

  Status Declare(const BrokerTopology& topology) override {
    std::lock_guard lock(mu_);
    if (unreachable) return MakeError(ErrorCode::kUnavailable, "connection refused");
    topology_ = topology;
    for (const QueueDeclaration& queue : topology.queues) queues_[queue.name];
    return Ok{};
  }

  void Publish(OutgoingMessage message, std::function<void(Status)> done) override {
    std::unique_lock lock(mu_);
    if (refuse_publish) {
      stats_.publish_failures++;
      lock.unlock();
      done(MakeError(ErrorCode::kUnavailable, "fake broker refuses publishes"));
      return;
    }
    stats_.published++;
    published_.push_back(message);
    std::vector<std::string> targets;
    if (message.exchange.empty()) {
      if (queues_.count(message.routing_key) != 0) targets.push_back(message.routing_key);
    } else {
      for (const BindingDeclaration& b : topology_.bindings) {
        if (b.exchange == message.exchange && TopicMatches(b.binding_key, message.routing_key)) {
          targets.push_back(b.queue);
        }
      }
    }
    if (targets.empty()) stats_.unroutable++;
    for (const std::string& queue : targets) {
      queues_[queue].messages.push_back(message);
      Dispatch(queue);
    }
    lock.unlock();
    done(Ok{});
  }

  Result<std::unique_ptr<Subscription>> Consume(std::string queue, uint32_t prefetch,
                                                std::function<void(Delivery)> deliver) override {
    std::lock_guard lock(mu_);
    auto it = queues_.find(queue);
    if (it == queues_.end()) return MakeError(ErrorCode::kNotFound, "no queue " + queue);
    auto sub = std::make_unique<FakeSubscription>(this, queue, prefetch, std::move(deliver));
    it->second.consumer = sub.get();
    Dispatch(queue);
    return std::unique_ptr<Subscription>(std::move(sub));
  }

  void Close() override {
    std::lock_guard lock(mu_);
    for (auto& [name, queue] : queues_) {
      if (queue.consumer != nullptr) StopLocked(*queue.consumer);
    }
  }

  BrokerStats stats() const override {
    std::lock_guard lock(mu_);
    return stats_;
  }

  // Every message accepted, in order (republished copies included).
  std::vector<OutgoingMessage> published() const {
    std::lock_guard lock(mu_);
    return published_;
  }

 private:
  struct FakeSubscription final : public Subscription {
    FakeSubscription(FakeBroker* b, std::string q, uint32_t p, std::function<void(Delivery)> d)
        : broker(b), queue(std::move(q)), prefetch(p), deliver(std::move(d)) {}
    ~FakeSubscription() override { Stop(); }
    void Ack(uint64_t tag) override {
      std::lock_guard lock(broker->mu_);
      if (unacked.erase(tag) == 0) return;
      broker->stats_.acked++;
      broker->Dispatch(queue);
    }
    void Stop() override {
      std::lock_guard lock(broker->mu_);
      broker->StopLocked(*this);
    }
    FakeBroker* broker;
    std::string queue;
    uint32_t prefetch;
    std::function<void(Delivery)> deliver;
    std::map<uint64_t, OutgoingMessage> unacked;
    uint64_t next_tag = 0;
    bool stopped = false;
  };

  struct Queue {
    std::deque<OutgoingMessage> messages;
    FakeSubscription* consumer = nullptr;
  };

  void StopLocked(FakeSubscription& sub) {
    if (sub.stopped) return;
    sub.stopped = true;
    Queue& queue = queues_[sub.queue];
    for (auto it = sub.unacked.rbegin(); it != sub.unacked.rend(); ++it) {
      queue.messages.push_front(it->second);
    }
    sub.unacked.clear();
    if (queue.consumer == &sub) queue.consumer = nullptr;
  }

  void Dispatch(const std::string& name) {
    Queue& queue = queues_[name];
    FakeSubscription* sub = queue.consumer;
    if (sub == nullptr || sub->stopped) return;
    while (!queue.messages.empty() && sub->unacked.size() < sub->prefetch) {
      OutgoingMessage message = std::move(queue.messages.front());
      queue.messages.pop_front();
      Delivery delivery{
          name,  message.exchange, message.routing_key, message.message_id, ++sub->next_tag,
          false, message.headers,  message.body};
      sub->unacked.emplace(delivery.delivery_tag, std::move(message));
      stats_.delivered++;
      sub->deliver(std::move(delivery));
    }
  }

  mutable std::mutex mu_;
  BrokerTopology topology_;
  std::map<std::string, Queue> queues_;
  std::vector<OutgoingMessage> published_;
  BrokerStats stats_;
};

}  // namespace tracerig::test_support
