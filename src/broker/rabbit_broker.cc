// The RabbitMQ broker over rabbitmq-c, which is blocking and not thread-safe per connection: one
// connection and thread publish (rabbit_publisher.h), one connection and thread per subscription
// (rabbit_subscription.h), and a short-lived connection for each Declare. Their threads sleep in
// poll() on their socket and an eventfd that Publish, Ack and Stop signal.
#include "broker/rabbit_broker.h"

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "broker/amqp_connection.h"
#include "broker/amqp_table.h"
#include "broker/amqp_url.h"
#include "broker/rabbit_publisher.h"
#include "broker/rabbit_shared.h"
#include "broker/rabbit_subscription.h"

namespace tracerig {
namespace {

constexpr amqp_channel_t kChannel = AmqpConnection::kChannel;

class RabbitBroker final : public Broker {
 public:
  RabbitBroker(AmqpUrl url, std::unique_ptr<RabbitPublisher> publisher,
               std::shared_ptr<RabbitStats> stats)
      : url_(std::move(url)),
        described_("RabbitMQ at " + DescribeAmqpUrl(url_)),
        stats_(std::move(stats)),
        publisher_(std::move(publisher)) {}
  ~RabbitBroker() override { Close(); }

  std::string Describe() const override { return described_; }

  Status Declare(const BrokerTopology& topology) override {
    auto opened = AmqpConnection::Open(url_);
    if (!opened.ok()) return opened.error();
    AmqpConnection& c = **opened;
    amqp_connection_state_t state = c.state();
    for (const std::string& exchange : topology.exchanges) {
      amqp_exchange_declare(state, kChannel, AmqpBytes(exchange), amqp_cstring_bytes("topic"),
                            /*passive=*/0, /*durable=*/0, /*auto_delete=*/0, /*internal=*/0,
                            amqp_empty_table);
      auto s = c.CheckRpc("declaring topic exchange \"" + exchange + "\"");
      if (!s.ok()) return s;
    }
    for (const QueueDeclaration& q : topology.queues) {
      amqp_queue_declare(state, kChannel, AmqpBytes(q.name), /*passive=*/0, /*durable=*/0,
                         /*exclusive=*/0, /*auto_delete=*/0, amqp_empty_table);
      auto s = c.CheckRpc("declaring queue \"" + q.name + "\"");
      if (!s.ok()) return s;
      amqp_queue_purge(state, kChannel, AmqpBytes(q.name));
      s = c.CheckRpc("purging queue \"" + q.name + "\"");
      if (!s.ok()) return s;
    }
    for (const BindingDeclaration& b : topology.bindings) {
      amqp_queue_bind(state, kChannel, AmqpBytes(b.queue), AmqpBytes(b.exchange),
                      AmqpBytes(b.binding_key), amqp_empty_table);
      auto s = c.CheckRpc("binding queue \"" + b.queue + "\" to exchange \"" + b.exchange +
                          "\" with key \"" + b.binding_key + "\"");
      if (!s.ok()) return s;
    }
    return Ok{};
  }

  void Publish(OutgoingMessage message, std::function<void(Status)> done) override {
    publisher_->Enqueue(std::move(message), std::move(done));
  }

  Result<std::unique_ptr<Subscription>> Consume(std::string queue, uint32_t prefetch,
                                                std::function<void(Delivery)> deliver) override {
    if (IsClosed()) return Closed();
    std::weak_ptr<Subscription> stopper;
    auto sub = StartRabbitSubscription(url_, std::move(queue), prefetch, std::move(deliver), stats_,
                                       stopper);
    if (!sub.ok()) return sub;
    std::lock_guard lock(mu_);
    if (closed_) return Closed();  // closed meanwhile: `sub` stops as it goes out of scope
    std::erase_if(subscriptions_, [](const std::weak_ptr<Subscription>& w) { return w.expired(); });
    subscriptions_.push_back(std::move(stopper));
    return sub;
  }

  void Close() override {
    std::vector<std::weak_ptr<Subscription>> subs;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      subs.swap(subscriptions_);
    }
    for (auto& weak : subs) {
      if (auto s = weak.lock()) s->Stop();
    }
    publisher_->Close();
  }

  BrokerStats stats() const override {
    BrokerStats out;
    out.published = stats_->published.load();
    out.unroutable = stats_->unroutable.load();
    out.delivered = stats_->delivered.load();
    out.acked = stats_->acked.load();
    out.publish_failures = stats_->publish_failures.load();
    return out;
  }

 private:
  bool IsClosed() {
    std::lock_guard lock(mu_);
    return closed_;
  }
  Error Closed() const {
    return MakeError(ErrorCode::kUnavailable, described_ + ": the broker is closed");
  }

  AmqpUrl url_;
  std::string described_;
  std::shared_ptr<RabbitStats> stats_;
  std::unique_ptr<RabbitPublisher> publisher_;
  std::mutex mu_;
  bool closed_ = false;
  std::vector<std::weak_ptr<Subscription>> subscriptions_;
};

}  // namespace

Result<std::unique_ptr<Broker>> MakeRabbitBroker(std::string_view url) {
  auto parsed = ParseAmqpUrl(url);
  if (!parsed.ok()) return parsed.error();
  auto connection = AmqpConnection::Open(*parsed);
  if (!connection.ok()) return connection.error();
  auto stats = std::make_shared<RabbitStats>();
  auto publisher = StartRabbitPublisher(std::move(connection).value(), stats);
  if (!publisher.ok()) return publisher.error();
  return std::unique_ptr<Broker>(
      new RabbitBroker(std::move(parsed).value(), std::move(publisher).value(), std::move(stats)));
}

}  // namespace tracerig
