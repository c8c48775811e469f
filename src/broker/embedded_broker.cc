// The embedded broker: topic exchanges, FIFO queues and prefetch-bounded consumers in process.
// One mutex guards the whole broker (publishes and acks are short); each subscription has its own
// thread that takes ready messages in batches under the lock and runs `deliver` outside it.
// A publish moves the message into its queue (copies only for a second and further queue); a
// delivery copies it once, since the consumer owns its Delivery while the broker keeps the
// original until the ack, for Stop to put back.
#include "broker/embedded_broker.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/thread_subscription.h"
#include "broker/topic.h"

namespace tracerig {
namespace {

// Lookups by string_view without building a std::string (routing keys arrive as strings, but the
// route cache is probed on every publish).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct SubscriptionState;

struct Queue {
  std::string name;
  std::deque<Delivery> ready;  // FIFO; redeliveries go back to the front
  // Consumers waiting for a message. A publish wakes one of them (none when all are busy: no
  // syscall per message while consumers keep up); consumers at their prefetch bound are not here.
  std::vector<SubscriptionState*> idle;

  void WakeOneIdle();
  void WakeAllIdle();
};

struct Exchange {
  std::vector<std::pair<std::string, Queue*>> bindings;  // (binding key, queue), distinct
  // Routing key -> the queues it reaches, computed once per key (TopicMatches splits words into
  // vectors; a run publishes a handful of keys millions of times). Cleared when bindings change.
  StringMap<std::vector<Queue*>> routes;
};

// Everything the broker and its subscriptions share; subscriptions keep it alive past the broker.
struct Core {
  std::mutex mu;
  bool closed = false;
  StringMap<Exchange> exchanges;
  // unique_ptr: Queue* stays valid as the map grows (bindings and subscriptions point at them).
  StringMap<std::unique_ptr<Queue>> queues;
  std::vector<std::shared_ptr<SubscriptionState>> subscriptions;  // live ones, for Close
  BrokerStats stats;
};

// A delivered message kept until acked, so that Stop can put it back.
struct Unacked {
  Delivery message;
  bool live = false;
};

struct SubscriptionState : std::enable_shared_from_this<SubscriptionState> {
  std::shared_ptr<Core> core;
  Queue* queue = nullptr;
  uint32_t prefetch = 0;  // 0 = unbounded (AMQP's basic.qos 0)
  std::function<void(Delivery)> deliver;

  // Guarded by core->mu.
  bool stopped = false;
  uint64_t next_tag = 1;
  uint64_t first_tag = 1;  // tag of unacked.front()
  // Indexed by tag - first_tag; acked slots stay (emptied) until every older one is acked, so an
  // ack is O(1) with no per-delivery node allocation.
  std::deque<Unacked> unacked;
  uint32_t outstanding = 0;  // live entries of `unacked`

  std::condition_variable wake;
  bool idle = false;              // listed in queue->idle
  bool waiting_capacity = false;  // blocked until an ack frees a prefetch slot

  std::atomic<bool> stop_requested{false};  // read by the delivery thread between callbacks
  std::thread thread;
  std::once_flag join_once;

  bool HasCapacity() const { return prefetch == 0 || outstanding < prefetch; }

  void Run() {
    std::vector<Delivery> batch;
    std::unique_lock lock(core->mu);
    while (true) {
      if (!WaitForWork(lock)) return;
      // Take as many as the prefetch window allows (bounded, so one consumer cannot starve its
      // neighbours on the same queue), then deliver them without the lock.
      constexpr size_t kMaxBatch = 64;
      while (!queue->ready.empty() && HasCapacity() && batch.size() < kMaxBatch) {
        Delivery& head = queue->ready.front();
        head.delivery_tag = next_tag++;
        batch.push_back(head);  // the consumer's copy; the original stays for Stop to requeue
        batch.back().queue = queue->name;
        unacked.push_back(Unacked{std::move(head), true});
        queue->ready.pop_front();
        ++outstanding;
        ++core->stats.delivered;
      }
      lock.unlock();
      for (Delivery& d : batch) {
        if (stop_requested.load(std::memory_order_acquire)) break;
        deliver(std::move(d));
      }
      batch.clear();
      lock.lock();
    }
  }

  // Blocks until a message is ready and the prefetch window has room (true) or the subscription
  // stopped (false).
  bool WaitForWork(std::unique_lock<std::mutex>& lock) {
    while (!stopped) {
      if (!HasCapacity()) {
        waiting_capacity = true;
        wake.wait(lock);
        waiting_capacity = false;
      } else if (queue->ready.empty()) {
        idle = true;
        queue->idle.push_back(this);
        wake.wait(lock);
        if (idle) {  // woken by Stop or spuriously: still listed
          std::erase(queue->idle, this);
          idle = false;
        }
      } else {
        return true;
      }
    }
    return false;
  }

  void Ack(uint64_t tag) {
    std::lock_guard lock(core->mu);
    if (tag < first_tag || tag - first_tag >= unacked.size()) return;
    Unacked& slot = unacked[tag - first_tag];
    if (!slot.live) return;
    slot.live = false;
    slot.message = Delivery{};  // release the strings now, not when older tags are acked
    --outstanding;
    ++core->stats.acked;
    while (!unacked.empty() && !unacked.front().live) {
      unacked.pop_front();
      ++first_tag;
    }
    if (waiting_capacity) wake.notify_one();
  }

  // Marks the subscription stopped and puts unacked deliveries back at the head of the queue in
  // their original order, redelivered. Caller holds core->mu.
  void RequeueLocked() {
    for (auto it = unacked.rbegin(); it != unacked.rend(); ++it) {
      if (!it->live) continue;
      it->message.delivery_tag = 0;
      it->message.redelivered = true;
      queue->ready.push_front(std::move(it->message));
    }
    unacked.clear();
    outstanding = 0;
    queue->WakeAllIdle();
  }

  void Stop() {
    stop_requested.store(true, std::memory_order_release);
    {
      std::lock_guard lock(core->mu);
      if (!stopped) {
        stopped = true;
        wake.notify_one();
      }
    }
    // From inside `deliver` (this subscription's own thread) the thread cannot be joined; the
    // remaining callbacks of its batch are skipped by stop_requested and it exits on return.
    if (std::this_thread::get_id() != thread.get_id()) {
      std::call_once(join_once, [this] {
        if (thread.joinable()) thread.join();
      });
    }
    std::lock_guard lock(core->mu);
    RequeueLocked();
    auto& subs = core->subscriptions;
    for (size_t i = 0; i < subs.size(); ++i) {
      if (subs[i].get() == this) {
        subs[i] = std::move(subs.back());
        subs.pop_back();
        break;
      }
    }
  }
};

void Queue::WakeOneIdle() {
  if (idle.empty()) return;
  SubscriptionState* s = idle.back();
  idle.pop_back();
  s->idle = false;
  s->wake.notify_one();
}

void Queue::WakeAllIdle() {
  while (!idle.empty() && !ready.empty()) WakeOneIdle();
}


class EmbeddedBroker final : public Broker {
 public:
  EmbeddedBroker() : core_(std::make_shared<Core>()) {}
  ~EmbeddedBroker() override { Close(); }

  std::string Describe() const override { return "embedded broker"; }

  Status Declare(const BrokerTopology& topology) override {
    std::lock_guard lock(core_->mu);
    if (core_->closed) return Closed();
    for (const std::string& name : topology.exchanges) {
      if (name.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "embedded broker: the default exchange \"\" cannot be declared");
      }
      core_->exchanges.try_emplace(name);
    }
    for (const QueueDeclaration& q : topology.queues) {
      auto [it, added] = core_->queues.try_emplace(q.name);
      if (added) {
        it->second = std::make_unique<Queue>();
        it->second->name = q.name;
      } else {
        it->second->ready.clear();  // a run starts from nothing
      }
    }
    for (const BindingDeclaration& b : topology.bindings) {
      auto ex = core_->exchanges.find(b.exchange);
      if (ex == core_->exchanges.end()) {
        return MakeError(ErrorCode::kNotFound, "embedded broker: binding of queue \"" + b.queue +
                                                   "\" names undeclared exchange \"" + b.exchange +
                                                   "\"");
      }
      auto q = core_->queues.find(b.queue);
      if (q == core_->queues.end()) {
        return MakeError(ErrorCode::kNotFound, "embedded broker: binding to exchange \"" +
                                                   b.exchange + "\" names undeclared queue \"" +
                                                   b.queue + "\"");
      }
      auto& bindings = ex->second.bindings;
      bool present = false;
      for (const auto& [key, queue] : bindings) {
        present = present || (key == b.binding_key && queue == q->second.get());
      }
      if (!present) bindings.emplace_back(b.binding_key, q->second.get());
      ex->second.routes.clear();
    }
    return Ok{};
  }

  void Publish(OutgoingMessage message, std::function<void(Status)> done) override {
    Status status = PublishLocked(message);
    if (done) done(std::move(status));
  }

  Result<std::unique_ptr<Subscription>> Consume(std::string queue, uint32_t prefetch,
                                                std::function<void(Delivery)> deliver) override {
    auto state = std::make_shared<SubscriptionState>();
    {
      std::lock_guard lock(core_->mu);
      if (core_->closed) return Closed();
      auto q = core_->queues.find(queue);
      if (q == core_->queues.end()) {
        return MakeError(ErrorCode::kNotFound,
                         "embedded broker: cannot consume undeclared queue \"" + queue + "\"");
      }
      state->core = core_;
      state->queue = q->second.get();
      state->prefetch = prefetch;
      state->deliver = std::move(deliver);
      core_->subscriptions.push_back(state);
      // Started under the lock so that a concurrent Close sees a joinable thread.
      // The thread holds the state too: a subscription destroyed from inside its own `deliver`
      // detaches it, and the state must outlive that callback's return.
      state->thread = std::thread([self = state] { self->Run(); });
    }
    return std::unique_ptr<Subscription>(
        new ThreadSubscription<SubscriptionState>(std::move(state)));
  }

  void Close() override {
    std::vector<std::shared_ptr<SubscriptionState>> subs;
    {
      std::lock_guard lock(core_->mu);
      core_->closed = true;
      subs = core_->subscriptions;
    }
    for (const auto& s : subs) s->Stop();
  }

  BrokerStats stats() const override {
    std::lock_guard lock(core_->mu);
    return core_->stats;
  }

 private:
  static Error Closed() { return MakeError(ErrorCode::kUnavailable, "embedded broker: closed"); }

  Status PublishLocked(OutgoingMessage& message) {
    std::lock_guard lock(core_->mu);
    if (core_->closed) {
      ++core_->stats.publish_failures;
      return Closed();
    }
    Queue* single = nullptr;
    const std::vector<Queue*>* many = nullptr;
    if (message.exchange.empty()) {
      auto q = core_->queues.find(message.routing_key);
      if (q != core_->queues.end()) single = q->second.get();
    } else {
      auto ex = core_->exchanges.find(message.exchange);
      if (ex == core_->exchanges.end()) {
        ++core_->stats.publish_failures;
        // RabbitMQ closes the channel with 404 NOT_FOUND for this.
        return MakeError(ErrorCode::kNotFound,
                         "embedded broker: no exchange \"" + message.exchange + "\"");
      }
      many = &Route(ex->second, message.routing_key);
      if (many->size() == 1) single = many->front();
    }
    ++core_->stats.published;
    if (single == nullptr && (many == nullptr || many->empty())) {
      ++core_->stats.unroutable;
      return Ok{};
    }
    if (single != nullptr) {
      Enqueue(*single, message, /*last=*/true);
    } else {
      for (size_t i = 0; i < many->size(); ++i) {
        Enqueue(*(*many)[i], message, i + 1 == many->size());
      }
    }
    return Ok{};
  }

  // The queues `routing_key` reaches through `exchange`, cached per key.
  static const std::vector<Queue*>& Route(Exchange& exchange, const std::string& routing_key) {
    auto cached = exchange.routes.find(routing_key);
    if (cached != exchange.routes.end()) return cached->second;
    std::vector<Queue*> queues;
    for (const auto& [key, queue] : exchange.bindings) {
      if (!TopicMatches(key, routing_key)) continue;
      bool seen = false;
      for (Queue* q : queues) seen = seen || q == queue;
      if (!seen) queues.push_back(queue);  // two bindings to one queue deliver once
    }
    return exchange.routes.emplace(routing_key, std::move(queues)).first->second;
  }

  // Appends a copy (or, for the last queue, the message itself) to `queue`.
  static void Enqueue(Queue& queue, OutgoingMessage& message, bool last) {
    Delivery d;  // `queue` is filled in on the consumer's copy only
    if (last) {
      d.exchange = std::move(message.exchange);
      d.routing_key = std::move(message.routing_key);
      d.message_id = std::move(message.message_id);
      d.headers = std::move(message.headers);
      d.body = std::move(message.body);
    } else {
      d.exchange = message.exchange;
      d.routing_key = message.routing_key;
      d.message_id = message.message_id;
      d.headers = message.headers;
      d.body = message.body;
    }
    queue.ready.push_back(std::move(d));
    queue.WakeOneIdle();
  }

  std::shared_ptr<Core> core_;
};

}  // namespace

std::unique_ptr<Broker> MakeEmbeddedBroker() { return std::make_unique<EmbeddedBroker>(); }

}  // namespace tracerig
